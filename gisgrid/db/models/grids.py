"""Grid units (one row per generation of a code), special grids, and the workers who serve them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base, geom, gist

GRID_LEVELS = ("subdistrict", "community", "general", "micro")
SPECIAL_GRID_KINDS = ("law", "care", "medical", "veterans")
WORKER_ROLES = ("community_head", "grid_worker", "micro_grid_worker", "specialist")
GENERATION_SOURCES = ("import", "edit", "revert", "demo")
CHANGE_SET_STATUSES = ("draft", "saved", "cancelled")


class GridGeneration(Base):
    """A set of grid changes saved together (an import, an edit, a revert, the demo load): who, when, why
    (migration 0006)."""

    __tablename__ = "grid_generation"
    __table_args__ = (
        CheckConstraint(f"source IN {GENERATION_SOURCES}", name="grid_generation_source"),
        CheckConstraint(
            "units_added >= 0 AND units_retired >= 0 AND units_changed >= 0", name="grid_generation_counts"
        ),
        Index("ix_grid_generation_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
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
    __table_args__ = (
        CheckConstraint(f"level IN {GRID_LEVELS}", name="grid_unit_level"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="grid_unit_validity"),
        CheckConstraint("households >= 0 AND population >= 0", name="grid_unit_counts"),
        # Generations of a code never overlap in time: the EXCLUDE constraint grid_unit_generations_disjoint
        # (migration 0001; Alembic neither compares nor creates it from here).
        gist("grid_unit"),
        Index("ix_grid_unit_parent_code", "parent_code"),
        Index("ix_grid_unit_level", "level"),
        Index("ux_grid_unit_current_code", "code", unique=True, postgresql_where=text("valid_to IS NULL")),
        # "The generation of code X in force at T" as an index-only scan (migration 0004).
        Index(
            "ix_grid_unit_code_valid",
            "code",
            "valid_from",
            postgresql_include=["valid_to", "id", "level", "parent_code", "name"],
        ),
        Index("ix_grid_unit_generation_id", "generation_id"),
        Index("ix_grid_unit_retired_generation_id", "retired_generation_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    population: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The generation that began this row and the one that ended it (None while in force).
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid_generation.id", name="grid_unit_generation_id_fkey")
    )
    retired_generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid_generation.id", name="grid_unit_retired_generation_id_fkey")
    )


class GridChangeSet(Base):
    """Boundary edits as a draft: the operations, the grid versions they started from, the checked preview;
    saved as one generation (migration 0010). Drafts lock nothing: saving a stale one is a conflict."""

    __tablename__ = "grid_change_set"
    __table_args__ = (
        CheckConstraint(f"status IN {CHANGE_SET_STATUSES}", name="grid_change_set_status"),
        Index("ix_grid_change_set_status", "status", "created_at"),
        Index("ix_grid_change_set_generation_id", "generation_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    operations: Mapped[list] = mapped_column(JSONB)
    base_versions: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    preview: Mapped[dict | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("grid_generation.id", name="grid_change_set_generation_id_fkey")
    )
    saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SpecialGrid(Base):
    """A special-purpose grid (法治格, 关爱格, 医疗格, 退役军人格) overlaying the ordinary ones."""

    __tablename__ = "special_grid"
    __table_args__ = (
        CheckConstraint(f"kind IN {SPECIAL_GRID_KINDS}", name="special_grid_kind"),
        gist("special_grid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(32))
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    # Edited through change sets (gisgrid/grids/edits.py, migration 0010): a version, and retired rather than
    # deleted so that the code is never used again.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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
    __table_args__ = (Index("ix_worker_grid_grid_code", "grid_code"),)

    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(32), primary_key=True)
