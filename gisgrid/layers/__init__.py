"""Layers: the one registry of stored and map layers (registry.py) and their GeoJSON features (geojson.py)."""

from gisgrid.layers.geojson import data_extent, get_layer, layer_features, layer_summaries, parse_bbox
from gisgrid.layers.registry import REGISTRY, Dataset, Field, MapLayer, Registry

__all__ = [
    "REGISTRY",
    "Dataset",
    "Field",
    "MapLayer",
    "Registry",
    "data_extent",
    "get_layer",
    "layer_features",
    "layer_summaries",
    "parse_bbox",
]
