"""The incident list as a CSV file for Excel: the same filters and visibility as the list, one row per incident,
times in Beijing time, coordinates in WGS 84, headers in Chinese (or English)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gisgrid.files.csvsafe import neutralise
from gisgrid.incidents import workflow
from gisgrid.times import LOCAL_TZ

BEIJING = ZoneInfo(LOCAL_TZ)
MAX_ROWS = 20_000
CHANNEL_ZH = {  # as the dispatcher page names them
    "patrol": "网格员巡查",
    "resident": "居民反映",
    "hotline": "12345 热线",
    "river_patrol": "巡河",
    "dispatcher": "调度中心",
    "map": "地图上报",
}
COLOUR_ZH = {"green": "正常", "yellow": "黄灯（将超时）", "red": "红灯（已超时）", "none": "无时限"}


def _local(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else ""


def _zh(label: str) -> str:
    return label.split(" ", 1)[0]


# (English header, Chinese header, value of a list item `i`; statuses, levels and deadline colours are words in
# the header's language)
COLUMNS: tuple[tuple[str, str, Callable[[dict[str, Any], bool], Any]], ...] = (
    ("id", "编号", lambda i, zh: i["id"]),
    ("ext_id", "工单编号", lambda i, zh: i["ext_id"] or ""),
    ("title", "标题", lambda i, zh: i["title"]),
    ("category", "类别", lambda i, zh: i["category"]["name"] if zh else i["category"]["name_en"]),
    ("category_code", "类别编码", lambda i, zh: i["category"]["code"]),
    ("status", "状态", lambda i, zh: _zh(workflow.STATUS_LABELS[i["status"]]) if zh else i["status"]),
    ("level", "办理层级", lambda i, zh: _zh(workflow.LEVEL_LABELS[i["level"]]) if zh else i["level"]),
    ("department", "部门", lambda i, zh: i["department"] or ""),
    ("community_code", "社区编码", lambda i, zh: i["grid"]["community_code"] or ""),
    ("general_code", "网格编码", lambda i, zh: i["grid"]["general_code"] or ""),
    ("micro_code", "微网格编码", lambda i, zh: i["grid"]["micro_code"] or ""),
    ("micro_name", "微网格", lambda i, zh: i["grid"]["micro_name"] or ""),
    ("reported_at", "上报时间", lambda i, zh: _local(i["reported_at"])),
    ("step_due_at", "本环节时限", lambda i, zh: _local(i["step"]["due_at"])),
    (
        "deadline",
        "时限状态",
        lambda i, zh: COLOUR_ZH[i["step"]["colour"] or "none"] if zh else i["step"]["colour"] or "none",
    ),
    ("dispatched_at", "派遣时间", lambda i, zh: _local(i["dispatched_at"])),
    ("closed_at", "结案时间", lambda i, zh: _local(i["closed_at"])),
    ("channel", "来源", lambda i, zh: CHANNEL_ZH.get(i["channel"], i["channel"]) if zh else i["channel"]),
    ("lon", "经度(WGS84)", lambda i, zh: i["location"]["lon"]),
    ("lat", "纬度(WGS84)", lambda i, zh: i["location"]["lat"]),
)


def to_csv(items: list[dict[str, Any]], *, lang: str = "zh") -> str:
    """The list items as CSV text with a BOM (Excel reads it as UTF-8), the header in `lang`."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    chinese = lang == "zh"
    writer.writerow(zh if chinese else en for en, zh, _ in COLUMNS)
    for item in items:
        writer.writerow(neutralise(value(item, chinese)) for _, _, value in COLUMNS)
    return out.getvalue()
