"""The monthly report pushed to supervisors and managers on the first working day of the month
(DESIGN §2: the monthly statistics), for the month before, each for their own team (staff without
a team get every team), in their own language, with the chart.

Sent once per person per month, by a unique outbox dedupe key ``monthly-report:YYYY-MM:PERSON``: a
second run, a restart or a second instance finds the key taken and sends nothing.  The job runs
every tick but only looks from the first working day on (business calendar: weekends, holidays and
make-up days count as configured), so a bot that was down that day catches up later in the month.
Only people who had joined before that day get it — someone joining mid-month is not handed last
month's report out of the blue.  Like every push that is not urgent, it waits for working hours.

The figures and charts are made before the write transaction opens (drawing takes a moment, and
SQLite has one writer); the transaction then only adds the outbox rows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import exists, select

from handlers.messages import Msg
from handlers.report_chart import report_message
from models.calendar import BusinessCalendar
from models.enums import Role
from models.people import ChannelIdentity, Person
from models.reports import Month, month_before, monthly_report
from models.runtime import OutboxMessage
from scheduler.base import send

if TYPE_CHECKING:
    from bot.app import App

JOB_ID = "monthly-report"
RECIPIENTS = (Role.SUPERVISOR, Role.MANAGER)


def first_working_day(calendar: BusinessCalendar, year: int, month: int) -> date | None:
    """The month's first day with working hours (None if a month has none at all)."""
    day = date(year, month, 1)
    while day.month == month:
        if calendar.hours_on(day) is not None:
            return day
        day += timedelta(days=1)
    return None


def dedupe_key(month: Month, person_id: int) -> str:
    return f"{JOB_ID}:{month}:{person_id}"


async def run(app: App, now: datetime) -> int:
    """Push last month's report to every supervisor and manager who has not had it; returns how
    many were sent."""
    if not app.config.reports.monthly:
        return 0
    today = app.local(now).date()
    first = first_working_day(app.calendar, today.year, today.month)
    if first is None or today < first:
        return 0
    month = month_before(today)
    joined_by = datetime.combine(first, time(0), app.tz).astimezone(timezone.utc)
    async with app.db.read() as session:
        people = (await session.execute(
            select(Person.id, Person.team_id, Person.language)
            .where(Person.role.in_(RECIPIENTS), Person.active.is_(True), Person.created_at < joined_by,
                   # only people a push can reach: otherwise nothing is written, and every tick
                   # would compute (and draw) their report again
                   exists().where(ChannelIdentity.person_id == Person.id,
                                  ChannelIdentity.unreachable_reason.is_(None)))
            .order_by(Person.id))).all()
        if not people:
            return 0
        keys = {person_id: dedupe_key(month, person_id) for person_id, _, _ in people}
        taken = set((await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values())))).all())
        todo = [(pid, team, lang or app.config.bot.language) for pid, team, lang in people if keys[pid] not in taken]
        messages: dict[tuple[int | None, str], Msg] = {}
        for _, team_id, lang in todo:
            if (team_id, lang) not in messages:
                report = await monthly_report(session, month, app.tz, team_id=team_id)
                messages[(team_id, lang)] = await report_message(app, session, report, lang, monthly=True)
    if not todo:
        return 0
    sent = 0
    async with app.db.write() as session:
        for person_id, team_id, lang in todo:
            sent += await send(session, app, person_id, messages[(team_id, lang)], dedupe=keys[person_id],
                               now=now, purpose="monthly_report")
    return sent
