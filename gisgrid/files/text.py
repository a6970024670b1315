"""Text files from Chinese offices: UTF-8 (with or without BOM) or GB18030 (Excel on Chinese Windows)."""

from __future__ import annotations

from pathlib import Path

from gisgrid.errors import InvalidInput

ENCODINGS = ("utf-8-sig", "gb18030")


def detect_encoding(data: bytes, path: Path, *, expected: str) -> str:
    """The first of ENCODINGS that decodes `data`, or InvalidInput naming the file."""
    for encoding in ENCODINGS:
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        f"{path.name} 无法解码 is neither UTF-8 nor GB18030 text.",
        field="file",
        value=path.name,
        expected=expected,
    )
