"""Engineer check-ins: **Arrived** (a photo, then the location) and progress check-ins (**Check in**
/ ``/checkin``: any number of notes and photos, finished with **Done** — or with ``完成``, ``好了``,
``提交``, ``done`` typed alone, :data:`handlers.words.DONE_WORDS`).

Both end in :func:`handlers.evidence.record_checkin`, which stores the photos, opens the supervisor's
acknowledgement and sends the supervisor the check-in with an **Acknowledge** button.  A live
location is recorded as such; a forwarded one is not evidence of where the engineer is and is
refused (the dialog still waits for the engineer's own).  Photos
collected along the way live in the dialog data (they are already stored content-addressed on
disk), so a restart mid-dialog loses nothing and ``/cancel`` leaves no rows behind.
"""

from __future__ import annotations

from datetime import datetime

from handlers.cards import can_check_in, engineer_card, not_told
from handlers.context import Ctx
from handlers.dialogs import act, allowed, begin_on_my_ticket, button_args, dialog_ticket, late_client_at
from handlers.dialogs import pressed_ticket, start_dialog
from handlers.evidence import more_photos, photo_record, record_checkin
from handlers.hot import HotView
from handlers.messages import L, Lines, Msg, Raw
from handlers.notify import notify_customer, supervisor_of
from handlers.registry import Routes
from handlers.words import is_done
from models.enums import Action, CheckinKind, Role
from models.checkins import is_late
from models.errors import DomainError
from models.lifecycle import work_under_way
from models.queries import person_name
from models.tickets import Ticket

routes = Routes()

ENGINEER = frozenset({Role.ENGINEER})

#: Notes of one progress check-in together (the supervisor's message must stay under 4096).
NOTES_LIMIT = 3000


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def _sent_line(ctx: Ctx, ticket: Ticket, key: str) -> L | Lines:
    """Tell the engineer where the check-in went (or that the team has no supervisor), and when
    the supervisor gets it if that waits for working hours."""
    supervisor_id = await supervisor_of(ctx, ticket)
    line = L(key if supervisor_id is not None else "eng.checkin_no_supervisor", {"number": Raw(ticket.number)})
    note = ctx.held_note(supervisor_id, await person_name(ctx.session, supervisor_id))
    return Lines((line, note)) if note else line


# -- Arrived -------------------------------------------------------------------------------------
@routes.callback("arr", roles=ENGINEER)
async def arrive(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.ARRIVE))
    start_dialog(ctx, "arrive", "photo", ticket)
    ctx.reply("eng.arrive_ask_photo", number=ticket.number)


@routes.step("arrive", "photo")
async def arrive_photo(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, allowed(Action.ARRIVE))
    if ticket is None:
        return
    photos = photo_record(ctx)
    if not photos:
        raise DomainError("arrive_photo_expected")
    ctx.goto("arrive", "location", photos=photos, late_at=_iso(late_client_at(ctx)))
    ctx.reply(Msg("eng.arrive_ask_location", request_location="btn.location"))


@routes.step("arrive", "location")
async def arrive_location(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, allowed(Action.ARRIVE))
    if ticket is None:
        return
    if ctx.inbound.photos and not ctx.inbound.location:  # a second photo (an album): keep it too
        ctx.goto("arrive", "location", photos=more_photos(ctx, ctx.data.get("photos", [])),
                 late_at=ctx.data.get("late_at") or _iso(late_client_at(ctx)))
        ctx.reply(Msg("eng.arrive_ask_location", request_location="btn.location"))
        return
    where = ctx.inbound.location
    if where is None:  # asked again the way the channel can ask (a button, or how to send one)
        ctx.reply(Msg("error.arrive_location_expected", request_location="btn.location"))
        return
    if ctx.inbound.forwarded:  # someone else's place, or an old one: not evidence of being here now
        ctx.reply(Msg("error.forwarded_location", request_location="btn.location"))
        return
    # The photo's phone time counts when it came late; otherwise the location message's own time
    # (a minute spent between photo and location is not "late evidence").
    client_at = _when(ctx.data.get("late_at")) or ctx.inbound.client_at
    act(ctx, ticket, Action.ARRIVE)
    await record_checkin(ctx, ticket, CheckinKind.ARRIVAL, text=None, photos=ctx.data.get("photos", []),
                         location=(where.lat, where.lon), client_at=client_at, live=where.live)
    ctx.end_flow()
    reached = await notify_customer(ctx, ticket, Msg("eng.customer_arrived", {
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number)}), purpose="arrived", status_update=True)
    ctx.reply(Msg(body=await _sent_line(ctx, ticket, "eng.arrived"), remove_keyboard=True))
    ctx.reply(engineer_card(ticket, ctx.app.tz, not_told(reached)), ticket_id=ticket.id)


