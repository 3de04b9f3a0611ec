"""Missing daily check-in: on site, the engineer reports progress to the supervisor at least once a
day (DESIGN §2, 需每日汇报).  At ``[chase] daily_checkin_due`` (team local time) on a working day,
an engineer with on-site work under way and no progress check-in today is reminded; if there is
still none ``daily_checkin_escalate`` later, their supervisor is told.

What counts as work under way: an on-site ticket assigned to the engineer that is ``on_site`` or
``paused`` and that they reached before today's due time (someone who arrives at 19:00 reports
tomorrow).  Desk tickets (phone / remote) are not chased: the regulations ask for the daily report
on site, and desk work is held to hours by its own SLA clocks.  The check is per ticket, so an
engineer on two sites who reported on one is reminded of the other.

There is no deadline column: the moments come from the calendar and the config, and the outbox's
dedupe keys (``daily:{date}:{engineer}:remind|escalate``) make every run after the first a no-op,
so the scan can run every tick and on two instances at once.  Both queries are index scans: the
tickets by status (``ix_tickets_status_assignee``), the day's check-ins by engineer and time
(``ix_checkins_engineer_time``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.times import When
from handlers.messages import Listed, Msg, Raw
from models.enums import CheckinKind, Role, ServiceType, TicketStatus
from models.people import Person, Team
from models.runtime import OutboxMessage
from models.still import still
from models.tickets import Ticket
from models.transitions import record_event
from models.work import Checkin
from scheduler.base import send

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
#: On-site work in these states needs a progress report every working day.
WORKING = (TicketStatus.ON_SITE, TicketStatus.PAUSED)
#: Engineers looked at per query (keeps ``IN (...)`` lists small).
CHUNK = 500


@dataclass
class Missing:
    """One engineer's tickets without a progress check-in today."""

    engineer_id: int
    tickets: list[Ticket] = field(default_factory=list)

    @property
    def numbers(self) -> Listed:
        """The ticket numbers, joined the reader's way ("FS-1, FS-2" / "FS-1、FS-2")."""
        return Listed(tuple(t.number for t in sorted(self.tickets, key=lambda t: t.number)))

    @property
    def most_severe(self) -> Ticket:
        """The ticket whose severity decides quiet hours (severity 1 is never held back)."""
        return min(self.tickets, key=lambda t: (t.severity, t.id))


def moments(app: App, day: date) -> tuple[datetime, datetime, datetime] | None:
    """(start of the local day, reminder time, escalation time) in UTC; None on a day off.

    The escalation stays on the same local day: a config whose due time plus delay passes midnight
    escalates at 23:59 rather than never (the scan looks at today only).
    """
    if app.calendar.hours_on(day) is None:
        return None
    tz = app.tz
    start = datetime.combine(day, time(0), tz)
    due = datetime.combine(day, app.config.chase.daily_checkin_due, tz)
    last = datetime.combine(day, time(23, 59), tz)
    escalate = min(due + app.config.chase.daily_checkin_escalate, last)
    return start, due, max(escalate, due)


def key(day: date, engineer_id: int, step: str) -> str:
    return f"daily:{day.isoformat()}:{engineer_id}:{step}"


def working_tickets() -> Select:
    """On-site tickets being worked, by engineer (index ``ix_tickets_status_assignee``)."""
    return (select(Ticket)
            .where(Ticket.status.in_(WORKING), Ticket.assignee_id.is_not(None),
                   Ticket.service_type == ServiceType.ONSITE)
            .order_by(Ticket.assignee_id, Ticket.id))


def reported(engineers: list[int], since: datetime) -> Select:
    """(engineer, ticket) pairs with a progress check-in since ``since`` (``ix_checkins_engineer_time``)."""
    return (select(Checkin.engineer_id, Checkin.ticket_id)
            .where(Checkin.engineer_id.in_(engineers), Checkin.server_at >= since,
                   Checkin.kind == CheckinKind.PROGRESS)
            .distinct())


