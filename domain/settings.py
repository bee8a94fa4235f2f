"""Every setting GridSteward reads, in one pydantic-settings class that every process uses:
the API, the worker processes (each reads it from the environment it inherits), their
periodic jobs and the command line.

Settings come from the environment (or a `.env` file in the working directory). A default
that belongs to a rule is stated once, beside the rule (the due hours in
domain.requests.policy, the survey times in domain.surveys.batch, ...); the fields here take
it from there. Domain functions never read settings themselves: callers pass them the values.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from ipaddress import ip_network
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.infra import rate_limit as rl
from domain.infra.replica import DEFAULT_STICKY_SECONDS
from domain.media.access import DEFAULT_LINK_TTL_SECONDS
from domain.media.images import MAX_PHOTO_BYTES, MAX_PHOTOS
from domain.media.s3_store import S3Location
from domain.people.audit_log import DEFAULT_RETENTION_DAYS
from domain.people.sessions import DEFAULT_REFRESH_TTL
from domain.requests.dispatch import ACCEPT_TIMEOUT
from domain.requests.policy import DEFAULT_DUE_LIMITS, due_limits
from domain.requests.sweep import STALE_AFTER
from domain.spatial.coverage import ADDRESS_MATCH_THRESHOLD, NEAREST_BUILDING_METRES
from domain.surveys.batch import DEFAULT_SURVEY_TIMES, SurveyTimes
from domain.workdays import Limit

#: Secrets that must never sign production tokens.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})

#: Shortest WEBHOOK_SECRET accepted outside development.
MIN_WEBHOOK_SECRET = 16


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


class Settings(BaseSettings):
    """GridSteward configuration. Names match the contract's environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Literal["dev", "test", "production"] = Field(
        default="production", alias="GRIDSTEWARD_ENV"
    )
    database_url: str = Field(default="", alias="DATABASE_URL")
    #: A streaming replica of DATABASE_URL for reads that tolerate a little lag; empty: none.
    database_replica_url: str = Field(default="", alias="DATABASE_REPLICA_URL")
    replica_sticky_seconds: float = Field(default=DEFAULT_STICKY_SECONDS,
                                          alias="REPLICA_STICKY_SECONDS", ge=0)
    broker_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", alias="BROKER_URL")
    secret_key: str = Field(default="", alias="SECRET_KEY")
    token_ttl_seconds: int = Field(default=12 * 3600, alias="TOKEN_TTL_SECONDS", gt=0)
    access_token_ttl_seconds: int = Field(default=900, alias="ACCESS_TOKEN_TTL_SECONDS", gt=0)
    refresh_token_ttl_seconds: int = Field(default=_seconds(DEFAULT_REFRESH_TTL),
                                           alias="REFRESH_TOKEN_TTL_SECONDS", gt=0)

    survey_delay_seconds: int = Field(default=_seconds(DEFAULT_SURVEY_TIMES.delay),
                                      alias="SURVEY_DELAY_SECONDS", ge=0)
    survey_reminder_seconds: int = Field(default=_seconds(DEFAULT_SURVEY_TIMES.reminder),
                                         alias="SURVEY_REMINDER_SECONDS", ge=0)
    survey_expiry_seconds: int = Field(default=_seconds(DEFAULT_SURVEY_TIMES.expiry),
                                       alias="SURVEY_EXPIRY_SECONDS", ge=0)
    survey_batch_interval_seconds: float = Field(
        default=60.0, alias="SURVEY_BATCH_INTERVAL_SECONDS", gt=0)
    survey_link: str = Field(default="", alias="SURVEY_LINK")
    tracking_link: str = Field(default="", alias="TRACKING_LINK")
    screen_raster_url: str = Field(default="", alias="SCREEN_RASTER_URL")
    screen_raster_attribution: str = Field(default="", alias="SCREEN_RASTER_ATTRIBUTION")
    screen_raster_crs: Literal["GCJ02", "WGS84"] = Field(default="GCJ02",
                                                        alias="SCREEN_RASTER_CRS")
    assessment_interval_seconds: float = Field(
        default=3600.0, alias="ASSESSMENT_INTERVAL_SECONDS", gt=0)
    table_statistics_interval_seconds: float = Field(
        default=5.0, alias="TABLE_STATISTICS_INTERVAL_SECONDS", gt=0)
    accept_timeout_seconds: int = Field(default=_seconds(ACCEPT_TIMEOUT),
                                        alias="ACCEPT_TIMEOUT_SECONDS", gt=0)
    due_limits: dict[str, Limit] = Field(default_factory=dict, alias="DUE_LIMITS")
    due_hours: dict[str, int] = Field(default_factory=dict, alias="DUE_HOURS")

    nearest_building_metres: float = Field(default=NEAREST_BUILDING_METRES,
                                           alias="NEAREST_BUILDING_METRES", ge=0)
    address_match_threshold: float = Field(default=ADDRESS_MATCH_THRESHOLD,
                                           alias="ADDRESS_MATCH_THRESHOLD", ge=0, le=1)

    max_query_depth: int = Field(default=10, alias="MAX_QUERY_DEPTH", gt=0)
    max_aliases: int = Field(default=30, alias="MAX_ALIASES", gt=0)
    max_tokens: int = Field(default=2000, alias="MAX_TOKENS", gt=0)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, alias="MAX_BODY_BYTES", gt=0)
    #: The largest multipart/form-data body (a request with photos): room for MAX_PHOTOS
    #: photos of MAX_PHOTO_BYTES, twice (a submission and a completion), and the operation.
    max_upload_body_bytes: int = Field(default=2 * MAX_PHOTOS * MAX_PHOTO_BYTES + 1024 * 1024,
                                       alias="MAX_UPLOAD_BODY_BYTES", gt=0)
    parser_cache_size: int = Field(default=512, alias="PARSER_CACHE_SIZE", gt=0)
    db_pool_size: int = Field(default=10, alias="DB_POOL_SIZE", gt=0)
    #: Whether callers without a token may introspect the schema; unset: on in dev and test,
    #: off in production (see `_introspection_by_environment`).
    allow_anonymous_introspection: bool | None = Field(
        default=None, alias="ALLOW_ANONYMOUS_INTROSPECTION")

    outbound_channel: Literal["log", "webhook"] = Field(default="log", alias="OUTBOUND_CHANNEL")
    webhook_url: str = Field(default="", alias="WEBHOOK_URL")
    webhook_secret: str = Field(default="", alias="WEBHOOK_SECRET")
    sweep_interval_seconds: float = Field(default=5.0, alias="SWEEP_INTERVAL_SECONDS", gt=0)
    dispatch_stale_seconds: float = Field(default=STALE_AFTER.total_seconds(),
                                          alias="DISPATCH_STALE_SECONDS", ge=0)
    audit_retention_days: int = Field(default=DEFAULT_RETENTION_DAYS,
                                      alias="AUDIT_RETENTION_DAYS", gt=0)

    media_store: Literal["postgres", "s3"] = Field(default="postgres", alias="MEDIA_STORE")
    media_s3_bucket: str = Field(default="", alias="MEDIA_S3_BUCKET")
    media_s3_prefix: str = Field(default="", alias="MEDIA_S3_PREFIX")
    media_s3_endpoint_url: str = Field(default="", alias="MEDIA_S3_ENDPOINT_URL")
    media_s3_region: str = Field(default="", alias="MEDIA_S3_REGION")
    media_s3_access_key_id: str = Field(default="", alias="MEDIA_S3_ACCESS_KEY_ID")
    media_s3_secret_access_key: str = Field(default="", alias="MEDIA_S3_SECRET_ACCESS_KEY")
    media_s3_path_style: bool = Field(default=False, alias="MEDIA_S3_PATH_STYLE")
    media_link_ttl_seconds: int = Field(default=DEFAULT_LINK_TTL_SECONDS,
                                        alias="MEDIA_LINK_TTL_SECONDS", gt=0)

    rate_limit_store: str = Field(default=rl.DEFAULT_STORE, alias="RATE_LIMIT_STORE")
    rate_limit_prefix: str = Field(default=rl.DEFAULT_PREFIX, alias="RATE_LIMIT_PREFIX")
    rate_limit_submit_per_address: str = Field(default=rl.DEFAULT_SUBMIT_PER_ADDRESS,
                                               alias="RATE_LIMIT_SUBMIT_PER_ADDRESS")
    rate_limit_submit_per_phone: str = Field(default=rl.DEFAULT_SUBMIT_PER_PHONE,
                                             alias="RATE_LIMIT_SUBMIT_PER_PHONE")
    rate_limit_sign_in_per_address: str = Field(default=rl.DEFAULT_SIGN_IN_PER_ADDRESS,
                                                alias="RATE_LIMIT_SIGN_IN_PER_ADDRESS")
    rate_limit_sign_in_per_login: str = Field(default=rl.DEFAULT_SIGN_IN_PER_LOGIN,
                                              alias="RATE_LIMIT_SIGN_IN_PER_LOGIN")
    rate_limit_code_per_phone: str = Field(default=rl.DEFAULT_CODE_PER_PHONE,
                                           alias="RATE_LIMIT_CODE_PER_PHONE")
    rate_limit_track_per_address: str = Field(default=rl.DEFAULT_TRACK_PER_ADDRESS,
                                              alias="RATE_LIMIT_TRACK_PER_ADDRESS")
    rate_limit_track_per_number: str = Field(default=rl.DEFAULT_TRACK_PER_NUMBER,
                                             alias="RATE_LIMIT_TRACK_PER_NUMBER")
    #: Proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                            alias="TRUSTED_PROXIES")

    @field_validator("rate_limit_store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        """"postgres", "off" or a Redis URL."""
        if value not in ("postgres", "off") and not value.startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError("RATE_LIMIT_STORE must be postgres, off or a redis:// URL")
        return value

    @field_validator("rate_limit_submit_per_address", "rate_limit_submit_per_phone",
                     "rate_limit_sign_in_per_address", "rate_limit_sign_in_per_login",
                     "rate_limit_code_per_phone", "rate_limit_track_per_address",
                     "rate_limit_track_per_number")
    @classmethod
    def _rate(cls, value: str) -> str:
        """A rate such as 10/1m, 5/1h, 3/15m, or off."""
        rl.parse_rate(value)
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        """Comma-separated addresses or CIDRs (10.0.0.0/8, ::1), each checked."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for part in value:
                ip_network(str(part), strict=False)
        return value

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _postgres_only(cls, value: str, info: ValidationInfo) -> str:
        """Accept PostgreSQL URLs only and pin the psycopg (v3) driver."""
        if not value:
            return value
        scheme, sep, rest = value.partition("://")
        if not sep or not scheme.startswith(("postgresql", "postgres")):
            name = cls.model_fields[str(info.field_name)].alias
            raise ValueError(f"{name} must be a postgresql:// URL")
        return f"postgresql+psycopg://{rest}"

    @field_validator("survey_link")
    @classmethod
    def _web_link(cls, value: str) -> str:
        """The survey token is appended to this link in a text message, so it must be a web
        address a phone can open (or empty: the message then carries the bare token)."""
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("SURVEY_LINK must be an http(s) URL the token is appended to, "
                             "e.g. https://example.org/survey?token=")
        return value

    @field_validator("tracking_link")
    @classmethod
    def _tracking_link(cls, value: str) -> str:
        """The resident's page: `?n=<number>&c=<code>` is appended in their messages (and
        `&stop=1` for the link that stops notices), so it must be a web address (or empty:
        the messages then carry the number and code in words)."""
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("TRACKING_LINK must be an http(s) URL, e.g. "
                             "https://example.org/track")
        return value

    @field_validator("screen_raster_url")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        """The map screen's optional raster base map: an XYZ tile URL template."""
        if value and not (value.startswith(("http://", "https://", "/"))
                          and all(part in value for part in ("{z}", "{x}", "{y}"))):
            raise ValueError("SCREEN_RASTER_URL must be an http(s) tile URL with {z}, {x} "
                             "and {y}, e.g. https://tiles.example.org/{z}/{x}/{y}.png")
        return value

    @field_validator("due_hours")
    @classmethod
    def _known_categories(cls, value: dict[str, int]) -> dict[str, int]:
        """Overrides may name only known categories; unnamed ones keep their limit."""
        unknown = set(value) - set(DEFAULT_DUE_LIMITS)
        if unknown:
            raise ValueError(f"DUE_HOURS names unknown categories: {sorted(unknown)}")
        if any(hours <= 0 for hours in value.values()):
            raise ValueError("DUE_HOURS must be positive numbers of hours")
        return value

    @field_validator("due_limits", mode="before")
    @classmethod
    def _limits(cls, value: object) -> object:
        """DUE_LIMITS: {"MAINTENANCE": "3 working days", "ASSISTANCE": "8 working hours",
        "EMERGENCY": "4 hours"}; unnamed categories keep their default."""
        if not isinstance(value, dict):
            return value
        unknown = set(value) - set(DEFAULT_DUE_LIMITS)
        if unknown:
            raise ValueError(f"DUE_LIMITS names unknown categories: {sorted(unknown)}")
        return {c: v if isinstance(v, Limit) else Limit.parse(str(v)) for c, v in value.items()}

    @property
    def limits(self) -> dict[str, Limit]:
        """Every category's time limit: the defaults, DUE_LIMITS, then DUE_HOURS."""
        return due_limits(self.due_limits, self.due_hours)

    @field_validator("media_s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        """An S3-compatible service's address (empty: AWS, by region)."""
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("MEDIA_S3_ENDPOINT_URL must be an http(s) URL, e.g. "
                             "https://oss-cn-hangzhou.aliyuncs.com or http://127.0.0.1:9000")
        return value

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> Settings:
        """MEDIA_STORE=s3 names its bucket."""
        if self.media_store == "s3" and not self.media_s3_bucket:
            raise ValueError("MEDIA_STORE is s3: set MEDIA_S3_BUCKET (and, for anything but "
                             "AWS, MEDIA_S3_ENDPOINT_URL)")
        return self

    @model_validator(mode="after")
    def _introspection_by_environment(self) -> Settings:
        """Anonymous introspection helps while developing (GraphiQL, code generators) and
        tells strangers the whole shape of the API in production: on unless production."""
        if self.allow_anonymous_introspection is None:
            self.allow_anonymous_introspection = self.environment != "production"
        return self

    @model_validator(mode="after")
    def _real_secret_outside_dev(self) -> Settings:
        """Refuse to sign tokens with a missing or placeholder secret outside development."""
        if self.environment != "production":
            return self
        if self.secret_key.lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
            raise ValueError(
                "SECRET_KEY is missing or a placeholder: set a random value of at least 32 "
                "characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @model_validator(mode="after")
    def _webhook_configured(self) -> Settings:
        """The webhook channel needs somewhere to post and, outside development, a real secret
        to sign with: receivers must be able to tell our messages from forged ones."""
        if self.outbound_channel != "webhook":
            return self
        if not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("OUTBOUND_CHANNEL is webhook: set WEBHOOK_URL to an http(s) URL")
        weak = (self.webhook_secret.lower() in PLACEHOLDER_SECRETS
                or len(self.webhook_secret) < MIN_WEBHOOK_SECRET)
        if self.environment != "dev" and weak:
            raise ValueError(
                "OUTBOUND_CHANNEL is webhook: set WEBHOOK_SECRET to a random value of at least "
                f"{MIN_WEBHOOK_SECRET} characters (receivers verify X-GridSteward-Signature)")
        return self

    @property
    def accept_timeout(self) -> timedelta:
        """How long a member has to accept a request offered to them."""
        return timedelta(seconds=self.accept_timeout_seconds)

    @property
    def refresh_ttl(self) -> timedelta:
        """How long a refresh token is good for (REFRESH_TOKEN_TTL_SECONDS)."""
        return timedelta(seconds=self.refresh_token_ttl_seconds)

    def rate(self, field: str) -> rl.Rate | None:
        """The rate of a RATE_LIMIT_* field (by field name); None when it is off."""
        return rl.parse_rate(getattr(self, field))

    @property
    def media_s3(self) -> S3Location:
        """Where MEDIA_STORE=s3 keeps photos."""
        return S3Location(bucket=self.media_s3_bucket, prefix=self.media_s3_prefix,
                          endpoint_url=self.media_s3_endpoint_url or None,
                          region=self.media_s3_region or None,
                          access_key_id=self.media_s3_access_key_id or None,
                          secret_access_key=self.media_s3_secret_access_key or None,
                          path_style=self.media_s3_path_style)

    @property
    def stale_after(self) -> timedelta:
        """How long a SUBMITTED request may wait before the sweep dispatches it again."""
        return timedelta(seconds=self.dispatch_stale_seconds)

    @property
    def survey_times(self) -> SurveyTimes:
        """When surveys are sent, reminded and expired, counted from completion and sending."""
        return SurveyTimes(delay=timedelta(seconds=self.survey_delay_seconds),
                           reminder=timedelta(seconds=self.survey_reminder_seconds),
                           expiry=timedelta(seconds=self.survey_expiry_seconds))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
