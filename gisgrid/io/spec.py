"""What each importable layer looks like in a file: the datasets of the layer registry (gisgrid.layers)."""

from __future__ import annotations

from gisgrid.layers.registry import REGISTRY
from gisgrid.layers.registry import Dataset as LayerSpec
from gisgrid.layers.registry import Field as FieldSpec

# In load order: a layer may refer to those before it. The registry's own dict, so a layer registered later
# (REGISTRY.extended) is importable at once.
SPECS: dict[str, LayerSpec] = REGISTRY.datasets

__all__ = ["SPECS", "FieldSpec", "LayerSpec"]
