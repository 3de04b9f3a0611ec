"""Reassigning a ticket to another engineer, two ways in, one way out.

* **Any open ticket**, with a reason: ``/reassign NUMBER`` or the **Reassign** button of the
  desk's ``/ticket`` view (``rsr:TICKET``) asks why, then shows the suggested engineers
  (``rsw:TICKET:ENGINEER``).  The reason is typed because it is the record of why the customer's
  job changed hands mid-way (DESIGN §2: complaints and statistics are per engineer).
* **An unaccepted dispatch**: the **Reassign** button of the desk alert that
  :mod:`scheduler.dispatch` sends (``rsg:TICKET``, then ``rsa:TICKET:ENGINEER``).  The reason is
  the catalog text "not accepted in time": the alert only exists for that reason, so asking for
  it would be a step for nothing.

Both end in :func:`_hand_over`: the lifecycle's REASSIGN (reason in the event log), the dispatch
card to the new engineer, a line to the old one.  Checks, as in the other desk flows: role
(supervisor / dispatcher), the ticket visible to this person (:func:`visible_ticket` — another
team's ticket does not exist for them), its state, the engineer an active engineer of the
ticket's team and not the current one, and nothing moved since the person started — so two
people reassigning the same ticket move it once, and the second hears where it went.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from handlers.cards import dispatch_card
from handlers.context import Ctx
from handlers.desk import DESK, REASON_LIMIT, desk_team_id, suggestion_picker, team_engineer
from handlers.dialogs import act, button_arg, leave_flow, own_message, visible_ticket, visible_ticket_by_number
from handlers.i18n import preview, t
from handlers.messages import L, Msg, Raw
from handlers.registry import Routes
from handlers.times import When
from models.enums import Action, TicketStatus
from models.errors import DomainError
from models.lifecycle import OPEN_STATES, next_status
from models.people import Person
from models.queries import person_name
from models.runtime import OutboxMessage
from models.still import job_key, job_offer
from models.tickets import DISPATCH_ALERTED, Ticket

routes = Routes()

FLOW = "reassign"


# -- shared ------------------------------------------------------------------------------------
async def _engineer(ctx: Ctx, ticket: Ticket, team_id: int) -> Person:
    """The engineer the pressed button names, if they may take the ticket over."""
    engineer = await team_engineer(ctx, ticket, team_id)
    if engineer.id == ticket.assignee_id:
        raise DomainError("reassign_same", number=ticket.number, name=engineer.name)
    return engineer


async def _hand_over(ctx: Ctx, ticket: Ticket, engineer: Person, team_id: int, *, reason: str,
                     told_previous: Msg, picker_ref: str) -> str:
    """Move the ticket to ``engineer`` through the lifecycle and tell everyone; returns the old
    engineer's name."""
    previous = ticket.assignee_id
    old_name = await person_name(ctx.session, previous)
    if ticket.team_id is None:
        ticket.team_id = team_id
    act(ctx, ticket, Action.REASSIGN, assignee_id=engineer.id, reason=reason)
    reached = await ctx.notify(engineer.id, dispatch_card(ticket, ctx.app.tz), purpose="dispatch",
                               ticket_id=ticket.id, ref=f"dispatch:{ticket.id}", **job_offer(ticket, engineer.id))
    # If the old engineer's card still waits for the morning they never saw the job: it is
    # withdrawn and they are not told about a job they never had.
    if previous is not None and not await ctx.withdraw(job_key(ticket.id, previous)):
        await ctx.notify(previous, told_previous, purpose="reassigned", ticket_id=ticket.id)
    picker = await own_message(ctx, ref=picker_ref)
    if picker:
        ctx.reply(Msg("chase.reassign.picked", {"number": ticket.number, "name": Raw(engineer.name)},
                      edit_message_id=picker))
    key = "chase.reassign.done" if reached else "chase.reassign.unreachable"
    ctx.reply_telling(key, told=[(engineer.id, engineer.name)], ticket_id=ticket.id, number=ticket.number,
                      old=Raw(old_name), name=Raw(engineer.name))
    ctx.toast = ctx.t("chase.reassign.toast", name=engineer.name)
    return old_name


