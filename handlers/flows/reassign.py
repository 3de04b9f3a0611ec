"""Reassigning a dispatch nobody accepted in time: the **Reassign** button of the desk alert that
:mod:`scheduler.dispatch` sends to the dispatcher and the supervisor.

Buttons: ``rsg:TICKET`` (show the team's other active engineers) and ``rsa:TICKET:ENGINEER``
(reassign).  The reason recorded is the catalog text "not accepted in time" in the team's
language: the alert only exists for that reason, so asking for it would be a step for nothing.

Checks, as in the other desk flows: role (supervisor / dispatcher), the ticket visible to this
person (:func:`visible_ticket`), the ticket still waiting for acceptance, the engineer an active
engineer of the ticket's team and not the current one, and the pressed alert or picker not older
than the ticket's last (re)dispatch — so two people pressing Reassign on the same alert move the
ticket once, and the second hears where it went.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select

from handlers.context import Ctx
from handlers.flows.dispatch import BUSY, DESK, label, own_message
from handlers.i18n import t
from handlers.messages import Msg, Raw
from handlers.registry import router
from handlers.tickets import act, button_arg, dispatch_card, local, person_name, visible_ticket
from models.enums import Action, Role, TicketStatus
from models.errors import DomainError
from models.people import Person, Team
from models.runtime import OutboxMessage
from models.tickets import Ticket


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
        raise DomainError("reassign_moved", number=ticket.number, name=await person_name(ctx, ticket.assignee_id))
    team_id = ticket.team_id or ctx.person.team_id
    if team_id is None:
        raise DomainError("desk_no_team", number=ticket.number)
    return team_id


@router.callback("rsg", roles=DESK)
async def pick(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    team_id = await _waiting(ctx, ticket, f"dspalert:{ticket.id}")
    rows = (await ctx.session.execute(
        select(Person.id, Person.name, func.count(Ticket.id))
        .outerjoin(Ticket, and_(Ticket.assignee_id == Person.id, Ticket.status.in_(BUSY)))
        .where(Person.role == Role.ENGINEER, Person.team_id == team_id, Person.active.is_(True),
               Person.id != ticket.assignee_id)
        .group_by(Person.id, Person.name).order_by(Person.name, Person.id)
    )).all()
    if not rows:
        team = await ctx.session.get(Team, team_id)
        raise DomainError("reassign_no_engineers", team=team.name if team else "")
    buttons = [[(label(ctx.t("desk.dispatch.engineer_label", name=name, open=busy)),
                 f"rsa:{ticket.id}:{person_id}")] for person_id, name, busy in rows]
    ctx.reply(Msg("chase.reassign.pick", {
        "number": ticket.number, "model": Raw(ticket.product_model), "address": Raw(ticket.address),
        "name": Raw(await person_name(ctx, ticket.assignee_id)), "time": local(ctx, ticket.dispatched_at),
    }, buttons=buttons), ticket_id=ticket.id, ref=f"rsgpick:{ticket.id}")


@router.callback("rsa", roles=DESK)
async def reassign_to(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    team_id = await _waiting(ctx, ticket, f"rsgpick:{ticket.id}")
    engineer = await ctx.session.get(Person, int(button_arg(ctx, 1)))
    if engineer is None or engineer.role is not Role.ENGINEER or not engineer.active \
            or engineer.team_id != team_id:
        raise DomainError("desk_not_team_engineer", number=ticket.number)
    if engineer.id == ticket.assignee_id:
        raise DomainError("reassign_same", number=ticket.number, name=engineer.name)
    previous, alerted_since = ticket.assignee_id, ticket.dispatched_at
    old_name = await person_name(ctx, previous)
    if ticket.team_id is None:
        ticket.team_id = team_id
    reason = t(ctx.app.config.bot.language, "chase.reassign.reason_unaccepted")
    act(ctx, ticket, Action.REASSIGN, assignee_id=engineer.id, reason=reason)
    reached = await ctx.notify(engineer.id, dispatch_card(ctx, ticket), purpose="dispatch",
                               ticket_id=ticket.id, ref=f"dispatch:{ticket.id}")
    await ctx.notify(previous, Msg("chase.reassign.previous", {"number": ticket.number}),
                     purpose="reassigned", ticket_id=ticket.id)
    await _tell_other_desk(ctx, ticket, alerted_since, old_name, engineer.name)
    picker = await own_message(ctx, ref=f"rsgpick:{ticket.id}")
    if picker:
        ctx.reply(Msg("chase.reassign.picked", {"number": ticket.number, "name": Raw(engineer.name)},
                      edit_message_id=picker))
    key = "chase.reassign.done" if reached else "chase.reassign.unreachable"
    ctx.reply(key, ticket_id=ticket.id, number=ticket.number, old=Raw(old_name), name=Raw(engineer.name))
    ctx.toast = ctx.t("chase.reassign.toast", name=engineer.name)


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
