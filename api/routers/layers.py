"""GeoJSON layers by bounding box, with a feature limit and paging."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import PrincipalDep, SessionDep, SettingsDep, policy
from api.schemas.layers import LayerPage, LayerSummary
from gisgrid import layers as layer_service
from gisgrid.errors import InvalidInput

router = APIRouter(prefix="/api", tags=["layers"])


@router.get(
    "/layers",
    summary="图层列表 List layers",
    description="Every map layer with titles and feature counts.",
    response_model=list[LayerSummary],
    response_model_exclude_unset=True,
    **policy("public"),
)
def list_layers(session: SessionDep) -> list[dict[str, Any]]:
    return layer_service.layer_summaries(session)


@router.get(
    "/layers/{layer}",
    summary="图层要素 Layer features (GeoJSON)",
    description=(
        "Features of one layer as a GeoJSON FeatureCollection (WGS 84), optionally within `bbox`, "
        "one page of at most `limit` features from `offset`. `numberMatched` counts all matches; "
        "`next_offset` is the offset of the next page (null on the last). Layers: "
        + ", ".join(layer_service.REGISTRY.map_layers)
        + ". Grid layers carry code, name, level, parent_code, households, population, version and the "
        "responsible workers' names and roles. Household and population figures and workers' (masked) phone "
        "numbers are shown only to logged-in users."
    ),
    # Documented, not validated: a page holds up to the server's limit of features (the route answers itself).
    response_model=LayerPage,
    response_class=JSONResponse,
    responses={404: {"description": "no such layer"}, 422: {"description": "bad bbox, limit or offset"}},
    **policy("public"),
)
def get_layer(
    layer: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    bbox: Annotated[
        str | None,
        Query(description="minlon,minlat,maxlon,maxlat in WGS 84", examples=["104.09,30.63,104.12,30.65"]),
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, description="features per page (default and max: the server's limit)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="features to skip")] = 0,
) -> JSONResponse:
    cap = settings.map.layer_max_features
    if limit is not None and limit > cap:
        raise InvalidInput(
            f"limit {limit} is above the server's maximum of {cap} features per page.",
            field="limit",
            value=limit,
            expected=f"1..{cap}; page with offset",
        )
    page = layer_service.layer_features(
        session,
        name=layer,
        bbox=layer_service.parse_bbox(bbox),
        limit=limit or cap,
        offset=offset,
        private=principal.can("contacts.read"),
        viewer=principal,
    )
    return JSONResponse(page)