# -- any open ticket, with a reason ------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def _reassignable(ctx: Ctx, ticket: Ticket) -> None:
    """Open and with an engineer; a new ticket is dispatched, a finished one stays with its engineer."""
    if ticket.status is TicketStatus.NEW:
        raise DomainError("assign_not_assigned", number=ticket.number)
    if ticket.status not in OPEN_STATES or ticket.assignee_id is None:
        raise DomainError("assign_not_open", number=ticket.number, status=ticket.status.value)
    next_status(ticket.status, Action.REASSIGN, ticket.service_type)  # the lifecycle has the last word


async def _unchanged(ctx: Ctx, ticket_id: object) -> Ticket:
    """The dialog's ticket, still visible, reassignable and not (re)dispatched since it began."""
    ticket = await visible_ticket(ctx, ticket_id)
    await _reassignable(ctx, ticket)
    if (_iso(ticket.dispatched_at), ticket.assignee_id) != (ctx.data.get("since"), ctx.data.get("assignee")):
        raise DomainError("assign_moved", number=ticket.number, name=await person_name(ctx.session, ticket.assignee_id))
    return ticket


async def _ask_reason(ctx: Ctx, ticket: Ticket) -> None:
    await _reassignable(ctx, ticket)
    desk_team_id(ctx, ticket)
    ctx.goto(FLOW, "reason", ticket_id=ticket.id, since=_iso(ticket.dispatched_at), assignee=ticket.assignee_id)
    ctx.reply("assign.reassign.ask", number=ticket.number, status=L(f"status.{ticket.status.value}"),
              name=Raw(await person_name(ctx.session, ticket.assignee_id)))


@routes.command("reassign", roles=DESK, menu="assign.menu.reassign")
async def reassign_command(ctx: Ctx) -> None:
    await _ask_reason(ctx, await visible_ticket_by_number(ctx, ctx.inbound.args))


@routes.callback("rsr", roles=DESK)
async def reassign_button(ctx: Ctx) -> None:
    await _ask_reason(ctx, await visible_ticket(ctx, button_arg(ctx, 0)))


@routes.step(FLOW, "reason")
async def reassign_reason(ctx: Ctx) -> None:
    try:
        ticket = await _unchanged(ctx, ctx.data.get("ticket_id"))
    except DomainError as exc:  # moved, closed or reassigned meanwhile
        leave_flow(ctx, exc)
        return
    reason = (ctx.inbound.text or "").strip()
    if not reason or ctx.inbound.photos or ctx.inbound.location:
        ctx.reply("assign.reassign.ask_again", number=ticket.number)
        return
    if len(reason) > REASON_LIMIT:
        ctx.reply("desk.dispatch.reason_too_long", limit=REASON_LIMIT)
        return
    text = L("assign.reassign.pick", {"number": ticket.number, "model": Raw(ticket.product_model),
                                      "address": Raw(ticket.address), "reason": Raw(preview(reason)),
                                      "name": Raw(await person_name(ctx.session, ticket.assignee_id))})
    try:
        await suggestion_picker(ctx, ticket, desk_team_id(ctx, ticket), text, code="rsw",
                                ref=f"rswpick:{ticket.id}", exclude_id=ticket.assignee_id,
                                none_error="reassign_no_engineers")
    except DomainError as exc:
        leave_flow(ctx, exc)
        return
    ctx.goto(FLOW, "pick", reason=reason)


@routes.step(FLOW, "pick")
async def reassign_pick_hint(ctx: Ctx) -> None:
    """Text while the picker is open: the choice is made with a button."""
    ctx.reply("assign.reassign.pick_hint")


