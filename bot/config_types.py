"""The value types and the section base every config section uses: durations (``"90s"``, ``"4h"``),
working-hours ranges (``"08:30-22:00"``, ``"off"``), times of day, and a section that refuses
unknown keys and validates on assignment too."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from bot.durations import DurationError, parse_duration


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]

_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _hours(value: Any) -> tuple[time, time] | None:
    """``"08:30-22:00"`` → (08:30, 22:00); ``"off"`` or ``""`` → not a working day."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off")):
        return None
    if isinstance(value, tuple):
        return value
    m = _RANGE.match(str(value).strip())
    bad = PydanticCustomError(
        "hours", '"{value}" is not a time range; write e.g. "08:30-22:00" or "off"', {"value": value}
    )
    if not m:
        raise bad
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise bad
    start = time(h1, m1)
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise PydanticCustomError(
            "hours", '"{value}": the end must be after the start', {"value": value}
        )
    return (start, end)


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    m = re.match(r"^(\d{2}):(\d{2})$", str(value).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise PydanticCustomError("clock", '"{value}" is not a time of day; write e.g. "18:00"', {"value": value})
    return time(int(m.group(1)), int(m.group(2)))


_DISTANCE = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|km)$")


def _distance(value: Any) -> float:
    """``"500m"``, ``"1.5km"`` → metres (a bare number is refused: the unit is part of the value)."""
    if isinstance(value, float) and not isinstance(value, bool):
        return value
    m = _DISTANCE.match(str(value).strip().lower())
    if not m or float(m.group(1)) <= 0:
        raise PydanticCustomError("distance", '"{value}" is not a distance; write e.g. "500m" or "1.5km"',
                                  {"value": value})
    return float(m.group(1)) * (1000 if m.group(2) == "km" else 1)


Hours = Annotated[tuple[time, time] | None, BeforeValidator(_hours)]
#: A distance in config, in metres: ``"500m"``, ``"2km"``.
Distance = Annotated[float, BeforeValidator(_distance)]
ClockTime = Annotated[time, BeforeValidator(_clock)]


class Section(BaseModel):
    """Base for every section: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


