"""The web front end (web/), its npm-managed vendor files, and the map configuration it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.deps import SessionDep, SettingsDep, policy
from api.schemas.layers import MapConfig
from gisgrid import layers as layer_service
from gisgrid.config import PROJECT_ROOT, Settings

WEB = PROJECT_ROOT / "web"
VENDOR = {
    "leaflet": WEB / "node_modules" / "leaflet" / "dist",
    "geoman": WEB / "node_modules" / "@geoman-io" / "leaflet-geoman-free" / "dist",
    "markercluster": WEB / "node_modules" / "leaflet.markercluster" / "dist",
    # The API documentation pages (/docs, /redoc; api/routers/docs.py).
    "swagger-ui": WEB / "node_modules" / "swagger-ui-dist",
    "redoc": WEB / "node_modules" / "redoc" / "bundles",
}

router = APIRouter(tags=["web"])


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})


@router.get(
    "/api/map-config",
    tags=["layers"],
    summary="地图配置 Map configuration",
    description="What the map page needs at start: the optional online tile layer (empty = offline base map), "
    "the default language, the extent of the data and the layers with their feature counts, fields (labels "
    "zh/en, which are private) and how the map draws them (panes, minimum zoom, labels, styles, legend).",
    response_model=MapConfig,
    response_model_exclude_unset=True,
    **policy("public"),
)
def map_config(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    return {
        "tile_url": settings.map.tile_url or None,
        "tile_attribution": settings.map.tile_attribution,
        "default_language": settings.map.default_language,
        "layer_max_features": settings.map.layer_max_features,
        "extent": layer_service.data_extent(session),
        "layers": layer_service.layer_summaries(session),
    }


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve web/ at / and /static, vendor files at /vendor/<package>."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "src", check_dir=False), name="static")
    for name, path in VENDOR.items():
        app.mount(
            f"/vendor/{name}", StaticFiles(directory=Path(path), check_dir=False), name=f"vendor-{name}"
        )
