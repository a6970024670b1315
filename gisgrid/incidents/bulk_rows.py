"""Per-row checks of a hotline export, vectorised: every bad row gets a reason (Chinese + English), the good
rows come out typed and in WGS 84. Nothing here touches the database except through the lookups passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyproj

from gisgrid.crs import to_wgs84_arrays
from gisgrid.incidents.bulk_read import Table
from gisgrid.incidents.checks import CHANNELS, CLOCK_SKEW
from gisgrid.io.source_crs import SourceCRS
from gisgrid.times import EARLIEST_YEAR, LATEST_YEAR, LOCAL_TZ

MAX_LEN = {"ext_id": 64, "title": 200, "description": 4000, "address": 300}
TITLE_FROM_DESCRIPTION = 40
DEFAULT_CHANNEL = "hotline"
CHANNEL_ALIASES = {
    "12345": "hotline",
    "12345热线": "hotline",
    "热线": "hotline",
    "市民热线": "hotline",
    "居民": "resident",
    "居民上报": "resident",
    "网格员": "patrol",
    "巡查": "patrol",
    "巡河": "river_patrol",
    "调度": "dispatcher",
    "地图": "map",
}
# An offset at the end of an ISO time (Z, +08:00, +0800); times without one are Beijing time.
OFFSET_RE = r"(?:Z|[+-]\d\d:?\d\d)$"


@dataclass(frozen=True)
class Categories:
    """Active categories: lookup by code, Chinese or English name (case-insensitive), and Chinese names."""

    lookup: dict[str, str]
    names: dict[str, str]


@dataclass
class Checked:
    """Good rows, typed (index: row number), and the reason of every bad row."""

    good: pd.DataFrame
    reasons: pd.Series


class Reasons:
    """The reasons collected per row; a row with any reason is bad."""

    def __init__(self, index: pd.Index) -> None:
        self.text = pd.Series("", index=index, dtype=object)

    def add(self, mask: pd.Series | np.ndarray, message: str | pd.Series) -> None:
        """Append `message` (text, or a Series of texts by row) to the rows where mask holds."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        part = message[mask] if isinstance(message, pd.Series) else message
        old = self.text[mask]
        self.text[mask] = old.where(old == "", old + "; ") + part

    @property
    def bad(self) -> np.ndarray:
        """Which rows have a reason."""
        return np.asarray(self.text != "")


def check_rows(table: Table, *, categories: Categories, source: SourceCRS, now: datetime) -> Checked:
    """Check every row of `table`; convert the good rows' coordinates from `source` to WGS 84."""
    f, reasons = table.fields, Reasons(table.fields.index)
    problems = pd.Series(table.problems, dtype=object)
    reasons.add(f.index.isin(problems.index), problems.reindex(f.index))
    ext_id = ext_ids(f["ext_id"], reasons)
    code = category_codes(f["category"], categories, reasons)
    x, y = pd.to_numeric(f["lon"], errors="coerce"), pd.to_numeric(f["lat"], errors="coerce")
    lon, lat = coordinates(
        f["lon"] == "", f["lat"] == "", x.to_numpy(float), y.to_numpy(float), source, reasons
    )
    at = report_times(f["reported_at"], now=now, reasons=reasons)
    channel = channels(f["channel"], reasons)
    texts = {k: _text(f[k], k, reasons) for k in ("title", "description", "address")}
    fallback = texts["description"].str.slice(0, TITLE_FROM_DESCRIPTION)
    title = texts["title"].where(texts["title"] != "", fallback)
    title = title.where(title != "", code.map(categories.names).fillna(""))
    good = pd.DataFrame(
        {
            "ext_id": ext_id,
            "category_code": code,
            "title": title,
            "description": texts["description"],
            "channel": channel,
            "address": texts["address"],
            "input_crs": source.label[:12],
            "input_lon": x,
            "input_lat": y,
            "lon": lon,
            "lat": lat,
            "reported_at": at,
        },
        index=f.index,
    )
    bad = reasons.bad
    return Checked(good=good.loc[~bad], reasons=reasons.text.loc[bad])


def _nul(values: pd.Series) -> pd.Series:
    return values.str.contains("\x00", regex=False)


def _text(values: pd.Series, name: str, reasons: Reasons) -> pd.Series:
    limit = MAX_LEN[name]
    reasons.add(values.str.len() > limit, f"{name}过长 {name} is longer than {limit} characters")
    reasons.add(_nul(values), f"{name}含有NUL字符 {name} holds a NUL character")
    return values


def ext_ids(values: pd.Series, reasons: Reasons) -> pd.Series:
    """The external ids: required, unique within the file (later repeats name the first row)."""
    reasons.add(values == "", "缺少工单编号 missing ext_id")
    _text(values, "ext_id", reasons)
    repeat = values.duplicated(keep="first") & (values != "")
    if repeat.any():
        first = pd.Series(values.index, index=values.values)
        first = first[~first.index.duplicated(keep="first")]
        rows = values[repeat].map(first).astype(str)
        message = "工单编号重复（首见第" + rows + "行） ext_id repeats the one of row " + rows
        reasons.add(repeat, message.reindex(values.index, fill_value=""))
    return values


