"""Input checks shared by the incident services: texts, times, versions, categories."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisgrid.db.models import Incident, IncidentCategory
from gisgrid.errors import Conflict, InvalidInput
from gisgrid.times import aware

CHANNELS = ("patrol", "resident", "hotline", "river_patrol", "dispatcher", "map")
# The channel an incident has when none is given: what the reporting role usually is.
DEFAULT_CHANNEL = {"grid_worker": "patrol", "patrol": "river_patrol"}
# Clocks of phones and servers differ: a report up to this far "in the future" is taken as now.
CLOCK_SKEW = timedelta(minutes=2)


def text(value: str | None, *, field: str, max_len: int, required: bool = False) -> str | None:
    """A trimmed text, or InvalidInput when missing (if required), too long or holding a NUL character."""
    cleaned = value.strip() if value is not None else None
    if not cleaned:
        if required:
            raise InvalidInput(f"{field} 不能为空 is required.", field=field, expected="a non-empty text")
        return None
    if len(cleaned) > max_len or "\x00" in cleaned:
        raise InvalidInput(
            f"{field} 内容无效 is too long or holds a NUL character.",
            field=field,
            value=cleaned[:40],
            expected=f"at most {max_len} characters, no NUL",
        )
    return cleaned


def reported_time(value: datetime | None, *, now: datetime) -> datetime:
    """When an incident was reported: `now` by default, never in the future."""
    at = aware(value, field="reported_at")
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise InvalidInput(
            "上报时间不能在未来 reported_at is in the future.",
            field="reported_at",
            value=at.isoformat(),
            expected=f"a time not after now ({now.isoformat(timespec='seconds')})",
        )
    return min(at, now)


def channel(value: str | None, *, role: str) -> str:
    """The reporting channel (default by role), or InvalidInput listing the channels."""
    chosen = value or DEFAULT_CHANNEL.get(role, "dispatcher")
    if chosen not in CHANNELS:
        raise InvalidInput(
            f"未知渠道 Unknown channel {value!r}.", field="channel", value=value, expected=", ".join(CHANNELS)
        )
    return chosen


def category(session: Session, code: str | None, *, field: str = "category_code") -> IncidentCategory:
    """An active category, or InvalidInput (on `field`) listing the valid codes."""
    found = session.get(IncidentCategory, code) if code and "\x00" not in code else None
    if found is None or not found.active:
        valid = session.scalars(
            select(IncidentCategory.code).where(IncidentCategory.active).order_by(IncidentCategory.code)
        ).all()
        raise InvalidInput(
            f"未知或停用的类别 Unknown or inactive category {code!r}.",
            field=field,
            value=code,
            expected="one of: " + ", ".join(valid),
            details={"valid": list(valid)},
        )
    return found


def version(inc: Incident, expected: int | None) -> None:
    """InvalidInput without a version, Conflict (with the current one) when it is stale."""
    if expected is None:
        raise InvalidInput(
            "需要版本号 The incident's version is required (If-Match header or `version`).",
            field="If-Match",
            expected=f'"{inc.version}" (the version you saw)',
        )
    if expected != inc.version:
        raise Conflict(
            f"事件已被他人修改 Incident {inc.id} was changed by someone else (version {inc.version}, yours "
            f"{expected}).",
            field="version",
            value=expected,
            expected=f"{inc.version}: reload and try again",
            details={"current_version": inc.version},
        )


def attachments(names: list[str] | None) -> list[str]:
    """Attachment file names (names only: no file is stored)."""
    out = []
    for name in names or []:
        cleaned = text(name, field="attachments", max_len=200, required=True) or ""
        if "/" in cleaned or "\\" in cleaned:
            raise InvalidInput(
                f"附件名无效 {cleaned!r} is not a file name.",
                field="attachments",
                value=cleaned,
                expected="a bare file name such as 现场照片1.jpg (no folders)",
            )
        out.append(cleaned)
    if len(out) > 20:
        raise InvalidInput("附件太多 Too many attachments.", field="attachments", expected="at most 20")
    return out
