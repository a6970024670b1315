"""Places: residential compounds, their buildings, and the service sites."""

from __future__ import annotations

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base, geom, gist

SITE_KINDS = ("centre", "community", "outpost")


class Compound(Base):
    """A residential compound (小区)."""

    __tablename__ = "compound"
    __table_args__ = (
        gist("compound"),
        Index("ix_compound_name", "name"),
        # Place search by similar names (pg_trgm).
        Index(
            "ix_compound_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    buildings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    households: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    population: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)


class Building(Base):
    """A residential building (楼栋) of a compound."""

    __tablename__ = "building"
    __table_args__ = (
        gist("building"),
        Index("ix_building_compound_id", "compound_id"),
        Index("ix_building_label", "compound_id", "label"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(Text)
    floors: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    geom = mapped_column(geom("POLYGON"), nullable=False)


class ServiceSite(Base):
    """A service site of the "1+10+31" 10-minute service circle."""

    __tablename__ = "service_site"
    __table_args__ = (
        CheckConstraint(f"kind IN {SITE_KINDS}", name="service_site_kind"),
        gist("service_site"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    services: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    opening_hours: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(String(32))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id", ondelete="SET NULL"))
    geom = mapped_column(geom("POINT"), nullable=False)
