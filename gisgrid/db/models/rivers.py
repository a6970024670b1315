"""Rivers and the patrol segments of their banks."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base, geom, gist


class River(Base):
    """A river, as its centre line in flow direction."""

    __tablename__ = "river"
    __table_args__ = (gist("river"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    width_m: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(geom("LINESTRING"), nullable=False)


class BankSegment(Base):
    """A patrol segment of one bank of a river."""

    __tablename__ = "bank_segment"
    __table_args__ = (
        CheckConstraint("side IN ('left', 'right')", name="bank_segment_side"),
        gist("bank_segment"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    river_id: Mapped[int] = mapped_column(ForeignKey("river.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(8))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float] = mapped_column(Float)
    geom = mapped_column(geom("LINESTRING"), nullable=False)
