"""Dispatching: ``/dispatch [NUMBER]`` for supervisors and dispatchers, and the engineer's answer
to the dispatch card (**Accept** / **Decline** with a reason).

The engineer picker lists the team's engineers best first (:mod:`handlers.desk`, :mod:`models.suggest`:
open load, then distance from the site where known) with each one's load, distance and how old that
location is.

Buttons: ``dspt:TICKET`` (pick a new ticket from the list), ``dsp:TICKET:ENGINEER`` (dispatch),
``acc:TICKET`` and ``dec:TICKET`` (the engineer's answer).  Every press reloads the ticket through
:func:`visible_ticket` and re-checks role, team and state; the lifecycle re-checks the move.
"""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.cards import dispatch_card, engineer_card
from handlers.context import Ctx
from handlers.desk import DESK, REASON_LIMIT, desk_team_id, dispatcher_of, suggestion_picker, team_engineer
from handlers.dialogs import act, button_arg, label, leave_flow, own_message, visible_ticket, visible_ticket_by_number
from handlers.kb_view import similar_fixes_message
from handlers.messages import L, Lines, Msg, Raw
from handlers.notify import notify_customer
from handlers.registry import Routes
from models.access import team_scope
from models.enums import Action, Role, TicketStatus
from models.errors import DomainError
from models.lifecycle import next_status
from models.queries import person_name
from models.still import job_offer, still
from models.tickets import Ticket

routes = Routes()

#: At most this many tickets get a button in the ``/dispatch`` list.
LIST_LIMIT = 20
ENGINEER = frozenset({Role.ENGINEER})


# -- /dispatch --------------------------------------------------------------------------------
async def _dispatchable(ctx: Ctx, ticket: Ticket) -> None:
    """Only a ``new`` ticket is dispatched; anything else gets a line saying who has it."""
    if ticket.status is TicketStatus.NEW:
        return
    if ticket.assignee_id and ticket.status is not TicketStatus.CANCELLED:
        raise DomainError("desk_dispatch_taken", number=ticket.number, status=ticket.status.value,
                          name=await person_name(ctx.session, ticket.assignee_id))
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
    query = select(Ticket).where(Ticket.status == TicketStatus.NEW, *team_scope(ctx.person))
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
    engineer = await team_engineer(ctx, ticket, team_id)
    if ticket.team_id is None:  # an unteamed ticket joins the team that dispatches it
        ticket.team_id = team_id
    act(ctx, ticket, Action.DISPATCH, assignee_id=engineer.id)
    reached = await ctx.notify(engineer.id, dispatch_card(ticket, ctx.app.tz), purpose="dispatch",
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
@routes.callback("acc", roles=ENGINEER)
async def accept(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    act(ctx, ticket, Action.ACCEPT)
    if ctx.flow == "decline":
        ctx.end_flow()
    card = await own_message(ctx, ref=f"dispatch:{ticket.id}")
    if card:
        ctx.reply(Msg("desk.dispatch.card_accepted", {"number": ticket.number}, edit_message_id=card))
    ctx.reply(engineer_card(ticket, ctx.app.tz))
    if (tips := await similar_fixes_message(ctx.session, ticket, ctx.app.tz)) is not None:  # past fixes
        ctx.reply(tips, ticket_id=ticket.id)
    name = Raw(ctx.person.name)
    await notify_customer(ctx, ticket, Msg("desk.customer.accepted", {"engineer": name, "number": ticket.number}),
                          purpose="accepted", status_update=True)
    dispatcher = await dispatcher_of(ctx, ticket)
    if dispatcher not in (None, ctx.person.id):
        await ctx.notify(dispatcher, Msg("desk.dispatch.accepted_notice", {"engineer": name, "number": ticket.number}),
                         purpose="accepted", ticket_id=ticket.id, valid_if=still(ticket=ticket.id, assignee=ctx.person.id))
    ctx.toast = ctx.t("desk.dispatch.toast_accepted")


@routes.callback("dec", roles=ENGINEER)
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
