"""Incidents, their categories (step time limits, duplicate radius) and timelines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base, geom

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
