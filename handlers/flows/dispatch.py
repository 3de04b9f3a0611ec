"""Dispatching: ``/dispatch [NUMBER]`` for supervisors and dispatchers, and the engineer's answer
to the dispatch card (**Accept** / **Decline** with a reason).

The engineer picker lists the team's engineers best first (:mod:`models.suggest`: open load, then
distance from the site where known) with each one's load, distance and how old that location is.

Buttons: ``dspt:TICKET`` (pick a new ticket from the list), ``dsp:TICKET:ENGINEER`` (dispatch),
``acc:TICKET`` and ``dec:TICKET`` (the engineer's answer).  Every press reloads the ticket through
:func:`visible_ticket` and re-checks role, team and state; the lifecycle re-checks the move.

The small helpers at the top are shared by the other desk flows (supervisor, customer, reassign).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from handlers.context import Ctx
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import Routes
from handlers.tickets import (
    act,
    button_arg,
    dispatch_card,
    engineer_card,
    job_offer,
    notify_customer,
    person_name,
    supervisor_of,
    visible_ticket,
    visible_ticket_by_number,
)
from models.enums import Action, Role, TicketStatus
from models.errors import DomainError
from models.lifecycle import next_status
from models.people import Person, Team
from models.runtime import OutboxMessage
from models.still import still
from models.suggest import Suggestion, site_location, suggest_engineers
from models.tickets import Ticket, TicketEvent

routes = Routes()

DESK = frozenset({Role.SUPERVISOR, Role.DISPATCHER})
#: At most this many tickets get a button in the ``/dispatch`` list.
LIST_LIMIT = 20
REASON_LIMIT = 500


# -- helpers shared by the desk flows -----------------------------------------------------------
async def own_message(ctx: Ctx, *, ref: str | None = None, ticket_id: int | None = None,
                      message_id: str | None = None) -> str | None:
    """The id of the bot message this update points at (the pressed message, or ``message_id``),
    if it really is one we sent to this chat about ``ref`` / ``ticket_id``; otherwise None, so a
    forged or fallback press never edits an unrelated message."""
    mid = message_id or (ctx.inbound.message_id if ctx.inbound.callback_data is not None else None)
    if mid is None:
        return None
    query = select(OutboxMessage.id).where(
        OutboxMessage.channel == ctx.inbound.channel, OutboxMessage.chat_id == ctx.inbound.chat_id,
        OutboxMessage.external_message_id == mid)
    if ref is not None:
        query = query.where(OutboxMessage.ref == ref)
    if ticket_id is not None:
        query = query.where(OutboxMessage.ticket_id == ticket_id)
    return mid if await ctx.session.scalar(query.limit(1)) is not None else None


def leave_flow(ctx: Ctx, error: DomainError) -> None:
    """End the dialog and say why, without rolling the end back (a raised error would keep the
    person stuck in a dialog about a ticket that moved on)."""
    ctx.end_flow()
    ctx.reply_error(error)


async def flow_ticket(ctx: Ctx) -> Ticket | None:
    """The dialog's ticket if this person may still see it; otherwise the dialog ends with the
    reason (:func:`leave_flow`) and None is returned: the step then writes nothing."""
    try:
        return await visible_ticket(ctx, ctx.data.get("ticket_id"))
    except DomainError as exc:
        leave_flow(ctx, exc)
        return None


def label(text: str) -> str:
    """A button label that is plain text, not a catalog key (braces escaped for formatting)."""
    return text.replace("{", "{{").replace("}", "}}")


def _age(ctx: Ctx, since: datetime) -> str:
    minutes = max(0, int((ctx.now - since).total_seconds() // 60))
    if minutes < 1:
        return ctx.t("assign.age.now")
    if minutes < 60:
        return ctx.t("assign.age.minutes", n=minutes)
    if minutes < 48 * 60:
        return ctx.t("assign.age.hours", n=minutes // 60)
    return ctx.t("assign.age.days", n=minutes // (24 * 60))


def suggestion_label(ctx: Ctx, s: Suggestion) -> str:
    """``name · load``, and where known the distance (whole km) and how old that location is."""
    base = ctx.t("desk.dispatch.engineer_label", name=s.name, open=s.open_load)
    if s.distance_km is None or s.located_at is None:
        return base
    if s.distance_km < 1:
        return ctx.t("assign.label.near", base=base, age=_age(ctx, s.located_at))
    return ctx.t("assign.label.located", base=base, km=round(s.distance_km), age=_age(ctx, s.located_at))


async def suggestion_picker(ctx: Ctx, ticket: Ticket, team_id: int, text: L, *, code: str, ref: str,
                            exclude_id: int | None = None, none_error: str = "desk_no_engineers") -> None:
    """Reply with ``text`` and a button ``code:TICKET:ENGINEER`` per suggested engineer, best
    first (:mod:`models.suggest`); says how they are ordered when distances could be used."""
    suggestions = await suggest_engineers(ctx.session, ticket, team_id, exclude_id=exclude_id)
    if not suggestions:
        team = await ctx.session.get(Team, team_id)
        raise DomainError(none_error, team=team.name if team else "")
    parts = [text]
    if await site_location(ctx.session, ticket) is not None:
        parts.append(L("assign.pick.order_hint"))
    buttons = [[(label(suggestion_label(ctx, s)), f"{code}:{ticket.id}:{s.person_id}")] for s in suggestions]
    ctx.reply(Msg(body=Lines(tuple(parts)), buttons=buttons), ticket_id=ticket.id, ref=ref)


async def dispatcher_of(ctx: Ctx, ticket: Ticket) -> int | None:
    """Who dispatched the ticket last (they want to hear the answer); else the team supervisor."""
    actor = await ctx.session.scalar(
        select(TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "transition",
               TicketEvent.action.in_([Action.DISPATCH, Action.REASSIGN]))
        .order_by(TicketEvent.id.desc()).limit(1))
    return actor or await supervisor_of(ctx, ticket)


# -- /dispatch --------------------------------------------------------------------------------
def desk_team_id(ctx: Ctx, ticket: Ticket) -> int:
    """The team whose engineers may take the ticket: its own, or (unteamed) the asker's."""
    team_id = ticket.team_id or ctx.person.team_id
    if team_id is None:
        raise DomainError("desk_no_team", number=ticket.number)
    return team_id


