"""The rules that make a check-in evidence a supervisor can trust (issue 15), as pure functions:
how far the engineer was from the site (the geofence), and whether a photo's own EXIF — the
camera's GPS and capture time, kept when the photo was sent as a file — agrees with the place and
time the engineer reported.

Nothing is ever rejected for these: an arrival 1,042 km from the site, or a photo taken
yesterday, is stored like any other and *flagged* (to the supervisor, on the timeline, in the
monthly report) — the supervisor decides; the engineer may have good reasons (a site moved, a
wrong address at registration, no signal until the evening).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.suggest import haversine_km


@dataclass(frozen=True)
class EvidenceRules:
    """``geofence_m``: an arrival farther than this from the site's known place is off site;
    a photo's EXIF GPS farther than this from the reported place is flagged.  ``exif_max_age``:
    a photo taken this much before the check-in (by its EXIF capture time) is flagged."""

    geofence_m: float = 500.0
    exif_max_age: timedelta = timedelta(hours=3)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres, to a decimetre (stored and drawn the same every time)."""
    return round(haversine_km(a[0], a[1], b[0], b[1]) * 1000, 1)


def parse_time(value: str | None) -> datetime | None:
    """An ISO time from a dialog's data (UTC when it carries no zone)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def exif_findings(photos: Iterable[dict[str, Any]], reported: tuple[float, float] | None,
                  reference: datetime, rules: EvidenceRules) -> dict[str, Any]:
    """What the photos' EXIF says against the report, as timeline details: ``exif_far_m`` (the
    farthest camera GPS from ``reported``, when beyond the geofence) and ``exif_taken_at`` (the
    earliest capture time, when more than ``exif_max_age`` before ``reference`` — the phone's
    time of the check-in, else the server's)."""
    far = 0.0
    oldest: datetime | None = None
    for photo in photos:
        lat, lon = photo.get("exif_lat"), photo.get("exif_lon")
        if reported is not None and lat is not None and lon is not None:
            far = max(far, distance_m(reported, (lat, lon)))
        taken = parse_time(photo.get("exif_taken_at"))
        if taken is not None and reference - taken > rules.exif_max_age and (oldest is None or taken < oldest):
            oldest = taken
    out: dict[str, Any] = {}
    if far > rules.geofence_m:
        out["exif_far_m"] = round(far)
    if oldest is not None:
        out["exif_taken_at"] = oldest.astimezone(UTC).isoformat()
    return out
