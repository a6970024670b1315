"""Read 12345-hotline exports (CSV, XLSX, GeoJSON) into one table of text cells with known field names.

Every cell stays text (numbers too: an id like 0012 or a coordinate with 7 decimals must not change on the
way), each row keeps the number a person sees in Excel (header = row 1) or its feature number (GeoJSON), and
the original columns are kept for the error file.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gisgrid.errors import InvalidInput
from gisgrid.files.csvsafe import restore_frame
from gisgrid.files.geojson import crs_member, read_collection
from gisgrid.files.limits import check_unpacked_size, limits, too_many
from gisgrid.files.text import detect_encoding

FIELDS = ("ext_id", "category", "title", "description", "lon", "lat", "reported_at", "address", "channel")
# Header aliases, the canonical English name first; a file with two aliases of one field uses the first listed.
ALIASES: dict[str, tuple[str, ...]] = {
    "ext_id": ("ext_id", "工单编号", "编号", "工单号", "事件编号", "id"),
    "category": ("category", "category_code", "类别", "事件类别", "事件类型", "类型"),
    "title": ("title", "标题", "诉求标题", "事件标题"),
    "description": ("description", "内容", "诉求内容", "事件描述", "描述"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "reported_at": ("reported_at", "上报时间", "受理时间", "发生时间", "时间"),
    "address": ("address", "地址", "事发地址", "事件地址"),
    "channel": ("channel", "来源", "渠道"),
}
REQUIRED = ("ext_id", "lon", "lat")
FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson"}
ACCEPTED = "CSV (UTF-8 or GB18030), XLSX (first sheet) or GeoJSON (Point features)"


@dataclass
class Table:
    """A file's rows: original cells (`raw`), the known fields as text (`fields`), both indexed by row number."""

    raw: pd.DataFrame
    fields: pd.DataFrame
    fmt: str
    crs_in_file: str | None = None
    default_crs: str | None = None
    problems: dict[int, str] = field(default_factory=dict)  # row number → reason found while reading


def detect(path: Path, fmt: str | None = None) -> str:
    """The format named by `fmt` or by the file's extension."""
    name = (fmt or FORMATS.get(path.suffix.lower(), "")).lower()
    if name not in FORMATS.values():
        raise InvalidInput(
            f"不支持的文件格式 Unsupported file {path.name!r}.",
            field="file",
            value=path.name,
            expected=ACCEPTED,
        )
    return name


def read_table(path: Path, *, fmt: str | None = None) -> Table:
    """Read a hotline export; refuse (InvalidInput) a file that is unreadable, empty or lacks a needed column."""
    if not path.is_file():
        raise InvalidInput(f"文件不存在 File not found: {path}", field="file", value=str(path))
    name = detect(path, fmt)
    check_unpacked_size(path)
    if name == "geojson":
        table = _read_geojson(path)
    else:
        raw, problems = _read_csv(path) if name == "csv" else (_read_xlsx(path), {})
        table = Table(raw=raw, fields=_fields(raw, path), fmt=name, problems=problems)
    if table.raw.empty:
        raise InvalidInput(f"{path.name} 没有数据行 holds no rows.", field="file", value=path.name)
    return table


def _check_rows(path: Path, count: int) -> None:
    cap = limits().import_max_rows
    if count > cap:
        raise too_many(path, "reading stopped there", cap, what="rows", setting="GISGRID_IMPORT_MAX_ROWS")


def _normal(header: Any) -> str:
    return str(header).replace("\ufeff", "").strip().lower()


def column_map(columns: list[str]) -> dict[str, str]:
    """Which file column holds which field (by the alias lists)."""
    by_name = {_normal(c): c for c in reversed(columns)}  # the first of equal names wins
    out: dict[str, str] = {}
    for name, aliases in ALIASES.items():
        found = next((by_name[a] for a in aliases if a in by_name), None)
        if found is not None:
            out[name] = found
    return out


def _fields(raw: pd.DataFrame, path: Path, required: tuple[str, ...] = REQUIRED) -> pd.DataFrame:
    mapping = column_map([str(c) for c in raw.columns])
    missing = [f for f in required if f not in mapping]
    if missing:
        raise InvalidInput(
            f"{path.name} 缺少必需的列 lacks the column(s) {', '.join(missing)}.",
            field="columns",
            value=", ".join(str(c) for c in raw.columns)[:200],
            expected="columns " + "; ".join(f"{f} ({'/'.join(ALIASES[f][1:3])})" for f in required),
        )
    out = pd.DataFrame(index=raw.index)
    for name in FIELDS:
        out[name] = raw[mapping[name]].str.strip() if name in mapping else ""
    return out


