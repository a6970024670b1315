"""Shared pieces of the response models: the base class, times, numbers and GeoJSON (RFC 7946, WGS 84)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema


class Schema(BaseModel):
    """Base of the response models: every key declared, none dropped silently."""

    model_config = ConfigDict(extra="forbid")


# The services write times with datetime.isoformat() (e.g. 2026-11-27T08:00:00+00:00); a str keeps that text.
Timestamp = Annotated[
    str, WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-11-27T08:00:00+00:00"})
]
# A number as stored (JSONB keeps 24 and 0.5 apart): int stays int, float stays float.
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
Lon = Annotated[float, Field(description="经度 longitude, WGS 84", examples=[104.107747])]
Lat = Annotated[float, Field(description="纬度 latitude, WGS 84", examples=[30.637684])]
BBox = Annotated[
    list[float],
    Field(min_length=4, max_length=4, description="范围 [minlon, minlat, maxlon, maxlat], WGS 84"),
]
JsonObject = Annotated[dict[str, Any], Field(description="free-form JSON object")]


class LonLat(Schema):
    """A WGS 84 point."""

    lon: Lon
    lat: Lat


class NamedRef(Schema):
    """Something by id and name (a compound, say)."""

    id: str = Field(description="编号 id")
    name: str = Field(description="名称 name")


# GeoJSON geometries. Position = [lon, lat] (WGS 84).
Position = Annotated[list[float], Field(min_length=2, max_length=3, description="[lon, lat]")]


class Point(Schema):
    type: Literal["Point"]
    coordinates: Position


class MultiPoint(Schema):
    type: Literal["MultiPoint"]
    coordinates: list[Position]


class LineString(Schema):
    type: Literal["LineString"]
    coordinates: list[Position]


class MultiLineString(Schema):
    type: Literal["MultiLineString"]
    coordinates: list[list[Position]]


class Polygon(Schema):
    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(description="rings: the outer ring first, then holes")


class MultiPolygon(Schema):
    type: Literal["MultiPolygon"]
    coordinates: list[list[list[Position]]]


class GeometryCollection(Schema):
    type: Literal["GeometryCollection"]
    geometries: list[Geometry]


AnyGeometry = Point | MultiPoint | LineString | MultiLineString | Polygon | MultiPolygon | GeometryCollection


class Geometry(RootModel[AnyGeometry]):
    """几何 A GeoJSON geometry (RFC 7946), WGS 84 lon/lat."""

    root: Annotated[AnyGeometry, Field(discriminator="type")]


GeometryCollection.model_rebuild()


class Feature(Schema):
    """要素 A GeoJSON Feature: geometry and the layer's properties."""

    type: Literal["Feature"]
    id: int | str | None = Field(default=None, description="feature id, where the layer has one")
    geometry: Geometry | None
    properties: dict[str, Any] = Field(description="属性 the feature's attributes (see the operation)")


class FeatureCollection(Schema):
    """要素集 A GeoJSON FeatureCollection (RFC 7946), WGS 84."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
