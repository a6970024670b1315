"""Incidents, their categories (step time limits, duplicate radius) and timelines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base, geom, gist

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
    duplicate_radius_m: Mapped[float] = mapped_column(Float, default=50, server_default="50")
    duplicate_window_h: Mapped[float] = mapped_column(Float, default=72, server_default="72")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Incident(Base):
    """An incident, assigned at report time to the micro-grid generation then in force."""

    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(f"status IN {INCIDENT_STATUSES}", name="incident_status"),
        CheckConstraint(f"level IN {INCIDENT_LEVELS}", name="incident_level"),
        gist("incident"),
        Index("ix_incident_micro_code", "micro_code"),
        Index("ix_incident_community_code", "community_code"),
        Index("ix_incident_status", "status"),
        Index("ix_incident_category_reported", "category_code", "reported_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ext_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("incident_category.code"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20), default="dispatcher", server_default="dispatcher")
    status: Mapped[str] = mapped_column(String(16), default="reported", server_default="reported")
    level: Mapped[str] = mapped_column(String(16), default="micro", server_default="micro")
    department: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = mapped_column(geom("POINT"), nullable=False)
    input_crs: Mapped[str] = mapped_column(String(12), default="wgs84", server_default="wgs84")
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
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class IncidentEvent(Base):
    """One step on an incident's timeline."""

    __tablename__ = "incident_event"
    __table_args__ = (Index("ix_incident_event_incident", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    detail: Mapped[dict | None] = mapped_column(JSONB)
