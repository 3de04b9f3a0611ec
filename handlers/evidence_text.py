"""The evidence flags in words: the lines under a check-in the supervisor gets (live location,
distance to the site or *off site*, the site's place taken from this arrival, the photo's EXIF
disagreeing, late evidence) and the same as notes on the check-in's timeline sentence.

Read from the check-in's columns (:class:`models.work.Checkin`) and the timeline entry's details
(:func:`models.checkins.add_checkin`), so the supervisor, the timeline and the report say the
same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from handlers.i18n import t
from handlers.messages import L, Raw
from handlers.times import date_time as local_time
from models.checkins import is_late
from models.evidence import parse_time
from models.work import Checkin


def distance_text(lang: str, metres: float) -> str:
    """``350 m`` / ``4.2 km`` / ``1,042 km`` (``350 米`` / ``4.2 公里`` / ``1,042 公里``)."""
    if metres < 1000:
        return t(lang, "evidence.metres", n=f"{metres:,.0f}")
    km = metres / 1000
    return t(lang, "evidence.km", n=f"{km:.1f}" if km < 10 else f"{km:,.0f}")


@dataclass(frozen=True)
class Distance:
    """A distance in metres, worded in the reader's language (``1,042 km`` / ``1,042 公里``)."""

    metres: float

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return distance_text(lang, self.metres)


def evidence_lines(checkin: Checkin, findings: dict[str, Any], tz: tzinfo) -> list[L]:
    """The flag lines under a check-in for the supervisor (``findings``: the EXIF flags,
    :func:`models.evidence.exif_findings`)."""
    out: list[L] = []
    if checkin.location_source == "live":
        out.append(L("evidence.live"))
    if checkin.distance_m is not None:
        key = "evidence.off_site" if checkin.off_site else "evidence.distance"
        out.append(L(key, {"distance": Distance(checkin.distance_m)}))
    if checkin.site_located:
        out.append(L("evidence.site_located"))
    if findings.get("exif_far_m") is not None:
        out.append(L("evidence.exif_far", {"distance": Distance(findings["exif_far_m"])}))
    taken = parse_time(findings.get("exif_taken_at"))
    if taken is not None:
        out.append(L("evidence.exif_old", {"time": Raw(local_time(taken, tz))}))
    if is_late(checkin.client_at, checkin.server_at):
        out.append(L("evidence.late", {"client": Raw(local_time(checkin.client_at, tz)),
                                       "server": Raw(local_time(checkin.server_at, tz))}))
    return out


def timeline_notes(lang: str, details: dict[str, Any], tz: tzinfo | None) -> str:
    """What a check-in's timeline sentence adds: ``, off site: 1,042 km from the site (live
    location); sent from the phone at 09:40``."""
    out = ""
    if details.get("distance_m") is not None:
        key = "evidence.tl_off_site" if details.get("off_site") else "evidence.tl_distance"
        out += t(lang, key, distance=distance_text(lang, float(details["distance_m"])))
    if details.get("site_located"):
        out += t(lang, "evidence.tl_site_located")
    if details.get("live"):
        out += t(lang, "evidence.tl_live")
    if details.get("exif_far_m") is not None:
        out += t(lang, "evidence.tl_exif_far", distance=distance_text(lang, float(details["exif_far_m"])))
    for key, note in (("exif_taken_at", "evidence.tl_exif_old"), ("client_at", "evidence.tl_late")):
        moment = parse_time(details.get(key)) if isinstance(details.get(key), str) else None
        if moment is not None:
            out += t(lang, note, time=local_time(moment, tz) if tz else moment.isoformat(timespec="minutes"))
    return out
