"""The monthly service statistics the regulations ask for (DESIGN §2): by product model, fault
type and engineer — jobs, average handling time, first-visit resolution rate, SLA met share,
average satisfaction and complaints.  A job's fault type is the one the engineer confirmed at
resolve (``Ticket.fault_cause``), else the category chosen at registration (``fault_type``).

What counts (DESIGN §2, "an incomplete report does not count"): a *completed job with a complete
report* — signed off or closed, with the symptom, the findings and the actions taken recorded at
resolve, and a customer sign-off record (in chat or the signed paper form).  A job belongs to the
month in which the customer signed it off, in the team's time zone: that is the moment its report
became complete, so a month's figures stop changing once the month is over.

Definitions, per counted job:

* handling time: registration to resolution, less the time spent paused (waiting for parts or
  the customer stops the clocks too);
* first-visit resolution: an on-site job resolved without a second arrival visit (arrivals are
  the arrival check-ins; a hand-over that needed another visit counts against it) and never
  reopened (``Ticket.reopens``: the customer disputed the fix, or the desk reopened it — the fix
  did not hold, however the rework was done) — phone and remote jobs have no visits and are left
  out of this rate;
* SLA met: every clock the job had (respond, arrive, resolve) was met by its due time;
* satisfaction: every rating the customer gave for the job (at sign-off and at the callback);
* complaints: complaints recorded against the job.

Everything is aggregated in SQL (GROUP BY over the month's jobs, with per-job sub-aggregates
joined in), so a report never loads the tickets themselves; it runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, exists, func, not_, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from models.enums import CheckinKind, ServiceType, TicketStatus
from models.people import Person
from models.tickets import Ticket
from models.work import Checkin, Complaint, Feedback, Signoff

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
#: The dimensions a report is broken down by, in the order they are shown.
DIMENSIONS = ("model", "fault", "engineer")


# -- months ----------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """``[start, end)`` in UTC of the month as the team lives it (local midnight to midnight)."""
        following = self.next()
        start = datetime(self.year, self.month, 1, tzinfo=tz)
        end = datetime(following.year, following.month, 1, tzinfo=tz)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def parse_month(text: str) -> Month:
    """``"2026-10"`` → ``Month(2026, 10)``; anything else (``"2026-13"``, ``"abc"``) → ValueError."""
    found = _MONTH.match(text or "")
    if not found:
        raise ValueError(f"{text!r} is not a month; write YYYY-MM")
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 9998:  # 9999-12 has no next month
        raise ValueError(f"{text!r} is not a month; write YYYY-MM")
    return Month(year, month)


def month_before(day: date) -> Month:
    """The month before the one ``day`` is in (the default report: last month)."""
    return Month(day.year - 1, 12) if day.month == 1 else Month(day.year, day.month - 1)


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportRow:
    """One line of a report: a product model, a fault type, an engineer, or the month's total.

    Rates are fractions (0.0–1.0); ``None`` means nothing to measure (no on-site job, no rating).
    """

    label: str | None  # None: not recorded (a ticket without a fault type), or the total row
    jobs: int
    handling_seconds: float | None
    first_visit_rate: float | None
    sla_met_rate: float | None
    satisfaction: float | None
    ratings: int
    complaints: int


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    team_id: int | None
    total: ReportRow
    by_model: list[ReportRow]
    by_fault: list[ReportRow]
    by_engineer: list[ReportRow]
    #: Jobs signed off in the month whose report is incomplete (left out of every figure).
    incomplete: int
    #: Arrival check-ins of the month beyond the geofence (``Checkin.off_site``), per engineer
    #: (name, count), most first: counted on every arrival, not only completed jobs' (issue 15).
    off_site: list[tuple[str, int]] = field(default_factory=list)

    def rows(self, dimension: str) -> list[ReportRow]:
        return {"model": self.by_model, "fault": self.by_fault, "engineer": self.by_engineer}[dimension]


# -- portable SQL pieces ---------------------------------------------------------------------------
class seconds_between(FunctionElement):  # noqa: N801 (a SQL function, named like one)
    """Seconds from the first timestamp to the second (SQLite stores text, PostgreSQL timestamps).

    SQLite's ``julianday`` is a double: exact to well under a millisecond for today's dates, so
    averages are rounded to the millisecond and agree on both engines."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


def _filled(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.trim(column) != "")


def _sla_met() -> ColumnElement[int]:
    """1 when every clock the ticket had was met in time, 0 when one was late or never met."""
    clocks = ("respond", "arrive", "resolve")
    late = or_(*[func.coalesce(getattr(Ticket, f"{c}_diff_min"), 0) < 0 for c in clocks],
               *[and_(getattr(Ticket, f"{c}_due_at").is_not(None), getattr(Ticket, f"{c}_met_at").is_(None))
                 for c in clocks])
    return case((not_(late), 1), else_=0)


def _sla_measured() -> ColumnElement[int]:
    return case((or_(Ticket.respond_due_at.is_not(None), Ticket.arrive_due_at.is_not(None),
                     Ticket.resolve_due_at.is_not(None)), 1), else_=0)


def _in_month(start: datetime, end: datetime, team_id: int | None) -> list[ColumnElement[bool]]:
    """Completed in the month (signed off), in the asker's team (or without a team, as they see it)."""
    where = [Ticket.status.in_((TicketStatus.SIGNED_OFF, TicketStatus.CLOSED)),
             Ticket.signed_off_at >= start, Ticket.signed_off_at < end]
    if team_id is not None:
        where.append(or_(Ticket.team_id == team_id, Ticket.team_id.is_(None)))
    return where