async def _dispatchable(ctx: Ctx, ticket: Ticket) -> None:
    """Only a ``new`` ticket is dispatched; anything else gets a line saying who has it."""
    if ticket.status is TicketStatus.NEW:
        return
    if ticket.assignee_id and ticket.status is not TicketStatus.CANCELLED:
        raise DomainError("desk_dispatch_taken", number=ticket.number, status=ticket.status.value,
                          name=await person_name(ctx, ticket.assignee_id))
    next_status(ticket.status, Action.DISPATCH, ticket.service_type)


async def _picker(ctx: Ctx, ticket: Ticket) -> None:
    await _dispatchable(ctx, ticket)
    text = L("desk.dispatch.pick", {"number": ticket.number, "model": Raw(ticket.product_model),
                                    "address": Raw(ticket.address)})
    await suggestion_picker(ctx, ticket, desk_team_id(ctx, ticket), text, code="dsp", ref=f"dsppick:{ticket.id}")


@routes.command("dispatch", roles=DESK, menu="desk.menu.dispatch")
async def dispatch_command(ctx: Ctx) -> None:
    number = ctx.inbound.args.strip()
    if number:
        await _picker(ctx, await visible_ticket_by_number(ctx, number))
        return
    query = select(Ticket).where(Ticket.status == TicketStatus.NEW)
    if ctx.person.team_id is not None:
        query = query.where((Ticket.team_id == ctx.person.team_id) | Ticket.team_id.is_(None))
    tickets = (await ctx.session.scalars(
        query.order_by(Ticket.severity, Ticket.created_at, Ticket.id).limit(LIST_LIMIT + 1))).all()
    if not tickets:
        ctx.reply("desk.dispatch.no_new")
        return
    more = tickets[LIST_LIMIT:]
    tickets = tickets[:LIST_LIMIT]
    lines = [L("desk.dispatch.new_header")] + [
        L("desk.dispatch.new_item", {"number": t.number, "severity": t.severity,
                                     "model": Raw(t.product_model), "address": Raw(t.address)})
        for t in tickets]
    if more:
        total = await ctx.session.scalar(select(func.count()).select_from(query.subquery()))
        lines.append(L("desk.dispatch.new_more", {"count": total - len(tickets)}))
    buttons = [[(label(t.number), f"dspt:{t.id}")] for t in tickets]
    ctx.reply(Msg(body=Lines(tuple(lines)), buttons=buttons))


@routes.callback("dspt", roles=DESK)
async def pick_ticket(ctx: Ctx) -> None:
    await _picker(ctx, await visible_ticket(ctx, button_arg(ctx, 0)))


