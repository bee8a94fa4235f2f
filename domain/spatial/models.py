"""SQLModel tables for the spatial hierarchy: subdistricts, communities, grids, buildings,
building groups and members (街道 / 社区 / 网格 / 楼栋 / 楼栋党小组 / 党员).

Geometry is stored in WGS-84 (SRID 4326) with GiST indexes; codes are unique so that imports
update by code; CHECK constraints keep geometries valid and enums honest.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from geo.address import house_number_signature_sql

SRID = 4326


class MemberRole(StrEnum):
    """What a member does: 网格员, 组长, 红色管家, 志愿者."""

    GRID_WORKER = "GRID_WORKER"
    GROUP_LEADER = "GROUP_LEADER"
    STEWARD = "STEWARD"
    VOLUNTEER = "VOLUNTEER"


class MemberStatus(StrEnum):
    """A member's lifecycle: vetted candidate, active, suspended, exited."""

    CANDIDATE = "CANDIDATE"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    EXITED = "EXITED"


class ServiceCategory(StrEnum):
    """The six service categories of the documents (维修维护, 爱心帮扶, 信息咨询, 文化娱乐,
    应急处理, 矛盾调处)."""

    MAINTENANCE = "MAINTENANCE"
    ASSISTANCE = "ASSISTANCE"
    CONSULTATION = "CONSULTATION"
    CULTURE = "CULTURE"
    EMERGENCY = "EMERGENCY"
    MEDIATION = "MEDIATION"


def _geometry(kind: str, *, nullable: bool) -> Any:
    """A 4326 geometry column; GeoAlchemy2 adds the GiST index (spatial_index=True)."""
    return Column(Geometry(geometry_type=kind, srid=SRID, spatial_index=True), nullable=nullable)


def _valid(column: str, table: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IS NULL OR ST_IsValid({column})",
                           name=f"{table}_{column}_valid")


def _enum_values(enum: type[Enum]) -> str:
    return ", ".join(f"'{item.value}'" for item in enum)


class Subdistrict(SQLModel, table=True):
    """A subdistrict (街道) under one subdistrict office: the level above communities."""

    __tablename__ = "subdistrict"
    __table_args__ = (_valid("boundary", "subdistrict"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    boundary: Any = Field(default=None, sa_column=_geometry("MULTIPOLYGON", nullable=True))


class Community(SQLModel, table=True):
    """A residential community (社区) under one community committee, in a subdistrict when
    one was imported for it."""

    __tablename__ = "community"
    __table_args__ = (_valid("boundary", "community"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    boundary: Any = Field(default=None, sa_column=_geometry("MULTIPOLYGON", nullable=True))
    subdistrict_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("subdistrict.id"), index=True))


class Grid(SQLModel, table=True):
    """A slice of a community (网格); grids of one community never overlap."""

    __tablename__ = "grid"
    __table_args__ = (_valid("boundary", "grid"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    community_id: int = Field(
        sa_column=Column(Integer, ForeignKey("community.id"), nullable=False, index=True)
    )
    boundary: Any = Field(sa_column=_geometry("MULTIPOLYGON", nullable=False))


class BuildingGroup(SQLModel, table=True):
    """A building group (楼栋党小组, 红色管家) serving one or a few adjacent buildings."""

    __tablename__ = "building_group"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    grid_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("grid.id"), index=True)
    )
    leader_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("member.id", use_alter=True, name="building_group_leader_fk",
                       ondelete="SET NULL"),
        ),
    )


