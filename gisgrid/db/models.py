"""ORM models of schema v1. The schema itself changes only through Alembic migrations."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326
GRID_LEVELS = ("subdistrict", "community", "general", "micro")
SITE_KINDS = ("centre", "community", "outpost")
EDGE_KINDS = ("road", "path", "bridge", "crossing")
WORKER_ROLES = ("community_head", "grid_worker", "micro_grid_worker", "specialist")
SPECIAL_GRID_KINDS = ("law", "care", "medical", "veterans")
USER_ROLES = ("admin", "planner", "dispatcher", "auditor", "grid_worker", "patrol")
GENERATION_SOURCES = ("import", "edit", "revert", "demo")


def geom(kind: str) -> Geometry:
    """A typed geometry column in the storage SRID (its GiST index is made by the migration)."""
    return Geometry(geometry_type=kind, srid=SRID, spatial_index=False)


class Base(DeclarativeBase):
    pass


class GridGeneration(Base):
    """A set of grid changes saved together (an import, an edit, a revert, the demo load): who, when, why."""

    __tablename__ = "grid_generation"
    __table_args__ = (CheckConstraint(f"source IN {GENERATION_SOURCES}", name="grid_generation_source"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # Like the audit trail, the user's id and name are kept as they were (no foreign key); None = system/demo.
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    units_added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    units_retired: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    units_changed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    detail: Mapped[dict | None] = mapped_column(JSONB)


class GridUnit(Base):
    """One generation of one grid unit; the code is its stable identity across generations."""

    __tablename__ = "grid_unit"
    __table_args__ = (CheckConstraint(f"level IN {GRID_LEVELS}", name="grid_unit_level"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int] = mapped_column(Integer, default=0)
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The generation that began this row and the one that ended it (None while in force).
    generation_id: Mapped[int | None] = mapped_column(ForeignKey("grid_generation.id"), index=True)
    retired_generation_id: Mapped[int | None] = mapped_column(ForeignKey("grid_generation.id"), index=True)


class SpecialGrid(Base):
    """A special-purpose grid (法治格, 关爱格, 医疗格, 退役军人格) overlaying the ordinary ones."""

    __tablename__ = "special_grid"
    __table_args__ = (CheckConstraint(f"kind IN {SPECIAL_GRID_KINDS}", name="special_grid_kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(32))
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)


class Compound(Base):
    """A residential compound (小区)."""

    __tablename__ = "compound"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    buildings: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int] = mapped_column(Integer, default=0)
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)


class Building(Base):
    """A residential building (楼栋) of a compound."""

    __tablename__ = "building"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(Text)
    floors: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer, default=0)
    geom = mapped_column(geom("POLYGON"), nullable=False)


class ServiceSite(Base):
    """A service site of the "1+10+31" 10-minute service circle."""

    __tablename__ = "service_site"
    __table_args__ = (CheckConstraint(f"kind IN {SITE_KINDS}", name="service_site_kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    services: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(32))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id", ondelete="SET NULL"))
    geom = mapped_column(geom("POINT"), nullable=False)


class WalkNode(Base):
    """A node of the walking network (pgRouting vertex)."""

    __tablename__ = "walk_node"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    geom = mapped_column(geom("POINT"), nullable=False)


class WalkEdge(Base):
    """An edge of the walking network; cost is its length in metres, walkable both ways."""

    __tablename__ = "walk_edge"
    __table_args__ = (CheckConstraint(f"kind IN {EDGE_KINDS}", name="walk_edge_kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    source: Mapped[int] = mapped_column(ForeignKey("walk_node.id"))
    target: Mapped[int] = mapped_column(ForeignKey("walk_node.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float] = mapped_column(Float)
    geom = mapped_column(geom("LINESTRING"), nullable=False)


class River(Base):
    """A river, as its centre line in flow direction."""

    __tablename__ = "river"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    width_m: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(geom("LINESTRING"), nullable=False)


class BankSegment(Base):
    """A patrol segment of one bank of a river."""

    __tablename__ = "bank_segment"
    __table_args__ = (CheckConstraint("side IN ('left', 'right')", name="bank_segment_side"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    river_id: Mapped[int] = mapped_column(ForeignKey("river.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(8))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float] = mapped_column(Float)
    geom = mapped_column(geom("LINESTRING"), nullable=False)


class Worker(Base):
    """A grid worker, micro-grid worker, community head or specialist."""

    __tablename__ = "worker"
    __table_args__ = (CheckConstraint(f"role IN {WORKER_ROLES}", name="worker_role"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))


class WorkerGrid(Base):
    """Which grid units (by stable code) or special grids a worker serves."""

    __tablename__ = "worker_grid"

    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)


class AppUser(Base):
    """A person who logs in to gisgrid."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(f"role IN {USER_ROLES}", name="app_user_role"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    scope_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id", ondelete="SET NULL"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthSession(Base):
    """A log-in session (cookie) or an API token (bearer); only a keyed hash of the secret is stored."""

    __tablename__ = "auth_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    """One audited write: who, when, from where, what, before and after. Append-only (a trigger refuses changes)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_key: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    detail: Mapped[dict | None] = mapped_column(JSONB)


class DatasetLoad(Base):
    """A record of each data set loaded (e.g. the demo), with the hash of its files."""

    __tablename__ = "dataset_load"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    files_hash: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


INCIDENT_STATUSES = (
    "reported",
    "filed",
    "dispatched",
    "handling",
    "handled",
    "verified",
    "closed",
    "rejected",
)
INCIDENT_LEVELS = ("micro", "grid", "subdistrict", "department")


class IncidentCategory(Base):
    """An incident category (or subcategory) with hours allowed per workflow step and a duplicate radius."""

    __tablename__ = "incident_category"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("incident_category.code"))
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    step_hours: Mapped[dict[str, float]] = mapped_column(JSONB)
    duplicate_radius_m: Mapped[float] = mapped_column(Float, default=50)
    duplicate_window_h: Mapped[float] = mapped_column(Float, default=72)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Incident(Base):
    """An incident, assigned at report time to the micro-grid generation then in force."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("incident_category.code"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20), default="dispatcher")
    status: Mapped[str] = mapped_column(String(16), default="reported")
    level: Mapped[str] = mapped_column(String(16), default="micro")
    department: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = mapped_column(geom("POINT"), nullable=False)
    input_crs: Mapped[str] = mapped_column(String(12), default="wgs84")
    input_lon: Mapped[float | None] = mapped_column(Float)
    input_lat: Mapped[float | None] = mapped_column(Float)
    grid_unit_id: Mapped[int | None] = mapped_column(ForeignKey("grid_unit.id", ondelete="SET NULL"))
    micro_code: Mapped[str | None] = mapped_column(String(32))
    general_code: Mapped[str | None] = mapped_column(String(32))
    community_code: Mapped[str | None] = mapped_column(String(32))
    subdistrict_code: Mapped[str | None] = mapped_column(String(32))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    step_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    step_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class IncidentEvent(Base):
    """One step on an incident's timeline."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    detail: Mapped[dict | None] = mapped_column(JSONB)


class WalkSiteAccess(Base):
    """The nearest service sites (rank 1..3) of a walking-network node, by walking distance."""

    __tablename__ = "walk_site_access"

    node_id: Mapped[int] = mapped_column(ForeignKey("walk_node.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("service_site.id", ondelete="CASCADE"))
    distance_m: Mapped[float] = mapped_column(Float)
