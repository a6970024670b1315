"""The declarative base every model derives from, and the typed geometry column in the storage SRID."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Index
from sqlalchemy.orm import DeclarativeBase

SRID = 4326


def geom(kind: str) -> Geometry:
    """A typed geometry column in the storage SRID (its GiST index is made by the migration)."""
    return Geometry(geometry_type=kind, srid=SRID, spatial_index=False)


def gist(table: str, column: str = "geom") -> Index:
    """The GiST index of a geometry column, named as the migrations name it."""
    return Index(f"ix_{table}_{column}", column, postgresql_using="gist")


class Base(DeclarativeBase):
    pass
