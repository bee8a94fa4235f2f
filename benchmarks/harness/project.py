"""Every name the benchmarks take from GridSteward's own code, imported here and only here:
when a project module moves or is renamed, this is the one file to change."""

from __future__ import annotations

from domain.access import CITY_ADMIN, Territories, Viewer
from domain.infra.db import (
    NO_JIT,
    autocommit,
    dispose_engine,
    libpq_url,
    make_async_engine,
    session_factory,
    transaction,
)
from domain.requests.queries import request_stats, requests_by_ids
from domain.requests.submit import NewRequest, Tuning, submit_request
from domain.settings import Settings
from domain.spatial import coverage as coverage_statements
from domain.spatial.directory import BBox, Scope
from domain.spatial.map_layers import map_features
from domain.spatial.models import ServiceCategory
from domain.spatial.tiles import LAYERS as TILE_LAYERS
from domain.spatial.tiles import vector_tile
from domain.surveys.assessment import assess_period
from domain.surveys.batch import BatchCounts, SurveyTimes, run_survey_batch
from geo.address import address_key, house_number_signature, similarity
from geo.sql import degrees_for_metres
from migrations.runner import upgrade_database
from schema.app import build_schema
from schema.common.context import Context
from schema.common.ids import decode_id, encode_cursor, encode_id
from schema.common.loaders import Loaders
from server.auth import issue_token
from server.background import DramatiqBackground
from server.localdb import ensure_local_cluster
from tests.factories import load as load_fixtures

__all__ = [
    "CITY_ADMIN",
    "NO_JIT",
    "TILE_LAYERS",
    "BBox",
    "BatchCounts",
    "Context",
    "DramatiqBackground",
    "Loaders",
    "NewRequest",
    "Scope",
    "ServiceCategory",
    "Settings",
    "SurveyTimes",
    "Territories",
    "Tuning",
    "Viewer",
    "address_key",
    "assess_period",
    "autocommit",
    "build_schema",
    "coverage_statements",
    "decode_id",
    "degrees_for_metres",
    "dispose_engine",
    "encode_cursor",
    "encode_id",
    "ensure_local_cluster",
    "house_number_signature",
    "issue_token",
    "libpq_url",
    "load_fixtures",
    "make_async_engine",
    "map_features",
    "request_stats",
    "requests_by_ids",
    "run_survey_batch",
    "session_factory",
    "settings",
    "similarity",
    "submit_request",
    "transaction",
    "upgrade_database",
    "vector_tile",
]


def settings(**env: str) -> Settings:
    """The settings a GridSteward process would read from this environment plus `env`
    (names as the environment spells them: BROKER_URL, SWEEP_INTERVAL_SECONDS, ...), in
    development as the benchmarks run them."""
    return Settings(**{"GRIDSTEWARD_ENV": "dev", **env})  # type: ignore[arg-type]
