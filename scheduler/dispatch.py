"""Unaccepted dispatch chase: a dispatched ticket nobody has accepted or declined.

:meth:`models.clocks.SlaPolicy.on_transition` sets ``dispatch_next_at`` (``dispatch_reminder`` of
chase time after the dispatch) and ``dispatch_chase_level = 0`` on every DISPATCH / REASSIGN, and
clears it on accept, decline and cancel.  The ladder (``Ticket.dispatch_chase_level``):

* level 0 → remind the engineer: the dispatch card again with **Accept** / **Decline**; level 1,
  next step ``dispatch_escalate`` of chase time after the dispatch;
* level 1 → alert the dispatcher (who dispatched it last) and the team supervisor, once each,
  with a **Reassign** button (``rsg:TICKET``, :mod:`handlers.flows.reassign`); level 2, done.

A row whose ticket is no longer waiting for acceptance just has its ``dispatch_next_at`` cleared.
Every claim requires ``dispatch_next_at``, ``dispatch_chase_level`` and ``status`` unchanged and
bumps the ticket's version, so a handler that changed the ticket meanwhile starts over instead of
overwriting the chase.  Dedupe keys carry the dispatch time: a reassigned ticket is chased anew.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.cards import dispatch_card, title
from handlers.messages import L, Lines, Msg, Raw
from handlers.times import When
from models.enums import Role, TicketStatus
from models.people import Person, Team
from models.queries import latest_dispatcher
from models.still import job_offer
from models.tickets import DISPATCH_ALERTED, DISPATCH_REMINDED, Ticket
from models.transitions import record_event
from scheduler.base import BATCH, claim, in_batches, send

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
#: Who may press **Reassign** (handlers.flows.reassign); only they get the desk alert.
DESK = frozenset({Role.SUPERVISOR, Role.DISPATCHER})
REMINDED, ALERTED = DISPATCH_REMINDED, DISPATCH_ALERTED


async def run(app: App, now: datetime) -> int:
    return await in_batches(_batch, app, now)


async def _batch(app: App, now: datetime) -> tuple[int, int]:
    async with app.db.write() as session:
        tickets = (await session.scalars(
            select(Ticket).where(Ticket.dispatch_next_at.is_not(None), Ticket.dispatch_next_at <= now)
            .order_by(Ticket.dispatch_next_at, Ticket.id).limit(BATCH)
        )).all()
        acted = 0
        for ticket in tickets:
            try:
                async with session.begin_nested():  # one bad row does not hold up the others
                    acted += await _step(session, app, ticket, now)
            except Exception:
                log.exception("dispatch chase of ticket %s failed; retried next tick", ticket.id)
        return acted, len(tickets)


async def _step(session: AsyncSession, app: App, ticket: Ticket, now: datetime) -> int:
    expected = {"dispatch_next_at": ticket.dispatch_next_at, "dispatch_chase_level": ticket.dispatch_chase_level,
                "status": ticket.status}
    bump = {"version": Ticket.version + 1}
    if ticket.status is not TicketStatus.DISPATCHED or ticket.assignee_id is None or ticket.dispatched_at is None:
        return int(await claim(session, Ticket, ticket.id, expected, {"dispatch_next_at": None, **bump}))
    urgent = app.sla.urgent(ticket)
    stamp = f"dispatch:{ticket.id}:{ticket.dispatched_at.isoformat()}"
    # Held for the morning, a reminder or alert applies only if the job still waits for this engineer.
    still_waiting = job_offer(ticket, ticket.assignee_id)["valid_if"]
    when = When(ticket.dispatched_at, app.tz)  # worded for when the push arrives
    if ticket.dispatch_chase_level < REMINDED:
        escalate_at = app.sla.chase_calendar(ticket).add(ticket.dispatched_at, app.config.chase.dispatch_escalate)
        if not await claim(session, Ticket, ticket.id, expected,
                           {"dispatch_chase_level": REMINDED, "dispatch_next_at": escalate_at, **bump}):
            return 0
        msg = dispatch_card(ticket, app.tz, L("chase.dispatch.remind", {"number": ticket.number, "time": when}))
        # ref "dispatch:ID": pressing Accept / Decline on the reminder edits it like the first card.
        if not await send(session, app, ticket.assignee_id, msg, dedupe=f"{stamp}:remind", now=now,
                          ticket_id=ticket.id, purpose="dispatch_reminder", urgent=urgent,
                          ref=f"dispatch:{ticket.id}", valid_if=still_waiting):
            person = await session.get(Person, ticket.assignee_id)
            record_event(session, ticket, "chase_dispatch_unreached", now=now, name=person.name if person else "")
        return 1
    if not await claim(session, Ticket, ticket.id, expected,
                       {"dispatch_chase_level": ALERTED, "dispatch_next_at": None, **bump}):
        return 0
    engineer = await session.get(Person, ticket.assignee_id)
    msg = Msg(body=Lines((L("chase.dispatch.alert", {"number": ticket.number, "time": when,
                                                     "engineer": Raw(engineer.name if engineer else "")}),
                          title(ticket))),
              buttons=[[("chase.btn.reassign", f"rsg:{ticket.id}")]])
    reached = []
    for person in await _desk(session, ticket):
        if await send(session, app, person.id, msg, dedupe=f"{stamp}:alert:{person.id}", now=now,
                      ticket_id=ticket.id, purpose="dispatch_alert", urgent=urgent, ref=f"dspalert:{ticket.id}",
                      valid_if=still_waiting):
            reached.append(person.name)
    if reached:
        record_event(session, ticket, "chase_dispatch_alerted", now=now, names=reached)  # joined per language
    else:
        record_event(session, ticket, "chase_dispatch_nobody", now=now)
    return 1


async def _desk(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """The dispatcher of the latest dispatch and the team supervisor: each once, desk roles only."""
    team = await session.get(Team, ticket.team_id) if ticket.team_id else None
    ids = [await latest_dispatcher(session, ticket.id), team.supervisor_id if team else None]
    people = []
    for person_id in dict.fromkeys(i for i in ids if i is not None):
        person = await session.get(Person, person_id)
        if person is not None and person.role in DESK:
            people.append(person)
    return people