@routes.callback("rsw", roles=DESK)
async def reassign_with_reason(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    if ctx.flow != FLOW or ctx.step != "pick" or ctx.data.get("ticket_id") != ticket.id:
        raise DomainError("assign_stale_picker", number=ticket.number)
    try:
        ticket = await _unchanged(ctx, ticket.id)
    except DomainError as exc:
        leave_flow(ctx, exc)
        return
    team_id = desk_team_id(ctx, ticket)
    engineer = await _engineer(ctx, ticket, team_id)
    told = Msg("assign.reassign.taken_off", {"number": ticket.number, "who": Raw(ctx.person.name)})
    await _hand_over(ctx, ticket, engineer, team_id, reason=ctx.data["reason"], told_previous=told,
                     picker_ref=f"rswpick:{ticket.id}")
    ctx.end_flow()


# -- an unaccepted dispatch, from the chase's desk alert -----------------------------------------
async def _pressed_at(ctx: Ctx, ref: str) -> datetime | None:
    """When the bot sent the message whose button was pressed, if it is our message about ``ref``."""
    if ctx.inbound.callback_data is None or ctx.inbound.message_id is None:
        return None  # the plain-text fallback: no message to date
    return await ctx.session.scalar(
        select(OutboxMessage.created_at).where(
            OutboxMessage.channel == ctx.inbound.channel, OutboxMessage.chat_id == ctx.inbound.chat_id,
            OutboxMessage.external_message_id == ctx.inbound.message_id, OutboxMessage.ref == ref).limit(1))


async def _waiting(ctx: Ctx, ticket: Ticket, ref: str) -> int:
    """The ticket's team, if it is still waiting for its engineer to accept and the pressed message
    is not older than its last dispatch."""
    if ticket.status is not TicketStatus.DISPATCHED or ticket.assignee_id is None:
        raise DomainError("reassign_not_waiting", number=ticket.number, status=ticket.status.value)
    sent_at = await _pressed_at(ctx, ref)
    if sent_at is not None and ticket.dispatched_at is not None and ticket.dispatched_at > sent_at:
        raise DomainError("reassign_moved", number=ticket.number, name=await person_name(ctx.session, ticket.assignee_id))
    if ticket.dispatch_chase_level < DISPATCH_ALERTED:  # no alert was sent for this dispatch: forged
        raise DomainError("stale_button")
    return desk_team_id(ctx, ticket)


@routes.callback("rsg", roles=DESK)
async def pick(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    team_id = await _waiting(ctx, ticket, f"dspalert:{ticket.id}")
    text = L("chase.reassign.pick", {
        "number": ticket.number, "model": Raw(ticket.product_model), "address": Raw(ticket.address),
        "name": Raw(await person_name(ctx.session, ticket.assignee_id)), "time": When(ticket.dispatched_at, ctx.app.tz)})
    await suggestion_picker(ctx, ticket, team_id, text, code="rsa", ref=f"rsgpick:{ticket.id}",
                            exclude_id=ticket.assignee_id, none_error="reassign_no_engineers")


@routes.callback("rsa", roles=DESK)
async def reassign_to(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    team_id = await _waiting(ctx, ticket, f"rsgpick:{ticket.id}")
    engineer = await _engineer(ctx, ticket, team_id)
    alerted_since = ticket.dispatched_at
    reason = t(ctx.app.config.bot.language, "chase.reassign.reason_unaccepted")
    told = Msg("chase.reassign.previous", {"number": ticket.number})
    old_name = await _hand_over(ctx, ticket, engineer, team_id, reason=reason, told_previous=told,
                                picker_ref=f"rsgpick:{ticket.id}")
    await _tell_other_desk(ctx, ticket, alerted_since, old_name, engineer.name)


async def _tell_other_desk(ctx: Ctx, ticket: Ticket, since: datetime | None, old: str, new: str) -> None:
    """The others who got the same desk alert learn it is dealt with (their button is now stale)."""
    query = select(OutboxMessage.person_id).where(
        OutboxMessage.ticket_id == ticket.id, OutboxMessage.ref == f"dspalert:{ticket.id}",
        OutboxMessage.person_id.is_not(None), OutboxMessage.person_id != ctx.person.id)
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    for person_id in (await ctx.session.scalars(query.distinct())).all():
        await ctx.notify(person_id, Msg("chase.reassign.others", {
            "who": Raw(ctx.person.name), "number": ticket.number, "old": Raw(old), "name": Raw(new)}),
            purpose="reassigned", ticket_id=ticket.id)
