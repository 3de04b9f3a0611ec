"""Check-ins and their evidence as rows: the check-in with its photos (attachments), where the
engineer was, the ticket's timeline entry, and the supervisor's acknowledgement it opens.

The chat side (collecting photos in a dialog, sending the supervisor the check-in with an
**Acknowledge** button) is :mod:`handlers.evidence`; here is only what is written, so the rules —
what counts as late, which site learns its coordinates, when the acknowledgement is due — hold
however a check-in arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Site
from models.enums import Channel, CheckinKind
from models.evidence import EvidenceRules, distance_m, exif_findings, parse_time
from models.people import Person
from models.tickets import Ticket
from models.transitions import record_event
from models.work import Acknowledgement, Attachment, Checkin

#: A check-in whose phone time is this much older than its arrival is shown with both times.
LATE_AFTER_SECONDS = 120


def is_late(client_at: datetime | None, server_at: datetime) -> bool:
    """Whether the phone's time says the message waited (an offline spell) before it reached us."""
    return client_at is not None and (server_at - client_at).total_seconds() > LATE_AFTER_SECONDS


def add_attachments(session: AsyncSession, photos: Iterable[dict[str, Any]], *, ticket_id: int, channel: Channel,
                    now: datetime, **owner: int) -> list[Attachment]:
    """One attachment row per stored photo (``{"file_ref", "path", "sha256", "size", "mime"}``, and
    ``as_file``, ``exif_lat``, ``exif_lon``, ``exif_taken_at`` when known), pointing at its
    ``owner`` (``checkin_id=``, ``complaint_id=`` or ``signoff_id=``).  Returns the rows."""
    rows = []
    for photo in photos:
        row = Attachment(ticket_id=ticket_id, channel=channel, file_ref=photo["file_ref"],
                         path=photo.get("path"), sha256=photo.get("sha256"), size=photo.get("size"),
                         mime=photo.get("mime"), created_at=now, as_file=bool(photo.get("as_file")),
                         exif_lat=photo.get("exif_lat"), exif_lon=photo.get("exif_lon"),
                         exif_taken_at=parse_time(photo.get("exif_taken_at")), **owner)
        session.add(row)
        rows.append(row)
    return rows


async def add_checkin(session: AsyncSession, ticket: Ticket, engineer: Person, kind: CheckinKind, *,
                      text: str | None, photos: list[dict[str, Any]], location: tuple[float, float] | None,
                      client_at: datetime | None, channel: Channel, now: datetime, live: bool = False,
                      rules: EvidenceRules | None = None) -> Checkin:
    """Store a check-in with its photos and put it on the ticket's timeline.

    A location also becomes the engineer's last known place.  Against the site (the geofence,
    :mod:`models.evidence`): a site with coordinates gets the distance, and an arrival farther than
    ``rules.geofence_m`` is *off site* (stored, flagged); the first arrival on a site without
    coordinates gives the site its coordinates (registration rarely knows them; dispatch
    suggestions rank engineers by distance to it from then on) and the check-in says so.  The
    photos' EXIF is compared with the reported place and time.  All of it lands in the timeline
    entry's details, which the timeline, the supervisor's message and the report read.
    """
    rules = rules or EvidenceRules()
    checkin = Checkin(ticket_id=ticket.id, engineer_id=engineer.id, kind=kind, text=text or None,
                      lat=location[0] if location else None, lon=location[1] if location else None,
                      client_at=client_at, server_at=now,
                      location_source=("live" if live else "pin") if location else None,
                      off_site=False, site_located=False)
    session.add(checkin)
    await session.flush()
    add_attachments(session, photos, ticket_id=ticket.id, channel=channel, now=now, checkin_id=checkin.id)
    details: dict[str, Any] = {"checkin_id": checkin.id, "photos": len(photos)}
    if location:
        engineer.last_lat, engineer.last_lon, engineer.last_located_at = location[0], location[1], now
        site = await session.get(Site, ticket.site_id) if ticket.site_id is not None else None
        if site is not None and site.lat is not None and site.lon is not None:
            checkin.distance_m = distance_m(location, (site.lat, site.lon))
            checkin.off_site = kind is CheckinKind.ARRIVAL and checkin.distance_m > rules.geofence_m
            details["distance_m"] = round(checkin.distance_m)
        elif site is not None and kind is CheckinKind.ARRIVAL:
            site.lat, site.lon = location
            checkin.site_located = True
        if live:
            details["live"] = 1
        if checkin.off_site:
            details["off_site"] = 1
        if checkin.site_located:
            details["site_located"] = 1
    details.update(exif_findings(photos, location, client_at or now, rules))
    if is_late(client_at, now):
        details["client_at"] = client_at.isoformat()
    record_event(session, ticket, f"checkin_{kind.value}", now=now, actor_id=engineer.id, **details)
    return checkin


async def record_stamped(session: AsyncSession, attachment_id: int, path: str, sha256: str) -> None:
    """Note the stamped copy made for an attachment (:mod:`handlers.stamp`), once: one small
    conditional UPDATE (a copy made again later is the same file)."""
    await session.execute(update(Attachment).where(Attachment.id == attachment_id,
                                                   Attachment.stamped_path.is_(None))
                          .values(stamped_path=path, stamped_sha256=sha256))


def open_acknowledgement(session: AsyncSession, checkin: Checkin, supervisor_id: int, *, now: datetime,
                         due_after: timedelta) -> Acknowledgement:
    """The supervisor's answer the check-in waits for (需收到上司回复), chased from ``due_after`` on."""
    ack = Acknowledgement(checkin_id=checkin.id, supervisor_id=supervisor_id, due_at=now + due_after,
                          next_reminder_at=now + due_after, created_at=now)
    session.add(ack)
    return ack
