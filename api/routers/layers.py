"""GeoJSON layers by bounding box, with a feature limit and paging."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from api.deps import PrincipalDep, SessionDep, SettingsDep, policy
from api.schemas.layers import LayerPage, LayerSummary
from gisgrid import layers as layer_service
from gisgrid.errors import InvalidInput
from gisgrid.times import aware

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
        "numbers are shown only to logged-in users. `at` (grid layers only): the grids in force at that time "
        "(their workers are today's)."
    ),
    # Documented, not validated: a page holds up to the server's limit of features (the route answers itself,
    # with its ETag).
    response_model=LayerPage,
    response_class=JSONResponse,
    responses={
        304: {
            "description": "If-None-Match matched: the answer has not changed (weak ETag, Cache-Control: no-cache)"
        },
        404: {"description": "no such layer"},
        422: {"description": "bad bbox, limit or offset"},
    },
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
    at: Annotated[
        datetime | None,
        Query(description="ISO time with offset: the features in force then (grid layers only; default now)"),
    ] = None,
    if_none_match: Annotated[str | None, Header(description="an ETag of an earlier answer")] = None,
) -> Response:
    cap = settings.map.layer_max_features
    if limit is not None and limit > cap:
        raise InvalidInput(
            f"limit {limit} is above the server's maximum of {cap} features per page.",
            field="limit",
            value=limit,
            expected=f"1..{cap}; page with offset",
        )
    private = principal.can("contacts.read")
    box = layer_service.parse_bbox(bbox)
    when = aware(at, field="at")
    body = layer_service.layer_features(
        session,
        name=layer,
        bbox=box,
        limit=limit or cap,
        offset=offset,
        private=private,
        viewer=principal,
        at=when,
    )
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    query = f"{layer}|{box}|{limit or cap}|{offset}|{when.isoformat() if when else ''}"
    etag = layer_etag(content, query=query, private=private)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Cookie, Authorization"}
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="application/json", headers=headers)


def layer_etag(content: bytes, *, query: str, private: bool) -> str:
    """A weak ETag of one layer answer: its data (the features as served), the query and whether the caller sees
    private fields (the same URL answers a logged-in planner and a visitor differently).

    The data part is a digest of the answer itself: the tables carry no change counter yet, and a digest cannot
    go stale whoever writes the data (the app, the CLI, an import on another host)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{query}|private={private}|".encode())
    digest.update(content)
    return f'W/"{digest.hexdigest()}"'


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/"x" matches "x"; `*` matches any current answer."""
    bare = etag.removeprefix("W/")
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or bare in tags