def category_codes(values: pd.Series, categories: Categories, reasons: Reasons) -> pd.Series:
    """Category codes from codes or names; unknown or inactive ones are named."""
    codes = values.str.lower().map(categories.lookup)
    reasons.add(values == "", "缺少类别 missing category")
    unknown = codes.isna() & (values != "")
    reasons.add(unknown, "未知类别 unknown category '" + values + "'")
    return codes.fillna("")


def coordinates(
    no_lon: pd.Series, no_lat: pd.Series, x: np.ndarray, y: np.ndarray, source: SourceCRS, reasons: Reasons
) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 lon/lat of every row (NaN where bad) from x/y in `source`; a swapped pair is named."""
    missing = (no_lon | no_lat).to_numpy()
    reasons.add(missing, "缺少经纬度 missing lon/lat")
    numeric = ~missing & np.isfinite(x) & np.isfinite(y)
    reasons.add(~missing & ~numeric, "经纬度不是数字 lon/lat is not a number")
    lon, lat = np.full(len(x), np.nan), np.full(len(y), np.nan)
    if source.proj is not None:
        transformer = pyproj.Transformer.from_crs(source.proj, 4326, always_xy=True)
        lon[numeric], lat[numeric] = transformer.transform(x[numeric], y[numeric])
    else:
        _out_of_range(x, y, numeric, reasons)
        numeric &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
        lon[numeric], lat[numeric] = to_wgs84_arrays(x[numeric], y[numeric], source.kind)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore"):
        converted = numeric & ~(
            np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        )
    reasons.add(converted, f"坐标无法转换 cannot be converted from {source.label} to WGS 84 lon/lat")
    return lon, lat


def _out_of_range(x: np.ndarray, y: np.ndarray, numeric: np.ndarray, reasons: Reasons) -> None:
    with np.errstate(invalid="ignore"):
        outside = numeric & ((np.abs(x) > 180) | (np.abs(y) > 90))
        swapped = outside & (np.abs(x) <= 90) & (np.abs(y) > 90) & (np.abs(y) <= 180)
    reasons.add(outside & ~swapped, "经纬度超出范围 lon/lat out of range (lon -180..180, lat -90..90)")
    reasons.add(
        swapped,
        "经纬度超出范围，疑似经纬度颠倒 lon/lat out of range: latitude and longitude swapped? "
        "(Chengdu: lon ≈ 104, lat ≈ 30.6)",
    )


def report_times(values: pd.Series, *, now: datetime, reasons: Reasons) -> pd.Series:
    """UTC report times: ISO 8601 with an offset, or local Beijing time without one; none in the future."""
    text = values
    if text.str.contains("年", regex=False).any():  # 2024年5月1日 9:30
        text = text.str.replace(r"(\d+)年(\d+)月(\d+)日", r"\1-\2-\3", regex=True)
    aware = text.str.contains(OFFSET_RE, regex=True)
    at = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if aware.any():
        at[aware] = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
    if (~aware).any():
        local = pd.to_datetime(text[~aware], format="ISO8601", errors="coerce")
        local = local.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
        at[~aware] = local.dt.tz_convert("UTC")
    reasons.add(values == "", "缺少上报时间 missing reported_at")
    reasons.add(
        (values != "") & at.isna(),
        "时间格式错误 reported_at '" + values + "' is not a time (e.g. 2024-05-01 09:30 or ISO 8601)",
    )
    years = at.dt.year
    reasons.add(
        (years < EARLIEST_YEAR) | (years > LATEST_YEAR),
        f"时间超出范围 reported_at is not between {EARLIEST_YEAR} and {LATEST_YEAR}",
    )
    limit = pd.Timestamp(now + CLOCK_SKEW).tz_convert("UTC")
    reasons.add(at > limit, "上报时间在未来 reported_at is in the future")
    # A report up to CLOCK_SKEW ahead of our clock is taken as now (the same rule as single reports).
    return at.where(~(at > pd.Timestamp(now).tz_convert("UTC")), pd.Timestamp(now).tz_convert("UTC"))


def channels(values: pd.Series, reasons: Reasons) -> pd.Series:
    """Channel codes (Chinese names accepted, default hotline); unknown ones are named."""
    key = values.str.lower()
    known = {c: c for c in CHANNELS} | CHANNEL_ALIASES
    out = key.map(known)
    out = out.where(values != "", DEFAULT_CHANNEL)
    reasons.add(out.isna(), "未知渠道 unknown channel '" + values + "' (" + ", ".join(CHANNELS) + ")")
    return out.fillna("")