def _complete() -> ColumnElement[bool]:
    """A complete service report: symptom, findings and actions recorded, and the sign-off on file."""
    return and_(_filled(Ticket.fault_symptom), _filled(Ticket.findings), _filled(Ticket.actions_taken),
                Ticket.resolved_at.is_not(None),
                exists().where(Signoff.ticket_id == Ticket.id))


# -- the report ------------------------------------------------------------------------------------
async def monthly_report(session: AsyncSession, month: Month, tz: ZoneInfo, *,
                         team_id: int | None = None) -> MonthlyReport:
    """The month's figures (``team_id``: that team's jobs and those without a team; None: all)."""
    start, end = month.bounds(tz)
    jobs = (select(
        Ticket.id.label("id"), Ticket.product_model.label("model"),
        func.coalesce(Ticket.fault_cause, Ticket.fault_type).label("fault"),
        Ticket.assignee_id.label("engineer_id"),
        case((Ticket.service_type == ServiceType.ONSITE, 1), else_=0).label("onsite"),
        Ticket.reopens.label("reopens"),
        (seconds_between(Ticket.created_at, Ticket.resolved_at) - Ticket.paused_seconds).label("handling"),
        _sla_met().label("sla_met"), _sla_measured().label("sla_measured"),
    ).where(*_in_month(start, end, team_id), _complete()).cte("jobs"))

    arrivals = (select(Checkin.ticket_id.label("id"), func.count().label("n"))
                .join(jobs, jobs.c.id == Checkin.ticket_id).where(Checkin.kind == CheckinKind.ARRIVAL)
                .group_by(Checkin.ticket_id).subquery("arrivals"))
    ratings = (select(Feedback.ticket_id.label("id"), func.sum(Feedback.rating).label("total"),
                      func.count().label("n"))
               .join(jobs, jobs.c.id == Feedback.ticket_id).group_by(Feedback.ticket_id).subquery("ratings"))
    complaints = (select(Complaint.ticket_id.label("id"), func.count().label("n"))
                  .join(jobs, jobs.c.id == Complaint.ticket_id).group_by(Complaint.ticket_id)
                  .subquery("complaints"))

    first_visit = case((and_(jobs.c.onsite == 1, func.coalesce(arrivals.c.n, 0) <= 1, jobs.c.reopens == 0), 1),
                       else_=0)
    measures = (
        func.count(jobs.c.id), func.avg(jobs.c.handling),
        func.sum(first_visit), func.sum(jobs.c.onsite),
        func.sum(jobs.c.sla_met * jobs.c.sla_measured), func.sum(jobs.c.sla_measured),
        func.sum(func.coalesce(ratings.c.total, 0)), func.sum(func.coalesce(ratings.c.n, 0)),
        func.sum(func.coalesce(complaints.c.n, 0)),
    )

    def joined(*columns: Any):  # noqa: ANN202
        return (select(*columns, *measures).select_from(jobs)
                .outerjoin(arrivals, arrivals.c.id == jobs.c.id)
                .outerjoin(ratings, ratings.c.id == jobs.c.id)
                .outerjoin(complaints, complaints.c.id == jobs.c.id))

    async def grouped(stmt: Any) -> list[ReportRow]:
        """Most jobs first, then by name; the row without a name last."""
        found = [_row(r[0] or None, r[1:]) for r in (await session.execute(stmt)).all()]
        return sorted(found, key=lambda r: (-r.jobs, r.label is None, r.label or ""))

    total_raw = (await session.execute(joined(null()))).one()
    engineer_stmt = (joined(Person.name).outerjoin(Person, Person.id == jobs.c.engineer_id)
                     .group_by(jobs.c.engineer_id, Person.name))
    incomplete = await session.scalar(
        select(func.count()).select_from(Ticket).where(*_in_month(start, end, team_id), not_(_complete())))
    return MonthlyReport(
        month=month, team_id=team_id, total=_row(None, total_raw[1:]),
        by_model=await grouped(joined(jobs.c.model).group_by(jobs.c.model)),
        by_fault=await grouped(joined(jobs.c.fault).group_by(jobs.c.fault)),
        by_engineer=await grouped(engineer_stmt), incomplete=int(incomplete or 0),
        off_site=await off_site_arrivals(session, start, end, team_id),
    )


async def off_site_arrivals(session: AsyncSession, start: datetime, end: datetime,
                            team_id: int | None) -> list[tuple[str, int]]:
    """Arrivals between ``start`` and ``end`` flagged off site, per engineer, most first."""
    where = [Checkin.kind == CheckinKind.ARRIVAL, Checkin.off_site.is_(True),
             Checkin.server_at >= start, Checkin.server_at < end]
    if team_id is not None:
        where.append(or_(Ticket.team_id == team_id, Ticket.team_id.is_(None)))
    rows = (await session.execute(
        select(Person.name, func.count()).select_from(Checkin).join(Ticket, Ticket.id == Checkin.ticket_id)
        .join(Person, Person.id == Checkin.engineer_id).where(*where).group_by(Person.id, Person.name))).all()
    return sorted(((name, int(n)) for name, n in rows), key=lambda r: (-r[1], r[0]))


def _row(label: str | None, measures: Any) -> ReportRow:
    jobs, handling, first, onsite, met, measured, rating_sum, rating_n, complaints = measures
    jobs, onsite, measured, rating_n = int(jobs or 0), int(onsite or 0), int(measured or 0), int(rating_n or 0)
    return ReportRow(
        label=label, jobs=jobs,
        handling_seconds=round(float(handling), 3) if handling is not None and jobs else None,
        first_visit_rate=int(first or 0) / onsite if onsite else None,
        sla_met_rate=int(met or 0) / measured if measured else None,
        satisfaction=int(rating_sum or 0) / rating_n if rating_n else None,
        ratings=rating_n, complaints=int(complaints or 0),
    )
