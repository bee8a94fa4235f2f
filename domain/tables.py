"""Imports every table module so that `SQLModel.metadata` is complete (Alembic, tests)."""

from domain.infra import rate_limit_stores  # noqa: F401
from domain.media import models as media_models  # noqa: F401
from domain.organisation import models as organisation_models  # noqa: F401
from domain.people import models as people_models  # noqa: F401
from domain.requests import models as request_models  # noqa: F401
from domain.requests import rollups as request_rollups  # noqa: F401
from domain.spatial import models  # noqa: F401
from domain.surveys import models as survey_models  # noqa: F401
from domain.surveys import rollups as survey_rollups  # noqa: F401
