"""The coverage-audit report: made by a job from the API and downloaded, read back with poppler (pdftotext,
pdfinfo, pdftoppm) and checked against the API's own figures; the HTML's names are text; bad requests refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.config import CoverageSettings
from gisgrid.coverage import report
from tests.conftest import login, wait_for_job

PAYLOAD = '<img src=x onerror="alert(1)">'


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert match, info
    return int(match.group(1))


def test_report_job_pdf_matches_the_api(jobs_client: TestClient, tmp_path: Path) -> None:
    headers = login(jobs_client, "auditor")
    res = jobs_client.post("/api/coverage/reports", json={"threshold": "gb5"}, headers=headers)
    assert res.status_code == 202, res.text
    job = wait_for_job(jobs_client, res.json()["id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    summary = jobs_client.get("/api/coverage/summary?threshold=gb5").json()["totals"]
    assert result["households"] == summary["households"]
    assert result["covered_households"] == summary["network"]["any"]["households"]
    assert result["uncovered_households"] == summary["uncovered_households"] > 0

    pdf = jobs_client.get(result["download"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf.content)
    body = _pdf_text(path)
    for figure in (
        summary["households"],
        summary["network"]["any"]["households"],
        summary["uncovered_households"],
        summary["straight_line"]["any"]["households"],
    ):
        assert f"{figure:,}" in body, figure
    assert "300 m" in body and "选址建议" in body and "方法与来源" in body
    assert _pages(path) >= 5
    # The map page, rendered: micro-grids shaded (green: all covered, red: under half) and uncovered buildings.
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "3", "-l", "3", str(path), str(tmp_path / "p")], check=True
    )
    (png,) = tmp_path.glob("p*.png")
    colours = {c for _, c in Image.open(png).convert("RGB").getcolors(1 << 24) or []}
    assert {(0x78, 0xC6, 0x79), (0x67, 0x00, 0x0D)} <= colours

    # Someone else cannot download it; a job still running or of another kind is no report either.
    jobs_client.cookies.clear()
    login(jobs_client, "planner")
    assert jobs_client.get(result["download"]).status_code == 404


def test_html_report_shows_names_as_text(session: Session) -> None:
    session.execute(
        text(
            "UPDATE grid_unit SET name = :p WHERE level = 'general' AND valid_to IS NULL AND code = "
            "(SELECT min(code) FROM grid_unit WHERE level = 'general' AND valid_to IS NULL)"
        ),
        {"p": PAYLOAD},
    )
    data = report.build(session, threshold="gb5", settings=CoverageSettings(), srid=4544)
    html = report.render_html(data)
    assert PAYLOAD not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_report_bad_requests(client: TestClient, session: Session) -> None:
    from tests.conftest import bearer

    def post(body: dict[str, object], user: str = "auditor") -> Any:
        return client.post(
            "/api/coverage/reports", json=body, headers={"Authorization": bearer(session, client, user)}
        )

    res = post({"threshold": "-5"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "threshold"
    res = post({"community": "999"})
    assert res.status_code == 404 and res.json()["error"]["value"] == "999"
    res = post({"format": "docx"})
    assert res.status_code == 422
    # A planner scoped to 莲花社区 may not report on another community.
    other = session.execute(
        text(
            "SELECT code FROM grid_unit WHERE level = 'community' AND valid_to IS NULL AND name NOT LIKE '莲花%' LIMIT 1"
        )
    ).scalar_one()
    res = post({"community": other}, "planner_lh")
    assert res.status_code == 403 and res.json()["error"]["field"] == "community"
    assert post({}, "dispatcher").status_code == 403
    res = client.get(
        "/api/coverage/reports/999999/file", headers={"Authorization": bearer(session, client, "auditor")}
    )
    assert res.status_code == 404
