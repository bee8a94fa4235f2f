"""Where the token buckets of domain.infra.rate_limit live (RATE_LIMIT_STORE).

- `postgres`: the `rate_limit_bucket` table (UNLOGGED: buckets need no crash safety) and the
  function `rate_limit_take` of migration 0012, one statement per take on the API's pool.
- `redis://…`: a hash per bucket and one Lua script (EVALSHA, loaded once) per take; each
  bucket expires once it would be full again.

Both keep each bucket as (tokens, at): tokens when last taken from, refilled at `rate` per
second since `at`, never above the rate's count. Both take all or none.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Float, String, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel

from domain.infra.rate_limit import Limiter, Rate, Store

#: Seconds a Redis store may take to connect or answer before the limiter fails open.
REDIS_TIMEOUT = 0.25

# KEYS: the buckets; ARGV: now, then count and rate (tokens/s) for each bucket.
_LUA = """
local now = tonumber(ARGV[1])
local levels = {}
local which, wait = 0, 0
for i = 1, #KEYS do
  local count, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local tokens = tonumber(state[1]) or count
  local at = tonumber(state[2]) or now
  local level = math.min(count, tokens + math.max(0, now - at) * rate)
  levels[i] = level
  if level < 1 and (1 - level) / rate > wait then
    which, wait = i, (1 - level) / rate
  end
end
if which > 0 then return {which, string.format('%.17g', wait)} end
for i = 1, #KEYS do
  local count, rate = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 't', string.format('%.17g', levels[i] - 1),
             'at', string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(count / rate * 1000) + 1000)
end
return {0, '0'}
"""



class RateLimitBucket(SQLModel, table=True):
    """One token bucket of the postgres store (UNLOGGED: lost in a crash, which only
    refills the buckets); `expires` is when it would be full again, and deletable."""

    __tablename__ = "rate_limit_bucket"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    tokens: float = Field(sa_column=Column(Float, nullable=False))
    at: float = Field(sa_column=Column(Float, nullable=False))
    expires: float = Field(sa_column=Column(Float, nullable=False))


_TAKE = text("SELECT which, wait FROM rate_limit_take(CAST(:keys AS text[]), "
             "CAST(:counts AS float8[]), CAST(:rates AS float8[]), CAST(:now AS float8))")


class RedisStore:
    """Buckets in Redis at `url`, with short timeouts so that an unreachable Redis costs a
    request little before the limiter fails open."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis
        self.client = Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT,
                                     socket_timeout=REDIS_TIMEOUT)
        self.script = self.client.register_script(_LUA)

    async def take(self, keys: Sequence[str], rates: Sequence[Rate],
                   now: float) -> tuple[int, float]:
        args: list[float] = [now]
        for rate in rates:
            args += [rate.count, rate.per_second]
        which, wait = await self.script(keys=list(keys), args=args)
        return int(which), float(wait)

    async def close(self) -> None:
        await self.client.aclose()


class PostgresStore:
    """Buckets in the `rate_limit_bucket` table, through `engine`'s pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        # One statement is its own transaction: no BEGIN and COMMIT round trips.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def take(self, keys: Sequence[str], rates: Sequence[Rate],
                   now: float) -> tuple[int, float]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_TAKE, {
                "keys": list(keys), "counts": [float(r.count) for r in rates],
                "rates": [r.per_second for r in rates], "now": now})).one()
        return int(row.which), float(row.wait)

    async def close(self) -> None:
        return None  # the engine belongs to the caller


def make_limiter(store: str, engine: AsyncEngine | None, *, prefix: str) -> Limiter | None:
    """The limiter RATE_LIMIT_STORE names: "postgres" (on `engine`), a redis:// URL, or
    None for "off"."""
    if store == "off":
        return None
    chosen: Store
    if store == "postgres":
        if engine is None:
            raise ValueError("RATE_LIMIT_STORE=postgres needs the database engine")
        chosen = PostgresStore(engine)
    else:
        chosen = RedisStore(store)
    return Limiter(chosen, prefix=prefix)
