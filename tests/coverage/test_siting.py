"""Siting (maximal covering location) and what-ifs on the demo set, against independent answers: a brute force
over every pair of candidates, and a full recomputation after the same change is written to the database."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.coverage import siting, summary
from gisgrid.coverage.compute import Coverage, compute
from gisgrid.coverage.thresholds import parse
from gisgrid.crs import wgs84_to_gcj02
from tests.conftest import bearer

SRID = 4544


def _cov(session: Session, spec: str = "gb5") -> Coverage:
    return compute(session, threshold=parse(spec), srid=SRID)


def _uncovered_points(cov: Coverage, n: int) -> list[siting.Candidate]:
    """n uncovered buildings' points, spread over the list (largest households first within each slice)."""
    gap = cov.buildings[~cov.buildings["walk_any_m"].le(cov.threshold.metres)]
    picks = gap.iloc[np.linspace(0, len(gap) - 1, n).astype(int)]
    return [
        siting.Candidate(f"T{i}", f"t{i}", float(r.lon), float(r.lat), "given")
        for i, r in enumerate(picks.itertuples())
    ]


def test_siting_is_optimal_against_a_brute_force_and_its_gain_is_real(session: Session) -> None:
    cov = _cov(session)
    cands = _uncovered_points(cov, 6)
    best = siting.recommend(session, cov, k=2, candidates=cands, against="any", srid=SRID)
    assert best["solver"]["status"] == "optimal"
    brute = max(
        siting.recommend(session, cov, k=2, candidates=list(pair), against="any", srid=SRID)[
            "newly_covered_households"
        ]
        for pair in itertools.combinations(cands, 2)
    )
    assert best["newly_covered_households"] == brute > 0
    recs = best["recommendations"]
    assert sum(r["gain_households"] for r in recs) == best["newly_covered_households"]
    assert recs == sorted(recs, key=lambda r: -r["gain_households"]) and all(r["micro_codes"] for r in recs)
    assert (
        best["uncovered_households_after"]
        == best["uncovered_households_before"] - best["newly_covered_households"]
    )
    # Opening outposts there (the what-if path: a full nearest-site recount) covers exactly that many more.
    scenario = siting.Scenario(open=tuple(("outpost", r["name"], r["lon"], r["lat"]) for r in recs))
    after = siting.what_if(session, cov, scenario, level="community", srid=SRID)
    assert after["change"] == best["newly_covered_households"]


def test_default_candidates_are_compounds_without_an_outpost(session: Session) -> None:
    cands = siting.compound_candidates(session)
    with_outpost = set(
        session.execute(
            text(
                "SELECT c.ext_id FROM compound c JOIN service_site s ON s.kind = 'outpost' "
                "AND (s.compound_id = c.id OR ST_Covers(c.geom, s.geom))"
            )
        ).scalars()
    )
    keys = {c.key for c in cands}
    assert with_outpost and not keys & with_outpost
    total = session.execute(text("SELECT count(*) FROM compound")).scalar_one()
    assert len(keys) == total - len(with_outpost)
    cov = _cov(session, "10min")
    # Every household is within 10 minutes of some site, but not of an outpost: outposts are recommended.
    none_left = siting.recommend(session, cov, k=2, candidates=cands, against="any", srid=SRID)
    assert none_left["uncovered_households_before"] == 0 and none_left["recommendations"] == []
    outposts = siting.recommend(session, cov, k=2, candidates=cands, against="outpost", srid=SRID)
    assert outposts["uncovered_households_before"] > 0 and outposts["newly_covered_households"] > 0
    assert {r["key"] for r in outposts["recommendations"]} <= keys


def _units(cov: Coverage, level: str) -> dict[str, dict[str, int]]:
    return {
        u["code"]: {k: u["network"][k]["households"] for k in summary.FIGURE_KINDS}
        for u in summary.per_level(cov, level=level)
    }


