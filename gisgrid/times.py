"""Times given by callers: always with a UTC offset (a naive time is refused, never guessed), within range."""

from __future__ import annotations

from datetime import datetime

from gisgrid.errors import InvalidInput

EARLIEST_YEAR, LATEST_YEAR = 1990, 2100
# Where the grids are: local dates (statistics per day/week/month, naive times in hotline exports) are Beijing
# time, which has no daylight saving.
LOCAL_TZ = "Asia/Shanghai"


def aware(value: datetime | None, *, field: str) -> datetime | None:
    """A time with a UTC offset between 1990 and 2100 (a naive time is refused, never guessed)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{field} 缺少时区 has no UTC offset.",
            field=field,
            value=value.isoformat(),
            expected="an ISO time with offset, e.g. 2024-05-01T09:30:00+08:00",
        )
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise InvalidInput(
            f"{field} 时间超出范围 is out of range.",
            field=field,
            value=value.isoformat(),
            expected=f"a time between {EARLIEST_YEAR} and {LATEST_YEAR}",
        )
    return value
