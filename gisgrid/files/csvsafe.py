"""CSV cells that a spreadsheet cannot run: formula injection (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`) neutralised.

A text cell that starts with = + - @ or a tab/carriage return is written with a leading apostrophe (OWASP's
advice: Excel and WPS show it as text). Numbers are left alone (they cannot be formulas). Our CSV readers take
the apostrophe off again, so an exported layer or an error file re-imports unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = re.compile(r"^'[=+\-@\t\r]")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def neutralise(value: Any) -> Any:
    """`value` made safe for a spreadsheet: a formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in TRIGGERS and not _is_number(value):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """The text as it was before `neutralise` (for our CSV readers)."""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`neutralise` on every text cell of a frame."""
    return frame.apply(
        lambda col: col.map(neutralise) if pd.api.types.is_string_dtype(col) or col.dtype == object else col
    )


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`restore` on every cell of a frame of text (vectorised: a million rows stay fast)."""
    for name in frame.columns:
        col = frame[name]
        mask = col.str.match(_NEUTRALISED)
        if mask.any():
            frame.loc[mask, name] = col[mask].str[1:]
    return frame
