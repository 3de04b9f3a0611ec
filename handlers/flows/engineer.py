"""Engineer: ``/tickets``, the ticket card, **On my way** (with an ETA), **Pause** / **Resume**.

Also the helpers the other engineer flows (:mod:`.checkins`, :mod:`.signoff`) share: reading the
pressed button, re-checking the ticket at every dialog step, and a card with a headline.

Why the checks look the way they do: button data is only a pointer, so every handler reloads the
ticket through :func:`visible_ticket` (assignee only) and asks the lifecycle whether the action is
allowed *before* anything is written; a dialog re-checks at every step, and nothing is written
until its last step, so ``/cancel`` (or a dialog abandoned half-way) leaves no trace.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from handlers.context import Ctx
from handlers.flows.board import engineer_board
from handlers.i18n import error_text, preview
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import Routes
from handlers.tickets import (
    LATE_AFTER_SECONDS,
    act,
    button_args,
    can_check_in,
    engineer_buttons,
    engineer_card,
    hhmm,
    notify_customer,
    supervisor_of,
    ticket_summary,
    visible_ticket,
    visible_ticket_by_number,
)
from models.enums import Action, PauseReason, Role
from models.errors import DomainError
from models.lifecycle import ASSIGNED_STATES, next_status
from models.tickets import Ticket

routes = Routes()

ENGINEER = frozenset({Role.ENGINEER})
#: Longest free-text answer kept in a report field (a chat message is at most 4096 characters).
TEXT_LIMIT = 2000

Check = Callable[[Ticket], None]


# -- shared helpers ------------------------------------------------------------------------------
def allowed(action: Action) -> Check:
    """A check that raises the lifecycle's transition error unless ``action`` is allowed now."""
    def check(ticket: Ticket) -> None:
        next_status(ticket.status, action, ticket.service_type)
    return check


async def pressed_ticket(ctx: Ctx, check: Check | None = None) -> Ticket:
    """The ticket the pressed button points at, if it is this engineer's and ``check`` passes."""
    args = button_args(ctx)
    if not args or not args[0]:
        raise DomainError("stale_button")
    ticket = await visible_ticket(ctx, args[0])  # checks the id is a plausible one
    if check is not None:
        check(ticket)
    return ticket


def start_dialog(ctx: Ctx, flow: str, step: str, ticket: Ticket, **data: object) -> None:
    """Enter a dialog about ``ticket`` afresh (never merging data left by an earlier dialog of the
    same name)."""
    ctx.end_flow()
    ctx.goto(flow, step, ticket_id=ticket.id, number=ticket.number, **data)


async def dialog_ticket(ctx: Ctx, check: Check) -> Ticket | None:
    """Re-check, at a dialog step, that the ticket is still this engineer's and in the right state.

    If not, the dialog ends (otherwise every further answer would hit the same wall), the person
    is told why in one line, any location keyboard is removed, and None is returned: the step
    then writes nothing.
    """
    ctx.require(Role.ENGINEER)
    try:
        ticket = await visible_ticket(ctx, ctx.data.get("ticket_id"))
        check(ticket)
    except DomainError as exc:
        if exc.code == "ticket_unavailable" and ctx.data.get("number"):  # reassigned meanwhile: say which
            exc = DomainError("ticket_gone", number=ctx.data["number"])
        ctx.end_flow()
        ctx.reply(Msg(body=Raw(error_text(ctx.lang, exc)), remove_keyboard=True))
        return None
    return ticket


async def begin_on_my_ticket(ctx: Ctx, begin: Callable[[Ctx, Ticket], Awaitable[None]], *, code: str,
                             none: str, pick: str) -> None:
    """``/checkin [NUMBER]``, ``/parts [NUMBER]``: the named ticket (if it is this engineer's), the
    only one being worked on, or a pick among them — buttons ``code:TICKET``."""
    if ctx.inbound.args.strip():
        await begin(ctx, await visible_ticket_by_number(ctx, ctx.inbound.args))  # assignee only
        return
    mine = (await ctx.session.scalars(
        select(Ticket).where(Ticket.assignee_id == ctx.person.id, Ticket.status.in_(ASSIGNED_STATES))
        .order_by(Ticket.id))).all()
    workable = [t for t in mine if can_check_in(t)]
    if not workable:
        ctx.reply(none)
    elif len(workable) == 1:
        await begin(ctx, workable[0])
    else:
        ctx.reply(Msg(pick, buttons=[[(Raw(t.number), f"{code}:{t.id}")] for t in workable]))


def answer_text(ctx: Ctx, missing: str, limit: int = TEXT_LIMIT) -> str:
    """The typed answer of a dialog step; a photo, a location or nothing raises ``missing``."""
    text = (ctx.inbound.text or "").strip()
    if not text or ctx.inbound.photos or ctx.inbound.location:
        raise DomainError(missing)
    if len(text) > limit:
        raise DomainError("answer_too_long", limit=limit)
    return text


def late_client_at(ctx: Ctx) -> datetime | None:
    """The phone's time of this message if it reached us late (after an offline spell)."""
    client_at = ctx.inbound.client_at
    if client_at is not None and (ctx.now - client_at).total_seconds() > LATE_AFTER_SECONDS:
        return client_at
    return None


def card_with(ctx: Ctx, ticket: Ticket, *head: L | Raw | None) -> Msg:
    """The engineer's card with headline(s) above it: one message saying what happened and what
    can be done next."""
    return Msg(body=Lines((*head, ticket_summary(ctx, ticket))), buttons=engineer_buttons(ticket))