def test_what_if_equals_a_full_recount_after_the_same_change(session: Session) -> None:
    cov = _cov(session, "gb10")
    ext, moved = "S002", cov.sites.set_index("ext_id").loc["S003"]
    # Close S002, move S003 300 m east, open a community site near the first uncovered building.
    target = _uncovered_points(cov, 1)[0] if (~cov.buildings["walk_any_m"].le(500)).any() else None
    new_lon = float(moved.lon) + 0.0031
    opens = () if target is None else (("community", "新站", target.lon, target.lat),)
    scenario = siting.Scenario(close=(ext,), move=(("S003", new_lon, float(moved.lat)),), open=opens)
    answer = siting.what_if(session, cov, scenario, level="micro", srid=SRID)
    before = _units(cov, "micro")

    session.execute(text("DELETE FROM service_site WHERE ext_id = :e"), {"e": ext})
    session.execute(
        text(
            "UPDATE service_site SET geom = ST_SetSRID(ST_MakePoint(:lon, ST_Y(geom)), 4326) WHERE ext_id = 'S003'"
        ),
        {"lon": new_lon},
    )
    for kind, name, lon, lat in opens:
        session.execute(
            text(
                "INSERT INTO service_site (ext_id, kind, name, geom) "
                "VALUES ('T-NEW', :k, :n, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
            ),
            {"k": kind, "n": name, "lon": lon, "lat": lat},
        )
    after = _units(_cov(session, "gb10"), "micro")
    changed = {code for code in before if before[code] != after[code]}
    assert changed, "the scenario changes some unit's figures"
    assert {u["code"] for u in answer["units"]} == changed
    for unit in answer["units"]:
        code = unit["code"]
        assert unit["covered_after"] == after[code]["any"], unit
        assert unit["change"] == {k: after[code][k] - before[code][k] for k in summary.FIGURE_KINDS}, unit
    assert answer["covered_households_after"] - answer["covered_households_before"] == answer["change"]
    assert answer["change"] == sum(a["any"] for a in after.values()) - sum(b["any"] for b in before.values())


def _post(client: TestClient, session: Session, url: str, body: dict[str, Any], user: str = "auditor") -> Any:
    return client.post(url, json=body, headers={"Authorization": bearer(session, client, user)})


def _collection(points: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": f"<b>点{i}</b>"},
                "geometry": {"type": "Point", "coordinates": p},
            }
            for i, p in enumerate(points)
        ],
    }


def test_siting_and_what_if_api(client: TestClient, session: Session) -> None:
    cov = _cov(session)
    cands = _uncovered_points(cov, 3)
    wgs = [(c.lon, c.lat) for c in cands]
    res = _post(
        client, session, "/api/coverage/siting", {"k": 1, "threshold": "gb5", "candidates": _collection(wgs)}
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["threshold"]["metres"] == 300 and len(body["recommendations"]) == 1
    rec = body["recommendations"][0]
    assert rec["source"] == "given" and rec["name"].startswith("<b>点")
    # The same points sent in GCJ-02 give the same answer (converted at the edge).
    gx, gy = wgs84_to_gcj02(np.array([p[0] for p in wgs]), np.array([p[1] for p in wgs]))
    gcj = _post(
        client,
        session,
        "/api/coverage/siting",
        {
            "k": 1,
            "threshold": "gb5",
            "crs": "gcj02",
            "candidates": _collection(list(zip(gx, gy, strict=True))),
        },
    ).json()
    assert gcj["recommendations"][0]["key"] == rec["key"]
    assert abs(gcj["recommendations"][0]["lon"] - rec["lon"]) < 1e-6

    res = _post(
        client,
        session,
        "/api/coverage/what-if",
        {"threshold": "gb10", "level": "community", "close": ["S001"]},
    )
    assert res.status_code == 200, res.text
    assert res.json()["scenario"]["close"] == ["S001"]
    assert (
        _post(client, session, "/api/coverage/what-if", {"close": ["S001"]}, "dispatcher").status_code == 403
    )


def test_siting_and_what_if_bad_input(client: TestClient, session: Session) -> None:
    empty = {"type": "FeatureCollection", "features": []}
    line = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[104.1, 30.6], [104.2, 30.7]]},
            }
        ],
    }
    far = _collection([(200.0, 30.6)])
    for url, body, field in (
        ("/api/coverage/siting", {"k": 1, "candidates": empty}, "candidates.features"),
        ("/api/coverage/siting", {"k": 1, "candidates": line}, "candidates.features[0].geometry"),
        ("/api/coverage/siting", {"k": 1, "candidates": far}, "candidates.features[0].geometry.coordinates"),
        ("/api/coverage/siting", {"k": 1, "crs": "mars", "candidates": _collection([(104.1, 30.6)])}, "crs"),
        ("/api/coverage/what-if", {"close": ["S999"]}, "close"),
        ("/api/coverage/what-if", {}, "close"),
        ("/api/coverage/what-if", {"open": [{"kind": "outpost", "lon": 104.1, "lat": 95}]}, "open[0]"),
    ):
        res = _post(client, session, url, body)
        assert res.status_code == 422, (body, res.text)
        err = res.json()["error"]
        assert err["field"] == field and err["expected"], (body, err)
    res = _post(client, session, "/api/coverage/siting", {"k": 0})
    assert res.status_code == 422 and "k" in res.text