BAD_ROW = "\ue000gisgrid-bad-row\ue000"  # private-use characters: no real cell holds this


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[int, str]]:
    """The rows as text, and the rows refused while reading (more cells than the header) by row number."""
    data = path.read_bytes()
    options: dict[str, Any] = {
        "encoding": detect_encoding(data, path, expected=ACCEPTED),
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": False,
        "quoting": csv.QUOTE_MINIMAL,
        "nrows": limits().import_max_rows
        + 1,  # one row past the limit refuses the file; the rest is not read
    }
    try:
        # Bytes, not a decoded string: pandas re-encodes a StringIO chunk by chunk, 10x slower on Chinese text.
        raw = pd.read_csv(io.BytesIO(data), **options)
    except pd.errors.ParserError:
        # A row with more cells than the header: read again (slower) keeping such rows, marked, so that they
        # are refused one by one with a reason instead of the whole file.
        try:
            width = len(pd.read_csv(io.BytesIO(data), **{**options, "nrows": 0}).columns)
            mark = partial(_mark_bad, width=width)
            raw = pd.read_csv(io.BytesIO(data), engine="python", on_bad_lines=mark, **options)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
            raise _not_csv(path, exc) from exc
    except (pd.errors.EmptyDataError, ValueError) as exc:
        raise _not_csv(path, exc) from exc
    _check_rows(path, len(raw))  # before blank rows are dropped: reading stopped at the limit
    raw.index = pd.RangeIndex(2, len(raw) + 2, name="row")  # Excel's numbering: the header is row 1
    problems: dict[int, str] = {}
    if len(raw.columns):
        marked = raw[raw.columns[-1]] == BAD_ROW
        raw.loc[marked, raw.columns[-1]] = ""
        width = len(raw.columns)
        problems = {
            int(r): f"列数多于表头 the row has more than the header's {width} cells"
            for r in raw.index[marked]
        }
    raw = restore_frame(raw)  # our error files neutralise formula-like cells
    return _drop_blank(raw), problems


def _mark_bad(line: list[str], *, width: int) -> list[str]:
    """The row cut to the header's width, its last cell replaced by the mark (its first cells are kept)."""
    return [*line[: width - 1], BAD_ROW]


def _not_csv(path: Path, exc: Exception) -> InvalidInput:
    return InvalidInput(
        f"{path.name} 不是有效的CSV is not readable CSV ({str(exc).splitlines()[0] if str(exc) else exc!r}).",
        field="file",
        value=path.name,
        expected=ACCEPTED,
    )


def _drop_blank(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.fillna("").astype(str)
    return raw.loc[~np.asarray((raw == "").all(axis=1))]


def _cell(value: Any) -> str:
    """An Excel cell as text: integers without '.0', times as local ISO text (Excel has no time zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> pd.DataFrame:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InvalidInput(
            f"{path.name} 不是有效的XLSX is not a readable XLSX workbook.",
            field="file",
            value=path.name,
            expected=ACCEPTED,
        ) from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        numbered = ((i, [_cell(v) for v in r]) for i, r in enumerate(rows, start=1))
        header = next((r for _, r in numbered if any(c.strip() for c in r)), [])
        # Streamed: one row past the limit refuses the file (a workbook of a million rows is a few MB zipped).
        body = list(itertools.islice(numbered, limits().import_max_rows + 1))
        _check_rows(path, len(body))  # before blank rows are dropped: reading stopped at the limit
    finally:
        book.close()
    width = max([len(header)] + [len(r) for _, r in body])
    names = [h.strip() or f"column{j + 1}" for j, h in enumerate(header + [""] * (width - len(header)))]
    cells = [r + [""] * (width - len(r)) for _, r in body]
    raw = pd.DataFrame(cells, columns=names, index=pd.Index([i for i, _ in body], name="row"), dtype=str)
    return _drop_blank(raw)


def _read_geojson(path: Path) -> Table:
    doc, features = read_collection(path, expected=ACCEPTED)
    _check_rows(path, len(features))
    if not features:
        raise InvalidInput(f"{path.name} 没有数据行 holds no features.", field="file", value=path.name)
    props, problems = [], {}
    for no, feat in enumerate(features, start=1):
        row, problem = _feature_row(feat)
        props.append(row)
        if problem:
            problems[no] = problem
    raw = pd.DataFrame(props, index=pd.RangeIndex(1, len(props) + 1, name="row")).fillna("").astype(str)
    fields = _fields(raw.drop(columns=["_x", "_y"]), path, required=("ext_id",))
    fields["lon"], fields["lat"] = raw["_x"], raw["_y"]
    return Table(
        raw=raw.rename(columns={"_x": "geometry_x", "_y": "geometry_y"}),
        fields=fields,
        fmt="geojson",
        crs_in_file=crs_member(doc, path),
        default_crs="wgs84",  # RFC 7946: GeoJSON without a crs member is WGS 84 lon/lat
        problems=problems,
    )


def _feature_row(feat: Any) -> tuple[dict[str, Any], str | None]:
    """A feature's properties as text plus its point's x/y, or a reason the geometry is no point."""
    feat = feat if isinstance(feat, dict) else {}
    props = feat.get("properties") if isinstance(feat.get("properties"), dict) else {}
    row = {str(k): _json_cell(v) for k, v in props.items() if k not in ("_x", "_y")}
    geom = feat.get("geometry")
    coords = geom.get("coordinates") if isinstance(geom, dict) else None
    if (
        isinstance(geom, dict)
        and geom.get("type") == "Point"
        and isinstance(coords, list)
        and len(coords) >= 2
    ):
        row["_x"], row["_y"] = _json_cell(coords[0]), _json_cell(coords[1])
        return row, None
    row["_x"], row["_y"] = "", ""
    kind = geom.get("type") if isinstance(geom, dict) else None
    return row, f"几何不是点 geometry is {kind or 'missing'}, not a Point"


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
