"""The walking network (pgRouting) and the precomputed walking access from its nodes to the service sites."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gisgrid.db.models.base import Base, geom, gist

EDGE_KINDS = ("road", "path", "bridge", "crossing")


class WalkNode(Base):
    """A node of the walking network (pgRouting vertex)."""

    __tablename__ = "walk_node"
    __table_args__ = (gist("walk_node"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    geom = mapped_column(geom("POINT"), nullable=False)


class WalkEdge(Base):
    """An edge of the walking network; cost is its length in metres, walkable both ways."""

    __tablename__ = "walk_edge"
    __table_args__ = (
        CheckConstraint(f"kind IN {EDGE_KINDS}", name="walk_edge_kind"),
        CheckConstraint("length_m >= 0", name="walk_edge_length"),
        gist("walk_edge"),
        Index("ix_walk_edge_source", "source"),
        Index("ix_walk_edge_target", "target"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ext_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    source: Mapped[int] = mapped_column(ForeignKey("walk_node.id"))
    target: Mapped[int] = mapped_column(ForeignKey("walk_node.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float] = mapped_column(Float)
    geom = mapped_column(geom("LINESTRING"), nullable=False)


class WalkSiteAccess(Base):
    """The nearest service sites (rank 1..3) of a walking-network node, by walking distance."""

    __tablename__ = "walk_site_access"

    node_id: Mapped[int] = mapped_column(ForeignKey("walk_node.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("service_site.id", ondelete="CASCADE"))
    distance_m: Mapped[float] = mapped_column(Float)
