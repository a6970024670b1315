"""Limits on imported files, checked before or while a file is read (never after it is all in memory).

A zip bomb (a small archive that unpacks to gigabytes), a workbook of a million empty rows or a feature with a
million vertices is refused with an error that names the limit and its setting, and the server's memory stays
bounded: sizes come from the archive's directory and feature counts from the file's header before any data is read.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from gisgrid.config import ImportLimitSettings
from gisgrid.errors import InvalidInput

MB = 1024 * 1024


def limits() -> ImportLimitSettings:
    """The limits in force (settings read from the environment)."""
    return ImportLimitSettings()


def check_unpacked_size(path: Path, *, cap: ImportLimitSettings | None = None) -> int:
    """The bytes `path` unpacks to (a zip's members, or the file itself); InvalidInput past the limit."""
    cap = cap or limits()
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                size = sum(info.file_size for info in zf.infolist())
        except (zipfile.BadZipFile, OSError):
            size = path.stat().st_size  # the reader names what is wrong with it
    else:
        size = path.stat().st_size
    if size > cap.import_max_unpacked_mb * MB:
        raise InvalidInput(
            f"{path.name} 解压后过大 unpacks to {size / MB:,.0f} MB, more than the limit of "
            f"{cap.import_max_unpacked_mb} MB.",
            field="file",
            value=path.name,
            expected=f"at most {cap.import_max_unpacked_mb} MB unpacked (GISGRID_IMPORT_MAX_UNPACKED_MB); "
            "split the file by area",
        )
    return size


def too_many(path: Path, count: int | str, limit: int, *, what: str, setting: str) -> InvalidInput:
    """The refusal of a file with more features or rows than `limit`."""
    return InvalidInput(
        f"{path.name} 数据过多 holds more than {limit:,} {what} ({count}).",
        field="file",
        value=path.name,
        expected=f"at most {limit:,} {what} per file ({setting}); split the file, or use the bulk loader",
    )
