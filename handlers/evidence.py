"""Photos and check-ins from the chat side: the photos of an update as stored (kept in a dialog's
data until its last step), and a check-in recorded and sent to the supervisor with an
**Acknowledge** button.  The rows themselves are :mod:`models.checkins`'.

Evidence (issue 15): a photo that is not a usable image is refused here, from what the media
store found when it was downloaded (:mod:`handlers.photo_check`: no image work happens in the
transaction); its EXIF place and capture time travel with it.  The supervisor gets each photo as
its *stamped copy* (:mod:`handlers.stamp`), made after the commit by the outbox sender from the
spec put in the message; the geofence and EXIF flags come with the check-in's text
(:mod:`handlers.evidence_text`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from handlers.cards import checkin_message
from handlers.context import Ctx
from handlers.notify import supervisor_of
from handlers.stamp import spec_for
from models.checkins import add_checkin, open_acknowledgement
from models.enums import CheckinKind
from models.errors import DomainError
from models.evidence import EvidenceRules, exif_findings
from models.tickets import Ticket
from models.work import Attachment, Checkin

#: Photos in one report (a check-in, a complaint): each leaves as its own send, one chat's pace,
#: and a report with dozens would flood the supervisor's chat (and repeat them on a retry).
MAX_PHOTOS = 10


def photo_record(ctx: Ctx) -> list[dict]:
    """The photos of the current update as stored (for a flow to keep in its dialog data), with
    what their EXIF says (capture time in UTC: a camera without its offset wrote the team's local
    time).  A file that is not a usable image is refused (``error.not_an_image``,
    ``error.image_too_large``, ``error.image_broken``): nothing of it was stored."""
    out = []
    for photo in ctx.inbound.photos:
        stored = ctx.media.get(photo.file_ref)
        facts = stored.facts if stored else None
        if facts is not None and facts.problem:
            raise DomainError(facts.problem)
        record = {"file_ref": photo.file_ref, "path": stored.path if stored else None,
                  "sha256": stored.sha256 if stored else None, "size": stored.size if stored else photo.size,
                  "mime": stored.mime if stored else None}
        if photo.as_file:
            record["as_file"] = True
        if facts is not None and facts.exif_lat is not None:
            record["exif_lat"], record["exif_lon"] = facts.exif_lat, facts.exif_lon
        if facts is not None and facts.taken_at is not None:
            taken = facts.taken_at if facts.taken_at.tzinfo else facts.taken_at.replace(tzinfo=ctx.app.tz)
            record["exif_taken_at"] = taken.isoformat()
        out.append(record)
    return out


def attachment_findings(ctx: Ctx, checkin: Checkin, attachments: list[Attachment]) -> dict:
    """What stored attachments' EXIF says against their check-in (for a message made again)."""
    photos = [{"exif_lat": a.exif_lat, "exif_lon": a.exif_lon,
               "exif_taken_at": a.exif_taken_at.isoformat() if a.exif_taken_at else None} for a in attachments]
    reported = (checkin.lat, checkin.lon) if checkin.lat is not None and checkin.lon is not None else None
    return exif_findings(photos, reported, checkin.client_at or checkin.server_at, evidence_rules(ctx))


def evidence_rules(ctx: Ctx) -> EvidenceRules:
    """``[evidence]`` as the models' rules."""
    config = ctx.app.config.evidence
    return EvidenceRules(geofence_m=config.geofence, exif_max_age=config.exif_max_age)


def more_photos(ctx: Ctx, kept: list[dict]) -> list[dict]:
    """``kept`` plus this message's photos, refusing (changing nothing) past :data:`MAX_PHOTOS`."""
    photos = list(kept) + photo_record(ctx)
    if len(photos) > MAX_PHOTOS:
        raise DomainError("too_many_photos", limit=MAX_PHOTOS)
    return photos


def photos_to_send(ctx: Ctx, photos: list[dict]) -> list[dict]:
    """Stored photos as a message carries them (sent again on the channel they came from)."""
    return [{"file_ref": p["file_ref"], "channel": ctx.inbound.channel.value, "path": p.get("path")} for p in photos]


async def record_checkin(ctx: Ctx, ticket: Ticket, kind: CheckinKind, *, text: str | None,
                         photos: list[dict], location: tuple[float, float] | None,
                         client_at: datetime | None, live: bool = False) -> Checkin:
    """Store a check-in with its photos (:func:`models.checkins.add_checkin`), open its
    acknowledgement (due per ``[chase]``), and send it to the supervisor with an **Acknowledge**
    button — the photos as their stamped copies, with the geofence and EXIF flags.

    ``photos`` are ``{"file_ref", "path", "sha256", "size", "mime"}`` dicts collected by the flow
    (:func:`photo_record`).
    """
    engineer, rules = ctx.person, evidence_rules(ctx)
    checkin = await add_checkin(ctx.session, ticket, engineer, kind, text=text, photos=photos, location=location,
                                client_at=client_at, channel=ctx.inbound.channel, now=ctx.now, live=live,
                                rules=rules)
    supervisor_id = await supervisor_of(ctx, ticket)
    if supervisor_id is not None:
        open_acknowledgement(ctx.session, checkin, supervisor_id, now=ctx.now,
                             due_after=ctx.app.config.chase.ack_reminder)
        findings = exif_findings(photos, location, client_at or ctx.now, rules)
        msg = checkin_message(ticket, checkin, engineer.name, photos, ctx.app.tz, ctx.inbound.channel,
                              findings=findings)
        msg.photos = await _stamped_photos(ctx, ticket, checkin, msg.photos)
        await ctx.notify(supervisor_id, msg, purpose="checkin", ticket_id=ticket.id, ref=f"checkin:{checkin.id}",
                         dedupe=f"checkin:{checkin.id}:supervisor")
    return checkin


async def _stamped_photos(ctx: Ctx, ticket: Ticket, checkin: Checkin, media: list[dict]) -> list[dict]:
    """The supervisor's photos as stamped copies: each carries its :class:`handlers.stamp.StampSpec`
    (the language is the reader's, filled in when the message is sent) and its attachment, so
    the sender makes the copy after the commit and notes it on the attachment."""
    rows = (await ctx.session.scalars(select(Attachment).where(Attachment.checkin_id == checkin.id)
                                      .order_by(Attachment.id))).all()
    out = []
    for photo, row in zip(media, rows, strict=False):
        spec = spec_for(row, checkin, ticket.number, tz=ctx.app.tz.key, lang=ctx.lang)
        out.append({**photo, "stamp": spec.to_payload(), "attachment_id": row.id} if spec else photo)
    return out
