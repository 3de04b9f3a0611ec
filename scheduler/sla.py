"""SLA chase: the regulations' time limits (DESIGN §2) walk up their ladder without anyone watching.

Per running clock (respond / arrive / resolve) the ladder is

* ``NONE → WARNED`` at ``[sla] warn_at`` of the clock (e.g. 80 %): the assignee is warned ("due at
  11:00, 12 min left"); an unassigned ticket warns the team supervisor instead;
* ``WARNED → BREACHED`` at the due time: the team supervisor is told;
* ``BREACHED → ESCALATED`` at due + ``escalate_after``: the team manager is told.

:meth:`models.clocks.SlaPolicy.next_step` says when each step is due and
:meth:`~models.clocks.SlaPolicy.plan` keeps ``Ticket.sla_next_at`` at the earliest one, so this job
only scans ``sla_next_at <= now`` by its partial index (``ix_tickets_sla_next``), ``BATCH`` rows
at a time, oldest first — worked out in a read session, then written ``WRITE_CHUNK`` tickets per
write transaction (:func:`run`).

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
  while the same level for the same due time can never go out twice.  The batch looks its keys
  up once before sending, so a step already in the outbox is neither sent nor recorded again,
  and a step's timeline event (``sla_warned`` / ``sla_breached`` / ``sla_escalated``, with
  ``sent`` false when nobody could be reached) is written with its message.

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

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import push
from handlers.messages import L, Msg, Raw
from handlers.times import When
from models.clocks import BREACHED, ESCALATED, NONE, WARNED
from models.enums import Role
from models.lifecycle import FINAL_STATES
from models.people import Person, Team
from models.runtime import OutboxMessage
from models.sla import CLOCKS
from models.still import still
from models.tickets import Ticket
from models.transitions import record_event
from scheduler.base import claim_statement

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


#: Due tickets worked out at a time (in a read session: the writer is not held meanwhile).
BATCH = 500
#: Tickets claimed (and their messages and events written) per write transaction: the writer
#: is held a few milliseconds at a time, so a reply never waits long behind a scan.
WRITE_CHUNK = 50


async def run(app: App, now: datetime) -> int:
    """One scan; returns how many tickets moved up a ladder.

    Each batch is worked out in a read session, outside the write transaction (tickets, keys,
    people and their chats loaded once, messages rendered); then it is written ``WRITE_CHUNK``
    tickets at a time: each ticket's conditional claim, then its messages and timeline events in
    two bulk inserts.  A ticket whose claim fails (a handler or another instance changed it since
    it was read) writes nothing and is found again, fresh, by the next batch or tick."""
    acted = 0
    for _ in range(MAX_BATCHES):
        async with app.db.read() as session:
            found, plans = await _batch(session, app, now)
        for i in range(0, len(plans), WRITE_CHUNK):
            chunk = plans[i:i + WRITE_CHUNK]
            acted += await app.db.unit(lambda session, chunk=chunk: _write(session, chunk))
        if found < BATCH:
            break
    return acted


class _Plan:
    """One ticket's share of a scan: its claim and what goes with it (rows as column dicts)."""

    def __init__(self, claim: Any, moved: int) -> None:  # noqa: ANN401
        self.claim, self.moved = claim, moved
        self.rows: list[Any] = []  # OutboxMessage / TicketEvent objects, never in a session


class _Recorder:
    """A session for :func:`handlers.context.push` and :func:`record_event` that reads through
    the read session and keeps what they add instead of writing it."""

    def __init__(self, session: AsyncSession):
        self._session = session
        self.added: list[Any] = []

    def add(self, obj: Any) -> None:  # noqa: ANN401
        self.added.append(obj)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(self._session, name)


def _columns(obj: Any) -> dict[str, Any]:  # noqa: ANN401
    table = type(obj).__table__
    return {c.key: getattr(obj, c.key) for c in table.columns if c.key in obj.__dict__}


async def _write(session: AsyncSession, chunk: list[_Plan]) -> int:
    """Claim each ticket of ``chunk``; insert the claimed ones' rows in bulk (one INSERT per table
    and set of columns).  Returns how many tickets moved."""
    sync = session.sync_connection() if hasattr(session, "sync_connection") else None  # SQLite's writer thread
    moved = 0
    rows: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
    for plan in chunk:
        result = sync.execute(plan.claim) if sync is not None else await session.execute(plan.claim)
        if result.rowcount != 1:
            continue  # changed since it was read: found again, fresh, next time
        moved += plan.moved
        for obj in plan.rows:
            values = _columns(obj)
            rows.setdefault((type(obj).__table__, tuple(sorted(values))), []).append(values)
    for (table, _keys), values in rows.items():
        if sync is not None:
            sync.execute(insert(table), values)
        else:
            await session.execute(insert(table), values)
    return moved


