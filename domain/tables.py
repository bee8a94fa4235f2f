"""Imports every table module so that `SQLModel.metadata` is complete (Alembic, tests)."""

from domain import models  # noqa: F401
