"""Unanswered acknowledgement chase: a check-in the supervisor has not answered (需收到上司回复).

The ladder, per :class:`models.work.Acknowledgement` row (``[chase]`` config):

1. ``ack_reminder`` after the supervisor got the check-in → reminder 1 to the supervisor;
2. every ``ack_repeat`` of chase time after that → reminders 2 … ``ack_max_reminders``;
3. the next step escalates to the manager of the ticket's team (with the same **Acknowledge**
   button), tells the engineer, and records it on the ticket's timeline.  With no manager to
   escalate to, the supervisor gets a last word that nobody else will be told, the engineer is
   told to call, and the timeline says so.

Chase time is working time, except for severity-1 tickets (round the clock, and every message
urgent: it bypasses quiet hours).  A check-in made outside working hours reaches the supervisor at
the next opening (quiet hours), so its first reminder counts from there, not from the night.

An acknowledgement ends the chase at once: the scan only sees rows with ``acked_at IS NULL``
(partial index ``ix_ack_next_reminder``), and every claim also requires it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.cards import title
from handlers.messages import L, Lines, Msg, Raw
from handlers.times import When
from models.lifecycle import FINAL_STATES
from models.people import Team
from models.queries import person_name
from models.tickets import Ticket
from models.transitions import record_event
from models.still import still
from models.work import Acknowledgement, Checkin
from scheduler.base import BATCH, claim, in_batches, send

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


async def run(app: App, now: datetime) -> int:
    return await in_batches(_batch, app, now)


async def _batch(app: App, now: datetime) -> tuple[int, int]:
    async with app.db.write() as session:
        rows = (await session.execute(
            select(Acknowledgement, Checkin, Ticket)
            .join(Checkin, Checkin.id == Acknowledgement.checkin_id)
            .join(Ticket, Ticket.id == Checkin.ticket_id)
            .where(Acknowledgement.acked_at.is_(None), Acknowledgement.next_reminder_at <= now)
            .order_by(Acknowledgement.next_reminder_at, Acknowledgement.id)
            .limit(BATCH)
        )).all()
        acted = 0
        for ack, checkin, ticket in rows:
            try:
                async with session.begin_nested():  # one bad row does not hold up the others
                    acted += await _step(session, app, ack, checkin, ticket, now)
            except Exception:
                log.exception("ack chase of acknowledgement %s failed; retried next tick", ack.id)
        return acted, len(rows)


async def _step(session: AsyncSession, app: App, ack: Acknowledgement, checkin: Checkin, ticket: Ticket,
                now: datetime) -> int:
    chase = app.config.chase
    expected = {"acked_at": None, "next_reminder_at": ack.next_reminder_at, "reminder_count": ack.reminder_count}
    if ticket.status in FINAL_STATES:  # closed or cancelled: nobody needs chasing about it any more
        return int(await claim(session, Acknowledgement, ack.id, expected, {"next_reminder_at": None}))
    urgent = app.sla.urgent(ticket)
    if ack.reminder_count == 0 and not urgent:
        first = app.calendar.next_opening(ack.created_at) + chase.ack_reminder
        if first > now:  # made at night: the supervisor only saw it at the opening
            return int(await claim(session, Acknowledgement, ack.id, expected, {"next_reminder_at": first}))
    if ack.reminder_count < chase.ack_max_reminders:
        return await _remind(session, app, ack, checkin, ticket, now, expected, urgent)
    return await _escalate(session, app, ack, checkin, ticket, now, expected, urgent)


def _facts(app: App, checkin: Checkin, engineer: str) -> dict:
    """What a reminder says of the check-in; its time worded for when the reminder arrives (a
    reminder held overnight says "18:40 yesterday", :class:`handlers.times.When`)."""
    return {"engineer": Raw(engineer), "kind": L(f"desk.ack.kind_{checkin.kind.value}"),
            "time": When(checkin.server_at, app.tz)}


def _card(line: L, ticket: Ticket, checkin: Checkin, *, button: bool = True) -> Msg:
    parts = [line, title(ticket)]
    if checkin.text:
        parts.append(Raw(checkin.text))
    buttons = [[("btn.ack", f"ack:{checkin.id}")]] if button else []
    return Msg(body=Lines(tuple(parts)), buttons=buttons)


async def _remind(session: AsyncSession, app: App, ack: Acknowledgement, checkin: Checkin, ticket: Ticket,
                  now: datetime, expected: dict, urgent: bool) -> int:
    chase = app.config.chase
    n = ack.reminder_count + 1
    following = app.sla.chase_calendar(ticket).add(now, chase.ack_repeat)
    if not await claim(session, Acknowledgement, ack.id, expected,
                       {"reminder_count": n, "next_reminder_at": following}):
        return 0
    facts = _facts(app, checkin, await person_name(session, checkin.engineer_id))
    msg = _card(L("chase.ack.remind", {**facts, "n": n, "max": chase.ack_max_reminders}), ticket, checkin)
    # ref "checkin:ID": replying to the reminder relays and acknowledges, like the check-in itself.
    if not await send(session, app, ack.supervisor_id, msg, dedupe=f"ack:{ack.id}:remind:{n}", now=now,
                      ticket_id=ticket.id, purpose="ack_reminder", urgent=urgent, ref=f"checkin:{checkin.id}",
                      valid_if=still(ack=ack.id)):
        record_event(session, ticket, "chase_ack_unreached", now=now, checkin_id=checkin.id,
                     name=await person_name(session, ack.supervisor_id), n=n)
    return 1


async def _escalate(session: AsyncSession, app: App, ack: Acknowledgement, checkin: Checkin, ticket: Ticket,
                    now: datetime, expected: dict, urgent: bool) -> int:
    if not await claim(session, Acknowledgement, ack.id, expected, {"next_reminder_at": None}):
        return 0
    count = ack.reminder_count
    team = await session.get(Team, ticket.team_id) if ticket.team_id else None
    manager_id = team.manager_id if team and team.manager_id != ack.supervisor_id else None
    engineer = await person_name(session, checkin.engineer_id)
    supervisor = await person_name(session, ack.supervisor_id)
    facts = {**_facts(app, checkin, engineer), "supervisor": Raw(supervisor), "count": count}
    escalated = manager_id is not None and await send(
        session, app, manager_id, _card(L("chase.ack.escalate", facts), ticket, checkin),
        dedupe=f"ack:{ack.id}:escalate", now=now, ticket_id=ticket.id, purpose="ack_escalation", urgent=urgent,
        ref=f"checkin:{checkin.id}", valid_if=still(ack=ack.id))
    told = {**facts, "number": ticket.number}
    if escalated:
        manager = await person_name(session, manager_id)
        await session.execute(update(Acknowledgement).where(Acknowledgement.id == ack.id)
                              .values(escalation_level=1).execution_options(synchronize_session=False))
        await send(session, app, checkin.engineer_id,
                   Msg("chase.ack.escalated_engineer", {**told, "manager": Raw(manager)}),
                   dedupe=f"ack:{ack.id}:escalated", now=now, ticket_id=ticket.id, purpose="ack_escalation",
                   urgent=urgent, valid_if=still(ack=ack.id))
        record_event(session, ticket, "chase_ack_escalated", now=now, checkin_id=checkin.id, count=count,
                     manager_id=manager_id, manager=manager)
        return 1
    # Nobody above the supervisor (no manager, or they cannot be reached): say so to both sides.
    team_name = team.name if team else ""
    await send(session, app, ack.supervisor_id,
               _card(L("chase.ack.no_manager", {**facts, "team": Raw(team_name)}), ticket, checkin),
               dedupe=f"ack:{ack.id}:no_manager", now=now, ticket_id=ticket.id, purpose="ack_escalation",
               urgent=urgent, ref=f"checkin:{checkin.id}", valid_if=still(ack=ack.id))
    await send(session, app, checkin.engineer_id, Msg("chase.ack.unanswered_engineer", told),
               dedupe=f"ack:{ack.id}:unanswered", now=now, ticket_id=ticket.id, purpose="ack_escalation",
               urgent=urgent, valid_if=still(ack=ack.id))
    record_event(session, ticket, "chase_ack_not_escalated", now=now, checkin_id=checkin.id, count=count)
    return 1
