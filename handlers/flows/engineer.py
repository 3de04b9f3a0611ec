"""Engineer: ``/tickets``, the ticket card, **On my way** (with an ETA), **Pause** / **Resume**.

Every press reloads the ticket through :func:`handlers.dialogs.pressed_ticket` (assignee only) and
asks the lifecycle whether the action is allowed before anything is written; the ETA dialog
re-checks at its step (:func:`handlers.dialogs.dialog_ticket`).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

from handlers.boards import engineer_board
from handlers.cards import engineer_card, not_told
from handlers.context import Ctx
from handlers.dialogs import act, allowed, answer_text, button_args, dialog_ticket, pressed_ticket, start_dialog
from handlers.i18n import preview
from handlers.messages import L, Msg, Raw
from handlers.notify import notify_customer, tell_supervisor
from handlers.registry import Routes
from handlers.times import When
from handlers.words import duration
from models.enums import Action, PauseReason, Role
from models.errors import DomainError

routes = Routes()

ENGINEER = frozenset({Role.ENGINEER})


# -- /tickets and the card -----------------------------------------------------------------------
@routes.command("tickets", roles=ENGINEER, menu="menu.tickets")
async def my_tickets(ctx: Ctx) -> None:
    """One paged message, grouped mine / to follow / paused / closed with each clock's time left
    (:mod:`handlers.boards`); a line's button opens the ticket's card below, so a long list stays one
    message instead of a card per ticket."""
    await engineer_board(ctx)


@routes.callback("card", roles=ENGINEER)
async def card(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx)
    ctx.reply(engineer_card(ticket, ctx.app.tz), ticket_id=ticket.id)


# -- On my way -----------------------------------------------------------------------------------
_CLOCK = re.compile(r"^(?P<h>\d{1,2})\s*[:：]\s*(?P<m>\d{2})$")
MAX_ETA = timedelta(hours=24)


def parse_eta(text: str, now: datetime, tz) -> datetime:  # noqa: ANN001
    """A time from now — ``30m``, ``45 min``, ``1h30``, ``90`` (minutes), ``半小时``, ``一个半小时``,
    ``三刻钟`` (:func:`handlers.words.duration`) — or a local clock time ``14:30`` (today, or
    tomorrow if that time has passed) → the expected arrival in UTC."""
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
    delay = duration(raw)
    if delay is None or delay <= timedelta(0):
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
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number), "time": When(eta, ctx.app.tz)}),
        purpose="on_the_way", status_update=True)
    ctx.reply(engineer_card(ticket, ctx.app.tz, L("eng.departed", {"time": When(eta, ctx.app.tz)}),
                            not_told(reached)), ticket_id=ticket.id)


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
    ctx.reply(engineer_card(ticket, ctx.app.tz), ticket_id=ticket.id)
    await tell_supervisor(ctx, ticket, Msg("eng.sup_paused", {
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number), "reason": L(f"pause.{reason}")}),
        purpose="paused")


@routes.callback("res", roles=ENGINEER)
async def resume(ctx: Ctx) -> None:
    ticket = await pressed_ticket(ctx, allowed(Action.RESUME))
    act(ctx, ticket, Action.RESUME)
    ctx.reply(engineer_card(ticket, ctx.app.tz), ticket_id=ticket.id)
    await tell_supervisor(ctx, ticket, Msg("eng.sup_resumed", {
        "engineer": Raw(ctx.person.name), "number": Raw(ticket.number)}), purpose="resumed")
