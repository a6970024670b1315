"""The coordinate system a file is in: read from the file or given (--crs), never guessed; to WGS 84 once."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gisgrid.crs import ACCEPTED, ALIASES, InputCRS, geometry_to_wgs84
from gisgrid.errors import InvalidInput

EXPECTED_CRS = f"{ACCEPTED}, or an EPSG code such as EPSG:4544 or EPSG:32648 (reprojected to WGS 84)"
_CRS84 = pyproj.CRS("OGC:CRS84")


@dataclass
class SourceCRS:
    """Where a file's coordinates come from and how they reach WGS 84."""

    label: str
    kind: InputCRS | None = None  # the lon/lat systems of gisgrid.crs (GCJ-02/BD-09 are not pyproj CRSs)
    proj: pyproj.CRS | None = None  # any other CRS pyproj knows, e.g. a projected one
    _transformer: pyproj.Transformer | None = field(default=None, repr=False)

    def to_wgs84(self, geom: BaseGeometry) -> BaseGeometry:
        """The geometry in WGS 84 lon/lat (2D)."""
        geom = shapely.force_2d(geom)
        if self.kind is not None:
            return geometry_to_wgs84(geom, self.kind)
        tr = self._transformer
        if tr is None:
            raise ValueError(f"no transformation from {self.label} to WGS 84")

        def _apply(coords: np.ndarray) -> np.ndarray:
            x, y = tr.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom, _apply)


def given_crs(value: str) -> SourceCRS:
    """The CRS named on the command line or in the request (`--crs`, `crs=`)."""
    key = str(value).strip().lower()
    if key in ALIASES:
        return SourceCRS(label=ALIASES[key].value, kind=ALIASES[key])
    return crs_from_definition(value, field_name="crs", origin="given with --crs")


def crs_from_definition(definition: str, *, field_name: str, origin: str) -> SourceCRS:
    """A CRS from an EPSG code, URN, WKT or PROJ string; InvalidInput when pyproj does not know it."""
    try:
        crs = pyproj.CRS.from_user_input(definition)
    except (pyproj.exceptions.CRSError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"Unknown coordinate system {_short(definition)!r} ({origin}).",
            field=field_name,
            value=_short(definition),
            expected=EXPECTED_CRS,
        ) from exc
    if crs.is_geographic and (crs.to_epsg() == 4326 or crs.equals(_CRS84, ignore_axis_order=True)):
        return SourceCRS(label="wgs84", kind=InputCRS.wgs84)
    if crs.is_geographic and crs.to_epsg() == 4490:
        # CGCS2000 and WGS 84 agree to centimetres here (gisgrid.crs applies no shift either).
        return SourceCRS(label="cgcs2000", kind=InputCRS.cgcs2000)
    if not (crs.is_geographic or crs.is_projected):
        raise InvalidInput(
            f"The coordinate system {crs.name!r} ({origin}) is neither geographic nor projected.",
            field=field_name,
            value=_short(definition),
            expected=EXPECTED_CRS,
        )
    epsg = crs.to_epsg()
    try:
        transformer = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    except pyproj.exceptions.ProjError as exc:
        raise InvalidInput(
            f"The coordinate system {crs.name!r} ({origin}) cannot be converted to WGS 84.",
            field=field_name,
            value=_short(definition),
            expected=EXPECTED_CRS,
        ) from exc
    return SourceCRS(label=f"EPSG:{epsg}" if epsg else crs.name, proj=crs, _transformer=transformer)


def resolve_crs(
    *, given: str | None, in_file: str | None, file_name: str, default: str | None = None
) -> SourceCRS:
    """The CRS to read with: `given` overrides the file's; a file without one needs `given` (never guessed)."""
    if given is not None and str(given).strip():
        return given_crs(given)
    if in_file:
        return crs_from_definition(in_file, field_name="crs", origin=f"declared by {file_name}")
    if default is not None:
        return given_crs(default)
    raise InvalidInput(
        f"{file_name} does not say which coordinate system it is in; give it with --crs "
        "(API: crs=), e.g. --crs wgs84 or --crs gcj02. It is never guessed.",
        field="crs",
        value=None,
        expected=EXPECTED_CRS,
    )


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
