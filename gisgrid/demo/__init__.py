"""Deterministic synthetic data: the Niushikou (牛市口) demo subdistrict and city-scale data sets."""

from gisgrid.demo.generate import generate

__all__ = ["generate"]