class Building(SQLModel, table=True):
    """A building (楼栋) with its street address, a point and, where known, a footprint."""

    __tablename__ = "building"
    __table_args__ = (
        _valid("footprint", "building"),
        CheckConstraint("households IS NULL OR households >= 0", name="building_households"),
        CheckConstraint("length(trim(address)) > 0", name="building_address_nonempty"),
        Index("building_address_key_idx", "address_key"),
        Index(  # pg_trgm `%` on address keys (domain.spatial.coverage uses the next since 0008)
            "building_address_key_gin",
            "address_key",
            postgresql_using="gin",
            postgresql_ops={"address_key": "gin_trgm_ops"},
        ),
        Index(  # fuzzy address look-ups by house numbers (domain.spatial.coverage)
            "building_address_numbers_idx",
            text(house_number_signature_sql("address_key")),
        ),
        Index(  # the shape map layers filter by box (domain.spatial.map_layers)
            "building_shape_idx", text("COALESCE(footprint, location)"),
            postgresql_using="gist",
        ),
        # buildings(search:) compares these with ILIKE '%…%' (domain.spatial.directory)
        *(Index(f"building_{name}_gin", name, postgresql_using="gin",
                postgresql_ops={name: "gin_trgm_ops"}) for name in ("address", "name", "code")),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str | None = Field(default=None, sa_column=Column(String(200)))
    address: str = Field(sa_column=Column(String(300), nullable=False))
    address_key: str = Field(sa_column=Column(String(300), nullable=False))
    households: int | None = Field(default=None)
    location: Any = Field(sa_column=_geometry("POINT", nullable=False))
    footprint: Any = Field(default=None, sa_column=_geometry("POLYGON", nullable=True))
    grid_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("grid.id"), index=True)
    )
    group_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("building_group.id"), index=True)
    )


class Member(SQLModel, table=True):
    """A person who serves: party member, red steward, volunteer or grid worker."""

    __tablename__ = "member"
    __table_args__ = (
        CheckConstraint(f"status IN ({_enum_values(MemberStatus)})", name="member_status"),
        CheckConstraint(f"roles <@ ARRAY[{_enum_values(MemberRole)}]::text[]",
                        name="member_roles"),
        CheckConstraint(f"skills <@ ARRAY[{_enum_values(ServiceCategory)}]::text[]",
                        name="member_skills"),
        CheckConstraint("length(trim(name)) > 0", name="member_name_nonempty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(String(32)))
    party_member: bool = Field(default=True)
    roles: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'")),
    )
    skills: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'")),
    )
    status: str = Field(default=MemberStatus.ACTIVE.value, sa_column=Column(String(16),
                                                                            nullable=False))
    building_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("building.id"), index=True)
    )
    group_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("building_group.id"), index=True)
    )
    #: The partner organisation (domain.organisation) the member belongs to, if any.
    organisation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisation.id"), index=True))
    #: Agreed to show the phone whole on the notice board (公示栏).
    publish_phone: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, server_default=text("false")))
    #: When the member became ACTIVE.
    joined_at: datetime | None = Field(default=None,
                                       sa_column=Column(DateTime(timezone=True)))


class GridWorker(SQLModel, table=True):
    """Which grids a grid worker (网格员) serves."""

    __tablename__ = "grid_worker"

    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    )
    grid_id: int = Field(
        sa_column=Column(Integer, ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True,
                         index=True)
    )



class MemberCommunity(SQLModel, table=True):
    """The communities a member belongs to, for who may see them (domain.visibility): those
    of the grids of their building group, of their home building and of the grids they serve
    as grid worker. Kept by triggers on member, grid_worker, building, building_group and
    grid (migration 0022); a load that skips triggers runs `SELECT member_community_rebuild()`
    after it. A territory's members are then one index range of (community_id, member_id)."""

    __tablename__ = "member_community"
    __table_args__ = (Index("member_community_member_idx", "member_id"),)

    community_id: int = Field(sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE"), primary_key=True))
    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True))
    #: Through their group or grid work, the members of `members(scope: {communityId})`; false:
    #: through their home building only (the visibility rule counts homes too).
    placed: bool = Field(sa_column=Column(Boolean, nullable=False))

# `member.organisation_id` names the organisation area's table: its model must be on the
# metadata wherever a Member is flushed (the command line and workers import no schema).
# Imported last, once everything it imports from here exists.
from domain.organisation import models as _organisation_models  # noqa: E402, F401