def not_told(reached: bool) -> L | None:
    return None if reached else L("eng.customer_not_told")


# -- /tickets and the card -----------------------------------------------------------------------
@routes.command("tickets", roles=ENGINEER, menu="menu.tickets")
async def my_tickets(ctx: Ctx) -> None:
    """One paged message, grouped mine / to follow / paused / closed with each clock's time left
    (:mod:`.board`); a line's button opens the ticket's card below, so a long list stays one
    message instead of a card per ticket."""
    await engineer_board(ctx)


@routes.callback("card", roles=ENGINEER)
async def card(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx)
    ctx.reply(engineer_card(ctx, ticket), ticket_id=ticket.id)


# -- On my way -----------------------------------------------------------------------------------
_UNIT_H = r"(?:h|hr|hrs|hour|hours|小时|个小时|钟头|个钟头)"
_UNIT_M = r"(?:m|min|mins|minute|minutes|分钟|分)"
_DURATION = re.compile(rf"^(?:(?P<h>\d{{1,3}})\s*{_UNIT_H}\s*)?(?:(?P<m>\d{{1,4}})\s*{_UNIT_M}?)?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2})\s*[:：]\s*(?P<m>\d{2})$")
MAX_ETA = timedelta(hours=24)


def parse_eta(text: str, now: datetime, tz) -> datetime:  # noqa: ANN001
    """``30m``, ``45 min``, ``1h``, ``1h30m``, ``90`` (minutes) or a local clock time ``14:30``
    (today, or tomorrow if that time has passed) → the expected arrival in UTC."""
    raw = text.strip().lower()
    clock = _CLOCK.match(raw)
    if clock:
        hour, minute = int(clock["h"]), int(clock["m"])
        if hour > 23 or minute > 59:
            raise DomainError("eta_bad", value=preview(text))
        local_now = now.astimezone(tz)
        at = datetime.combine(local_now.date(), time(hour, minute), tzinfo=tz)
        if at <= local_now:
            at = datetime.combine(local_now.date() + timedelta(days=1), time(hour, minute), tzinfo=tz)
        return at.astimezone(timezone.utc)
    match = _DURATION.match(raw) if raw else None
    if not match or (match["h"] is None and match["m"] is None):
        raise DomainError("eta_bad", value=preview(text))
    delay = timedelta(hours=int(match["h"] or 0), minutes=int(match["m"] or 0))
    if delay <= timedelta(0):
        raise DomainError("eta_bad", value=preview(text))
    if delay > MAX_ETA:
        raise DomainError("eta_too_far", value=preview(text))
    return now + delay


@routes.callback("go", roles=ENGINEER)
async def depart(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.DEPART))
    start_dialog(ctx, "depart", "eta", ticket)
    ctx.reply("eng.eta_ask", number=ticket.number)


@routes.step("depart", "eta")
async def depart_eta(ctx: Ctx) -> None:
    ticket = await dialog_ticket(ctx, allowed(Action.DEPART))
    if ticket is None:
        return
    eta = parse_eta(answer_text(ctx, "eta_expected", limit=40), ctx.now, ctx.app.tz)
    act(ctx, ticket, Action.DEPART, eta_at=eta)
    ctx.end_flow()
    reached = await notify_customer(ctx, ticket, Msg("eng.customer_on_the_way", {
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number), "time": Raw(hhmm(ctx, eta))}),
        purpose="on_the_way", status_update=True)
    ctx.reply(card_with(ctx, ticket, L("eng.departed", {"time": Raw(hhmm(ctx, eta))}), not_told(reached)),
              ticket_id=ticket.id)


# -- Pause / Resume ------------------------------------------------------------------------------
@routes.callback("pau", roles=ENGINEER)
async def pause(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.PAUSE))
    tid = ticket.id
    ctx.reply(Msg("eng.pause_ask", {"number": Raw(ticket.number)}, buttons=[
        [("btn.pause_parts", f"paur:{tid}:parts"), ("btn.pause_customer", f"paur:{tid}:customer")],
        [("btn.pause_other", f"paur:{tid}:other")],
    ]))


@routes.callback("paur", roles=ENGINEER)
async def pause_reason(ctx: Ctx) -> None:
    args = button_args(ctx)
    reason = args[1] if len(args) > 1 else ""
    if reason not in {r.value for r in PauseReason}:
        raise DomainError("stale_button")
    ticket = await pressed_ticket(ctx, allowed(Action.PAUSE))
    act(ctx, ticket, Action.PAUSE, pause_reason=reason)
    ctx.reply(engineer_card(ctx, ticket), ticket_id=ticket.id)
    await _tell_supervisor(ctx, ticket, Msg("eng.sup_paused", {
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number), "reason": L(f"pause.{reason}")}),
        purpose="paused")


@routes.callback("res", roles=ENGINEER)
async def resume(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.RESUME))
    act(ctx, ticket, Action.RESUME)
    ctx.reply(engineer_card(ctx, ticket), ticket_id=ticket.id)
    await _tell_supervisor(ctx, ticket, Msg("eng.sup_resumed", {
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number)}), purpose="resumed")


async def _tell_supervisor(ctx: Ctx, ticket: Ticket, msg: Msg, *, purpose: str) -> None:
    supervisor_id = await supervisor_of(ctx, ticket)
    if supervisor_id is not None and supervisor_id != ctx.person.id:
        await ctx.notify(supervisor_id, msg, purpose=purpose, ticket_id=ticket.id)