# -- progress check-in ---------------------------------------------------------------------------
def _checkable(ticket: Ticket) -> None:
    if not can_check_in(ticket):
        raise DomainError("checkin_not_now", number=ticket.number, status=ticket.status.value)


async def _begin(ctx: Ctx, ticket: Ticket) -> None:
    _checkable(ticket)
    if not (ctx.flow == "checkin" and ctx.data.get("ticket_id") == ticket.id):
        start_dialog(ctx, "checkin", "collect", ticket, photos=[], notes=[], late_at=None)
    ctx.reply("eng.checkin_ask", number=ticket.number)


@routes.callback("chk", roles=ENGINEER)
async def checkin_button(ctx: Ctx) -> None:
    await _begin(ctx, await pressed_ticket(ctx))


@routes.command("checkin", roles=ENGINEER, menu="menu.checkin")
async def checkin_command(ctx: Ctx) -> None:
    await begin_on_my_ticket(ctx, _begin, code="chk", none="eng.checkin_none", pick="eng.checkin_pick")


@routes.step("checkin", "collect")
async def checkin_collect(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, _checkable)
    if ticket is None:
        return
    photos = photo_record(ctx)
    note = (ctx.inbound.text or "").strip()
    if not photos and not note:
        raise DomainError("checkin_expects")
    if not photos and is_done(note):  # "完成" / "done" typed alone: Done, not a note to relay
        await _send(ctx, ticket)
        return
    notes = list(ctx.data.get("notes", [])) + ([note] if note else [])
    if sum(len(n) + 1 for n in notes) > NOTES_LIMIT:
        raise DomainError("answer_too_long", limit=NOTES_LIMIT)
    all_photos = more_photos(ctx, ctx.data.get("photos", []))
    late = late_client_at(ctx)
    earliest = _when(ctx.data.get("late_at"))
    if late is not None and (earliest is None or late < earliest):
        earliest = late
    ctx.goto("checkin", "collect", photos=all_photos, notes=notes, late_at=_iso(earliest))
    ctx.reply(_got(ticket.id, all_photos, notes))


def _got(ticket_id: int, photos: list, notes: list[str]) -> Msg:
    return Msg("eng.checkin_got", {"photos": L("eng.photos", {"count": len(photos)}),
                                   "notes": L("eng.notes", {"count": len(notes)})},
               buttons=[[("btn.done", f"done:{ticket_id}")]])


@routes.hot("checkin", "collect")
async def checkin_note(view: HotView) -> Msg | None:
    """:func:`checkin_collect` for its plain case, in plain SQL (:mod:`handlers.hot`): a typed note
    (not a Done word, not late, within the limit) from the engineer the ticket is still assigned
    to while the work is under way.  Anything else: None, and the step itself answers."""
    brief = await view.ticket(view.data.get("ticket_id"))
    if view.role is not Role.ENGINEER or brief is None or brief.assignee_id != view.person_id \
            or not work_under_way(brief.status, brief.service_type):
        return None
    note = view.text.strip()
    if not note or is_done(note) or is_late(view.inbound.client_at, view.now):
        return None
    notes = list(view.data.get("notes", [])) + [note]
    if sum(len(n) + 1 for n in notes) > NOTES_LIMIT:
        return None
    photos = list(view.data.get("photos", []))
    view.goto("checkin", "collect", photos=photos, notes=notes, late_at=view.data.get("late_at"))
    return _got(brief.id, photos, notes)


@routes.callback("done", roles=ENGINEER)
async def checkin_done(ctx: Ctx) -> None:
    args = button_args(ctx)
    if ctx.flow != "checkin" or not args or args[0] != str(ctx.data.get("ticket_id")):
        raise DomainError("stale_button")
    ticket = await dialog_ticket(ctx, _checkable)
    if ticket is None:
        return
    await _send(ctx, ticket)


async def _send(ctx: Ctx, ticket: Ticket) -> None:
    """**Done**: the collected notes and photos go to the supervisor as one check-in."""
    photos, notes = ctx.data.get("photos", []), ctx.data.get("notes", [])
    if not photos and not notes:
        raise DomainError("checkin_empty")
    await record_checkin(ctx, ticket, CheckinKind.PROGRESS, text="\n".join(notes) or None, photos=photos,
                         location=None, client_at=_when(ctx.data.get("late_at")))
    ctx.end_flow()
    ctx.reply(Msg(body=await _sent_line(ctx, ticket, "eng.checkin_sent")), ticket_id=ticket.id)
