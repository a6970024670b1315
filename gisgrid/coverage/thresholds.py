"""Walking thresholds of the 10-minute service circle: minutes × a walking speed, GB 50180-2018's life-circle
distances, or plain metres — parsed from one short text, so every result can say which threshold it used.

Walking speeds (presets):
- ``older`` 0.9 m/s — an older resident's pace. Knoblauch, Pietrucha & Nitzburg (1996), "Field studies of
  pedestrian walking speed and start-up time", Transportation Research Record 1538: 27–38: pedestrians aged 65+
  crossed at 1.25 m/s on average, 0.97 m/s at the 15th percentile; the authors recommend 0.91 m/s (3 ft/s) for
  design where older pedestrians are many. Bohannon & Andrews (2011), "Normal walking speed: a descriptive
  meta-analysis", Physiotherapy 97(3): 182–189: 0.94–0.97 m/s for people in their 80s.
- ``adult`` 1.3 m/s — an average adult's pace: Bohannon & Andrews (2011) give 1.34–1.43 m/s for ages 20–59;
  Knoblauch et al. (1996) 1.51 m/s mean, 1.25 m/s 15th percentile for younger pedestrians. 1.3 m/s is the
  rounded middle of these.

GB 50180-2018 (城市居住区规划设计标准), 2.0.2–2.0.4 and table 4.0.1: the 5-, 10- and 15-minute life circles are
set by walking distances of 300 m, 500 m and 800–1000 m. ``gb15`` takes 800 m, the lower end of the range: a
resident within it lies inside the 15-minute circle under either reading (``1000m`` gives the other one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gisgrid.errors import InvalidInput

SPEEDS_MPS: dict[str, float] = {"older": 0.9, "adult": 1.3}
GB50180_M: dict[str, float] = {"gb5": 300.0, "gb10": 500.0, "gb15": 800.0}
# Beyond this nobody walks to a neighbourhood service point; larger values are typing mistakes (5 km ≈ 90 min
# at an older resident's pace).
MAX_THRESHOLD_M = 5000.0
MAX_MINUTES = 90.0
SPEED_RANGE_MPS = (0.3, 3.0)
ACCEPTED = (
    "metres ('500m' or '500'), minutes at a walking speed ('10min', '10min@older', '10min@adult', "
    "'10min@1.1' m/s), or GB 50180-2018 life circles ('gb5' 300 m, 'gb10' 500 m, 'gb15' 800 m); "
    f"at most {MAX_THRESHOLD_M:.0f} m"
)
_METRES = re.compile(r"^(\d+(?:\.\d+)?)\s*m?$")
_MINUTES = re.compile(r"^(\d+(?:\.\d+)?)\s*min(?:@(\w+(?:\.\d+)?))?$")


@dataclass(frozen=True)
class Threshold:
    """A walking threshold: its distance in metres and how it was set (shown with every result)."""

    metres: float
    spec: str
    label: str
    minutes: float | None = None
    speed_mps: float | None = None
    source: str = "metres"  # metres | minutes | gb50180

    def as_dict(self) -> dict[str, object]:
        """The threshold as the API and the CLI show it."""
        return {
            "metres": round(self.metres, 1),
            "spec": self.spec,
            "label": self.label,
            "minutes": self.minutes,
            "speed_mps": self.speed_mps,
            "source": self.source,
        }


def speed(value: str, *, field: str = "speed") -> float:
    """A walking speed in m/s from a preset name (older, adult) or a number."""
    text = value.strip().lower()
    if text in SPEEDS_MPS:
        return SPEEDS_MPS[text]
    try:
        mps = float(text)
    except ValueError:
        mps = float("nan")
    low, high = SPEED_RANGE_MPS
    if not low <= mps <= high:
        raise InvalidInput(
            f"Unknown walking speed {value!r}.",
            field=field,
            value=value,
            expected=f"older ({SPEEDS_MPS['older']} m/s), adult ({SPEEDS_MPS['adult']} m/s) or a speed "
            f"between {low} and {high} m/s",
        )
    return mps


def _bad(spec: str, field: str, why: str = "") -> InvalidInput:
    return InvalidInput(f"Invalid threshold {spec!r}{why}.", field=field, value=spec, expected=ACCEPTED)


def parse(spec: str, *, default_speed: str = "older", field: str = "threshold") -> Threshold:
    """The threshold a text names; InvalidInput (naming the value and what is accepted) otherwise."""
    text = spec.strip().lower()
    if text in GB50180_M:
        metres = GB50180_M[text]
        minutes = float(text[2:])
        return Threshold(
            metres,
            text,
            f"GB 50180-2018 {minutes:.0f}-minute life circle: {metres:.0f} m",
            minutes=minutes,
            source="gb50180",
        )
    if m := _METRES.match(text):
        metres = float(m.group(1))
        _check_metres(metres, spec, field)
        return Threshold(metres, text, f"{metres:g} m")
    if m := _MINUTES.match(text):
        minutes = float(m.group(1))
        if not 0 < minutes <= MAX_MINUTES:
            raise _bad(spec, field, f": minutes must be > 0 and ≤ {MAX_MINUTES:g}")
        preset = m.group(2) or default_speed
        try:
            mps = speed(preset, field=field)
        except InvalidInput as exc:
            raise InvalidInput(
                f"Invalid threshold {spec!r}: unknown walking speed {preset!r}.",
                field=field,
                value=spec,
                expected=f"{exc.expected}, after '@'; or {ACCEPTED}",
            ) from None
        metres = minutes * 60 * mps
        _check_metres(metres, spec, field)
        name = preset if preset in SPEEDS_MPS else "custom"
        label = f"{minutes:g} min × {mps:g} m/s ({name}) = {metres:.0f} m"
        return Threshold(metres, text, label, minutes=minutes, speed_mps=mps, source="minutes")
    raise _bad(spec, field)


def _check_metres(metres: float, spec: str, field: str) -> None:
    if not 0 < metres <= MAX_THRESHOLD_M:
        raise _bad(spec, field, f": the distance must be > 0 and ≤ {MAX_THRESHOLD_M:.0f} m")
