"""SLA chase: the regulations' time limits (DESIGN §2) walk up their ladder without anyone watching.

Per running clock (respond / arrive / resolve) the ladder is

* ``NONE → WARNED`` at ``[sla] warn_at`` of the clock (e.g. 80 %): the assignee is warned ("due at
  11:00, 12 min left"); an unassigned ticket warns the team supervisor instead;
* ``WARNED → BREACHED`` at the due time: the team supervisor is told;
* ``BREACHED → ESCALATED`` at due + ``escalate_after``: the team manager is told.

:meth:`models.clocks.SlaPolicy.next_step` says when each step is due and
:meth:`~models.clocks.SlaPolicy.plan` keeps ``Ticket.sla_next_at`` at the earliest one, so this job
only scans ``sla_next_at <= now`` by its partial index (``ix_tickets_sla_next``), ``BATCH`` rows
per transaction, oldest first.

Exactly once, with several instances or after a crash:

* a ticket is claimed by a conditional UPDATE that expects the ``sla_next_at``, the three levels
  and the row ``version`` it was read with (the version bump also makes a handler that read the
  ticket before us retry on fresh data, see :mod:`handlers.core`); a second instance's claim finds
  the row changed and sends nothing;
* every message carries the dedupe key ``sla:{ticket id}:{clock}:{level}:{due, UTC ISO}``.  The
  level stored on the ticket is what keeps a level to one message per clock; the due time in the
  key is the backstop's scope.  A pause does not reset the levels (the clock keeps exactly the
  time that was left, so a warning given before the pause is still true after it), so it never
  warns twice; but if a future rule restarts a ladder for a *new* due time (e.g. a reopened
  ticket given a fresh resolve clock), the new due time gets its own keys and may warn again,
  while the same level for the same due time can never go out twice.

Paused, closed and cancelled tickets are not chased: ``plan`` leaves ``sla_next_at`` empty while
paused and ``on_transition`` clears it on cancel; a row found here anyway is simply cleared.

Quiet hours: severity-1 tickets (24×7 clocks) are urgent and go out at once, day or night; for
the others :func:`handlers.context.push` holds the message until the next working period.
A warning whose clock is already overdue when the job gets to it (the scheduler was down, or a
ticket was reopened past its due time) is not sent — "N min left" would be false — the breach
that follows in the same run says it better.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import L, Msg, Raw
from models.clocks import BREACHED, ESCALATED, NONE, WARNED
from models.enums import Role
from models.lifecycle import FINAL_STATES
from models.people import Person, Team
from models.runtime import OutboxMessage
from models.sla import CLOCKS
from models.tickets import Ticket
from models.transitions import record_event
from scheduler.base import BATCH, claim, send

if TYPE_CHECKING:
    from bot.app import App

LEVEL_NAMES = {NONE: "none", WARNED: "warned", BREACHED: "breached", ESCALATED: "escalated"}
#: A run handles at most this many full batches; a bigger backlog continues at the next tick.
MAX_BATCHES = 20
_MINUTE = timedelta(minutes=1)
_COPIED = ("id", "number", "severity", "service_type", "status", "paused_at", "sla_start_at", "sla_next_at",
           "assignee_id", "team_id", "version",
           *(f"{clock}_{part}" for clock in CLOCKS for part in ("due_at", "met_at", "level")))


class _Draft:
    """The ticket's clock columns copied off the ORM row: the ladder is worked out on this copy,
    and only a successful claim writes it back (the session's row stays untouched, so no flush
    can race the conditional UPDATE)."""

    def __init__(self, ticket: Ticket):
        for name in _COPIED:
            setattr(self, name, getattr(ticket, name))


def due_steps(app: App, draft: Any, now: datetime) -> list[tuple[datetime, str, int]]:
    """Climb every running clock's ladder up to ``now`` on ``draft``; returns (when, clock, new
    level) in the order the steps fell due, then replans ``draft.sla_next_at``."""
    steps: list[tuple[datetime, str, int]] = []
    for clock in app.sla.running(draft):
        while (level := getattr(draft, f"{clock}_level")) < ESCALATED:
            when = app.sla.next_step(draft, clock)
            if when is None or when > now:
                break
            setattr(draft, f"{clock}_level", level + 1)
            steps.append((when, clock, level + 1))
    app.sla.plan(draft)
    steps.sort(key=lambda s: (s[0], CLOCKS.index(s[1]), s[2]))
    return steps


async def run(app: App, now: datetime) -> int:
    """One scan; returns how many tickets moved up a ladder."""
    acted = 0
    for _ in range(MAX_BATCHES):
        async with app.db.write() as session:
            tickets = (await session.scalars(
                select(Ticket)
                .where(Ticket.sla_next_at.is_not(None), Ticket.sla_next_at <= now)
                .order_by(Ticket.sla_next_at, Ticket.id)
                .limit(BATCH)
            )).all()
            for ticket in tickets:
                acted += await _chase(session, app, ticket, now)
        if len(tickets) < BATCH:
            break
    return acted


async def _chase(session: AsyncSession, app: App, ticket: Ticket, now: datetime) -> int:
    expected = {"sla_next_at": ticket.sla_next_at, "version": ticket.version,
                **{f"{clock}_level": getattr(ticket, f"{clock}_level") for clock in CLOCKS}}
    unchanged = {"version": ticket.version + 1, "updated_at": ticket.updated_at}
    if ticket.status in FINAL_STATES or ticket.paused_at is not None:
        await claim(session, Ticket, ticket.id, expected, {"sla_next_at": None, **unchanged})
        return 0
    draft = _Draft(ticket)
    steps = due_steps(app, draft, now)
    changes = {"sla_next_at": draft.sla_next_at, **unchanged,
               **{f"{clock}_level": getattr(draft, f"{clock}_level") for clock in CLOCKS}}
    if not await claim(session, Ticket, ticket.id, expected, changes):
        return 0  # another instance (or a handler) got there first; its view is the newer one
    for _when, clock, level in steps:
        await _step(session, app, draft, clock, level, now)
    return 1 if steps else 0


async def _step(session: AsyncSession, app: App, draft: _Draft, clock: str, level: int, now: datetime) -> None:
    due: datetime = getattr(draft, f"{clock}_due_at")
    left = app.sla.remaining(draft, clock, now) or timedelta(0)
    if level == WARNED and left <= timedelta(0):
        return  # already overdue: no "N min left"; the breach follows in this same run
    team = await session.get(Team, draft.team_id) if draft.team_id is not None else None
    supervisor = team.supervisor_id if team else None
    engineer = await session.get(Person, draft.assignee_id) if draft.assignee_id is not None else None
    params: dict[str, Any] = {"number": draft.number, "clock": L(f"sla.clock.{clock}"),
                              "due": Raw(_when(app, due, now))}
    if level == WARNED:
        to, role = (draft.assignee_id, Role.ENGINEER) if draft.assignee_id else (supervisor, Role.SUPERVISOR)
        msg = Msg("sla.warn", {**params, "left": left // _MINUTE})
    else:
        name = Raw(engineer.name) if engineer else L("sla.nobody")
        if level == BREACHED:
            to, role = supervisor, Role.SUPERVISOR
            msg = Msg("sla.breach", {**params, "engineer": name})
        else:
            to, role = (team.manager_id if team else None), Role.MANAGER
            msg = Msg("sla.escalate", {**params, "engineer": name, "overdue": -left // _MINUTE})
    kind = LEVEL_NAMES[level]
    key = f"sla:{draft.id}:{clock}:{kind}:{due.isoformat()}"
    if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
        return  # already said (the claim was fooled by a stale copy): neither send nor record it twice
    sent = await send(session, app, to, msg, dedupe=key, now=now, ticket_id=draft.id, purpose=f"sla_{kind}",
                      urgent=app.sla.urgent(draft))
    record_event(session, draft, f"sla_{kind}", now=now, clock=clock, due=due.isoformat(), to=to,
                 role=role.value, sent=sent)


def _when(app: App, due: datetime, now: datetime) -> str:
    """``HH:MM`` in the team's zone; with the date when it is not today."""
    local = app.local(due)
    return local.strftime("%H:%M") if local.date() == app.local(now).date() else local.strftime("%m-%d %H:%M")
