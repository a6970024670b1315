"""Walking thresholds: minutes × speed presets, GB 50180-2018 distances, metres; bad ones named."""

from __future__ import annotations

import pytest

from gisgrid.coverage.thresholds import parse
from gisgrid.errors import InvalidInput


def test_minutes_use_the_speed_presets() -> None:
    assert parse("10min").metres == pytest.approx(540)  # older resident, 0.9 m/s (the default)
    assert parse("10min@adult").metres == pytest.approx(780)
    assert parse("10min", default_speed="adult").metres == pytest.approx(780)
    assert parse("5min@1.1").metres == pytest.approx(330)
    assert "older" in parse("10min").label


def test_gb50180_life_circles_and_metres() -> None:
    assert [parse(s).metres for s in ("gb5", "gb10", "gb15")] == [300, 500, 800]
    assert parse("gb10").source == "gb50180"
    assert parse("1000m").metres == parse("1000").metres == 1000


@pytest.mark.parametrize(
    "spec", ["0", "0m", "-5m", "99999m", "0min", "600min", "10min@fast", "ten", "10min@9"]
)
def test_bad_thresholds_name_the_value_and_what_is_accepted(spec: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse(spec)
    assert err.value.value == spec
    assert err.value.expected
