"""Photos and check-ins from the chat side: the photos of an update as stored (kept in a dialog's
data until its last step), and a check-in recorded and sent to the supervisor with an
**Acknowledge** button.  The rows themselves are :mod:`models.checkins`'."""

from __future__ import annotations

from datetime import datetime

from handlers.cards import checkin_message
from handlers.context import Ctx
from handlers.notify import supervisor_of
from models.checkins import add_checkin, open_acknowledgement
from models.enums import CheckinKind
from models.errors import DomainError
from models.tickets import Ticket
from models.work import Checkin

#: Photos in one report (a check-in, a complaint): each leaves as its own send, one chat's pace,
#: and a report with dozens would flood the supervisor's chat (and repeat them on a retry).
MAX_PHOTOS = 10


def photo_record(ctx: Ctx) -> list[dict]:
    """The photos of the current update as stored (for a flow to keep in its dialog data)."""
    out = []
    for photo in ctx.inbound.photos:
        stored = ctx.media.get(photo.file_ref)
        out.append({"file_ref": photo.file_ref, "path": stored.path if stored else None,
                    "sha256": stored.sha256 if stored else None, "size": stored.size if stored else photo.size,
                    "mime": stored.mime if stored else None})
    return out


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
                         client_at: datetime | None) -> Checkin:
    """Store a check-in with its photos (:func:`models.checkins.add_checkin`), open its
    acknowledgement (due per ``[chase]``), and send it to the supervisor with an **Acknowledge**
    button.

    ``photos`` are ``{"file_ref", "path", "sha256", "size", "mime"}`` dicts collected by the flow.
    """
    engineer = ctx.person
    checkin = await add_checkin(ctx.session, ticket, engineer, kind, text=text, photos=photos, location=location,
                                client_at=client_at, channel=ctx.inbound.channel, now=ctx.now)
    supervisor_id = await supervisor_of(ctx, ticket)
    if supervisor_id is not None:
        open_acknowledgement(ctx.session, checkin, supervisor_id, now=ctx.now,
                             due_after=ctx.app.config.chase.ack_reminder)
        msg = checkin_message(ticket, checkin, engineer.name, photos, ctx.app.tz, ctx.inbound.channel)
        await ctx.notify(supervisor_id, msg, purpose="checkin", ticket_id=ticket.id, ref=f"checkin:{checkin.id}",
                         dedupe=f"checkin:{checkin.id}:supervisor")
    return checkin