class _Crew:
    """The teams and people a batch talks to, loaded once and held (the session's identity map
    is weak, so without these references every lookup would go back to the database)."""

    def __init__(self, teams: dict[int, Team], people: dict[int, Person]):
        self.teams, self.people = teams, people

    @classmethod
    async def load(cls, session: AsyncSession, tickets: list[Ticket]) -> _Crew:
        team_ids = {t.team_id for t in tickets if t.team_id is not None}
        teams = {t.id: t for t in (await session.scalars(select(Team).where(Team.id.in_(team_ids)))).all()} \
            if team_ids else {}
        ids = {t.assignee_id for t in tickets} | {t.supervisor_id for t in teams.values()} \
            | {t.manager_id for t in teams.values()}
        ids.discard(None)
        people = {p.id: p for p in (await session.scalars(select(Person).where(Person.id.in_(ids)))).all()} \
            if ids else {}
        return cls(teams, people)


async def _batch(session: AsyncSession, app: App, now: datetime) -> tuple[int, list[_Plan]]:
    """Work out up to ``BATCH`` due tickets (read only); returns (found, plans)."""
    tickets = list((await session.scalars(
        select(Ticket)
        .where(Ticket.sla_next_at.is_not(None), Ticket.sla_next_at <= now)
        .order_by(Ticket.sla_next_at, Ticket.id)
        .limit(BATCH)
    )).all())
    if not tickets:
        return 0, []
    work = []
    for ticket in tickets:
        chased = ticket.status not in FINAL_STATES and ticket.paused_at is None
        draft = _Draft(ticket)
        work.append((ticket, draft, due_steps(app, draft, now) if chased else None))
    said = await _keys_used(session, [_key(d, clock, level) for _t, d, steps in work for _w, clock, level in steps or ()])
    crew = await _Crew.load(session, tickets)
    plans = []
    with session.no_autoflush:
        for ticket, draft, steps in work:
            plans.append(await _chase(session, app, ticket, draft, steps, now, said, crew))
    return len(tickets), plans


async def _keys_used(session: AsyncSession, keys: list[str]) -> set[str]:
    used: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        used |= set((await session.scalars(select(OutboxMessage.dedupe_key)
                                           .where(OutboxMessage.dedupe_key.in_(chunk)))).all())
    return used


def _key(draft: Any, clock: str, level: int) -> str:
    return f"sla:{draft.id}:{clock}:{LEVEL_NAMES[level]}:{getattr(draft, f'{clock}_due_at').isoformat()}"


async def _chase(session: AsyncSession, app: App, ticket: Ticket, draft: _Draft,
                 steps: list[tuple[datetime, str, int]] | None, now: datetime, said: set[str], crew: _Crew) -> _Plan:
    expected = {"sla_next_at": ticket.sla_next_at, "version": ticket.version,
                **{f"{clock}_level": getattr(ticket, f"{clock}_level") for clock in CLOCKS}}
    unchanged = {"version": ticket.version + 1, "updated_at": ticket.updated_at}
    if steps is None:  # closed, cancelled or paused: nothing to chase, just stop looking at it
        return _Plan(claim_statement(Ticket, ticket.id, expected, {"sla_next_at": None, **unchanged}), 0)
    changes = {"sla_next_at": draft.sla_next_at, **unchanged,
               **{f"{clock}_level": getattr(draft, f"{clock}_level") for clock in CLOCKS}}
    plan = _Plan(claim_statement(Ticket, ticket.id, expected, changes), 1 if steps else 0)
    recorder = _Recorder(session)
    for _when, clock, level in steps:
        if _key(draft, clock, level) not in said:  # else a stale copy fooled the claim: said already
            await _step(recorder, app, draft, clock, level, now, crew)
    plan.rows = recorder.added
    return plan


async def _step(session: AsyncSession, app: App, draft: _Draft, clock: str, level: int, now: datetime,
                crew: _Crew) -> None:
    due: datetime = getattr(draft, f"{clock}_due_at")
    left = app.sla.remaining(draft, clock, now) or timedelta(0)
    if level == WARNED and left <= timedelta(0):
        return  # already overdue: no "N min left"; the breach follows in this same run
    team = crew.teams.get(draft.team_id)
    supervisor = team.supervisor_id if team else None
    engineer = crew.people.get(draft.assignee_id)
    params: dict[str, Any] = {"number": draft.number, "clock": L(f"sla.clock.{clock}"),
                              "due": When(due, app.tz)}
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
    # ``push`` directly rather than ``base.send``: the keys were checked above for the whole batch,
    # and a savepoint per message would flush row by row.  Should a key still collide (a second
    # instance racing past its claim, which the row lock prevents), the batch rolls back whole and
    # the next tick sees the committed key.
    sent = to is not None and await push(session, app, to, msg, purpose=f"sla_{kind}", ticket_id=draft.id,
                                         dedupe=_key(draft, clock, level), now=now, urgent=app.sla.urgent(draft),
                                         valid_if=still(ticket=draft.id, clock=clock))
    record_event(session, draft, f"sla_{kind}", now=now, clock=clock, due=due.isoformat(), to=to,
                 role=role.value, sent=sent)

