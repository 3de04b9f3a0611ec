"""Human-readable durations: ``"90s"``, ``"30m"``, ``"4h"``, ``"3d"`` (and combinations like ``"1h30m"``).

Every duration in the config is written this way so a test or a demo can squeeze a day of chasing
into seconds by editing one file, and nobody has to guess whether ``3600`` meant seconds or minutes.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+[smhdw])+$")


class DurationError(ValueError):
    """The text is not a duration; the message tells how to write one."""


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"`` / ``"30m"`` / ``"4h"`` / ``"3d"`` / ``"2w"`` / ``"1h30m"`` into a timedelta."""
    if not isinstance(text, str):
        raise DurationError(f"{text!r} is not a duration; write e.g. \"4h\"")
    compact = text.strip().lower()
    if not compact or not _WHOLE.match(compact):
        raise DurationError(f'"{text}" is not a duration; write e.g. "4h"')
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`, for printing config back (``1h30m``)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return sign + "".join(out)