@routes.callback("dsp", roles=DESK)
async def dispatch_to(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    await _dispatchable(ctx, ticket)
    team_id = desk_team_id(ctx, ticket)
    engineer = await ctx.session.get(Person, int(button_arg(ctx, 1)))
    if engineer is None or engineer.role is not Role.ENGINEER or not engineer.active \
            or engineer.team_id != team_id:
        raise DomainError("desk_not_team_engineer", number=ticket.number)
    if ticket.team_id is None:  # an unteamed ticket joins the team that dispatches it
        ticket.team_id = team_id
    act(ctx, ticket, Action.DISPATCH, assignee_id=engineer.id)
    reached = await ctx.notify(engineer.id, dispatch_card(ctx, ticket), purpose="dispatch",
                               ticket_id=ticket.id, ref=f"dispatch:{ticket.id}", **job_offer(ticket, engineer.id))
    picker = await own_message(ctx, ref=f"dsppick:{ticket.id}")
    if picker:
        ctx.reply(Msg("desk.dispatch.picked", {"number": ticket.number, "name": Raw(engineer.name)},
                      edit_message_id=picker))
    key = "desk.dispatch.done" if reached else "desk.dispatch.unreachable"
    ctx.reply_telling(key, told=[(engineer.id, engineer.name)], ticket_id=ticket.id, number=ticket.number,
                      name=Raw(engineer.name))
    ctx.toast = ctx.t("desk.dispatch.toast", name=engineer.name)


# -- the engineer's answer ----------------------------------------------------------------------
@routes.callback("acc", roles={Role.ENGINEER})
async def accept(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    act(ctx, ticket, Action.ACCEPT)
    if ctx.flow == "decline":
        ctx.end_flow()
    card = await own_message(ctx, ref=f"dispatch:{ticket.id}")
    if card:
        ctx.reply(Msg("desk.dispatch.card_accepted", {"number": ticket.number}, edit_message_id=card))
    ctx.reply(engineer_card(ctx, ticket))
    from handlers.flows.kb import similar_fixes_message  # the knowledge base's follow-up
    if (tips := await similar_fixes_message(ctx, ticket)) is not None:
        ctx.reply(tips, ticket_id=ticket.id)
    name = Raw(ctx.person.name)
    await notify_customer(ctx, ticket, Msg("desk.customer.accepted", {"engineer": name, "number": ticket.number}),
                          purpose="accepted", status_update=True)
    dispatcher = await dispatcher_of(ctx, ticket)
    if dispatcher not in (None, ctx.person.id):
        await ctx.notify(dispatcher, Msg("desk.dispatch.accepted_notice", {"engineer": name, "number": ticket.number}),
                         purpose="accepted", ticket_id=ticket.id, valid_if=still(ticket=ticket.id, assignee=ctx.person.id))
    ctx.toast = ctx.t("desk.dispatch.toast_accepted")


@routes.callback("dec", roles={Role.ENGINEER})
async def decline(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    next_status(ticket.status, Action.DECLINE, ticket.service_type)  # a stale card fails here
    card = await own_message(ctx, ref=f"dispatch:{ticket.id}")
    ctx.goto("decline", "reason", ticket_id=ticket.id, card=card)
    ctx.reply("desk.dispatch.decline_ask", number=ticket.number)


@routes.step("decline", "reason")
async def decline_reason(ctx: Ctx) -> None:
    try:
        ticket = await visible_ticket(ctx, ctx.data.get("ticket_id"))
        next_status(ticket.status, Action.DECLINE, ticket.service_type)
    except DomainError as exc:  # reassigned or cancelled meanwhile
        leave_flow(ctx, exc)
        return
    reason = (ctx.inbound.text or "").strip()
    if not reason:
        ctx.reply("desk.dispatch.decline_again", number=ticket.number)
        return
    if len(reason) > REASON_LIMIT:
        ctx.reply("desk.dispatch.reason_too_long", limit=REASON_LIMIT)
        return
    dispatcher = await dispatcher_of(ctx, ticket)
    act(ctx, ticket, Action.DECLINE, reason=reason)
    card = ctx.data.get("card")
    ctx.end_flow()
    if card:
        ctx.reply(Msg("desk.dispatch.card_declined", {"number": ticket.number}, edit_message_id=card))
    ctx.reply("desk.dispatch.declined", number=ticket.number)
    if dispatcher not in (None, ctx.person.id):
        await ctx.notify(dispatcher, Msg("desk.dispatch.declined_notice", {
            "engineer": Raw(ctx.person.name), "number": ticket.number, "reason": Raw(reason)}),
            purpose="declined", ticket_id=ticket.id, valid_if=still(ticket=ticket.id, status={TicketStatus.NEW}))