async def missing_checkins(session: AsyncSession, day_start: datetime, due: datetime) -> list[Missing]:
    """Engineers with on-site work under way and, per ticket, no progress check-in since ``day_start``."""
    tickets = (await session.scalars(working_tickets())).all()
    by_engineer: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        if ticket.arrived_at is None or ticket.arrived_at < due:
            by_engineer[ticket.assignee_id].append(ticket)
    engineers = sorted(by_engineer)
    done: set[tuple[int, int]] = set()
    for i in range(0, len(engineers), CHUNK):
        rows = await session.execute(reported(engineers[i:i + CHUNK], day_start))
        done.update((e, t) for e, t in rows.all())
    out = []
    for engineer_id in engineers:
        open_ = [t for t in by_engineer[engineer_id] if (engineer_id, t.id) not in done]
        if open_:
            out.append(Missing(engineer_id, open_))
    return out


async def _supervisor(session: AsyncSession, engineer: Person, tickets: list[Ticket]) -> int | None:
    """The engineer's own team supervisor, else the supervisor of one of the tickets' teams."""
    team_ids = [engineer.team_id] + [t.team_id for t in tickets]
    for team_id in team_ids:
        if team_id is None:
            continue
        team = await session.get(Team, team_id)
        if team is not None and team.supervisor_id is not None and team.supervisor_id != engineer.id:
            return team.supervisor_id
    return None


async def _already(session: AsyncSession, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        found.update((await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys[i:i + CHUNK])))).all())
    return found


async def run(app: App, now: datetime) -> int:
    """One scan of today's (team-local) daily check-ins; returns the number of messages written."""
    day = now.astimezone(app.tz).date()
    found = moments(app, day)
    if found is None:
        return 0
    day_start, due, escalate_at = found
    if now < due:
        return 0
    steps = ["remind"] + (["escalate"] if now >= escalate_at else [])
    sent = 0
    async with app.db.write() as session:
        missing = await missing_checkins(session, day_start, due)
        if not missing:
            return 0
        done = await _already(session, [key(day, m.engineer_id, s) for m in missing for s in steps])
        for item in missing:
            todo = [s for s in steps if key(day, item.engineer_id, s) not in done]
            if not todo:
                continue
            try:
                async with session.begin_nested():  # one bad row does not hold up the others
                    sent += await _chase(session, app, item, todo, day, due, now)
            except Exception:
                log.exception("daily check-in chase of engineer %s failed; retried next tick", item.engineer_id)
    return sent


async def _chase(session: AsyncSession, app: App, item: Missing, todo: list[str], day: date, due: datetime,
                 now: datetime) -> int:
    engineer = await session.get(Person, item.engineer_id)
    if engineer is None or engineer.role is not Role.ENGINEER:
        return 0
    ticket, sent = item.most_severe, 0
    # Held for the morning, it applies only while the job is still on site (or paused) with them.
    on_site = still(ticket=ticket.id, status={TicketStatus.ON_SITE, TicketStatus.PAUSED}, assignee=engineer.id)
    params = {"engineer": Raw(engineer.name), "numbers": item.numbers, "time": When(due, app.tz)}
    if "remind" in todo:
        if await send(session, app, engineer.id, Msg("followup.daily.remind", params),
                      dedupe=key(day, engineer.id, "remind"), now=now, ticket_id=ticket.id, purpose="daily_checkin",
                      valid_if=on_site):
            sent += 1
            for t in item.tickets:
                record_event(session, t, "daily_checkin_reminded", now=now, engineer=engineer.name)
    if "escalate" in todo:
        supervisor_id = await _supervisor(session, engineer, item.tickets)
        if await send(session, app, supervisor_id, Msg("followup.daily.escalate", params),
                      dedupe=key(day, engineer.id, "escalate"), now=now, ticket_id=ticket.id,
                      purpose="daily_checkin_escalation", valid_if=on_site):
            sent += 1
            for t in item.tickets:
                record_event(session, t, "daily_checkin_escalated", now=now, engineer=engineer.name)
    return sent
