"""``fieldbot report --verify``: the live report (:mod:`models.reports`, SQL over the ticket rows)
against the same month rebuilt from the event log (:mod:`models.rebuild`), figure by figure.

Each difference names the tickets behind it: those in one figure's group but not the other's, and
those in both whose own contribution differs (read per ticket from the rows, a third reading).
Tickets the log cannot rebuild (registered or resolved before it carried the details) are listed
apart as *not in the event log*; their share of the figures is taken from their rows, so they
neither pass silently nor show as false differences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Action, CheckinKind, ServiceType
from models.people import Person
from models.rebuild import Event, JobFacts, month_jobs, rebuild_jobs, report_from_jobs
from models.reports import DIMENSIONS, Month, MonthlyReport, ReportRow, _complete, _in_month, monthly_report
from models.tickets import Ticket, TicketEvent
from models.work import Checkin, Complaint, Feedback

#: The figures of a row, in the order they are compared and shown.
FIGURES = ("jobs", "handling_seconds", "first_visit_rate", "sla_met_rate", "satisfaction", "ratings", "complaints")
#: Handling time is compared to the millisecond (SQLite's julianday is exact to well under that).
HANDLING_TOLERANCE = 0.0015
CLOCKS = ("respond", "arrive", "resolve")


@dataclass(frozen=True)
class Difference:
    dimension: str  # "total", "model", "fault", "engineer", or "incomplete"
    label: str | None
    figure: str
    live: object
    rebuilt: object
    tickets: tuple[str, ...]  # ticket numbers behind it


@dataclass
class Verification:
    month: Month
    figures: int  # how many figures were compared
    differences: list[Difference] = field(default_factory=list)
    #: ticket number → why the log cannot rebuild it (its figures come from its rows)
    not_in_log: dict[str, str] = field(default_factory=dict)


# -- reading ---------------------------------------------------------------------------------------
async def live_jobs(session: AsyncSession, month: Month, tz: ZoneInfo, team_id: int | None) -> dict[int, JobFacts]:
    """The month's jobs as the ticket rows have them (complete or not), one reading per ticket."""
    start, end = month.bounds(tz)
    rows = (await session.execute(select(Ticket, _complete().label("complete"))
                                  .where(*_in_month(start, end, team_id)))).all()
    ids = [t.id for t, _ in rows]
    arrivals = dict((await session.execute(
        select(Checkin.ticket_id, func.count()).where(Checkin.ticket_id.in_(ids), Checkin.kind == CheckinKind.ARRIVAL)
        .group_by(Checkin.ticket_id))).all()) if ids else {}
    complaints = dict((await session.execute(
        select(Complaint.ticket_id, func.count()).where(Complaint.ticket_id.in_(ids))
        .group_by(Complaint.ticket_id))).all()) if ids else {}
    ratings: dict[int, list[int]] = {}
    if ids:
        for tid, rating in (await session.execute(
                select(Feedback.ticket_id, Feedback.rating).where(Feedback.ticket_id.in_(ids)))).all():
            ratings.setdefault(tid, []).append(rating)
    out = {}
    for t, complete in rows:
        dues = [getattr(t, f"{c}_due_at") for c in CLOCKS]
        late = any((getattr(t, f"{c}_diff_min") or 0) < 0 for c in CLOCKS) or any(
            getattr(t, f"{c}_due_at") is not None and getattr(t, f"{c}_met_at") is None for c in CLOCKS)
        out[t.id] = JobFacts(
            ticket_id=t.id, status=t.status, signed_off_at=t.signed_off_at, team_id=t.team_id,
            model=t.product_model, fault=_fault(t), engineer_id=t.assignee_id,
            onsite=t.service_type is ServiceType.ONSITE, complete=bool(complete),
            handling_seconds=(t.resolved_at - t.created_at).total_seconds() - t.paused_seconds
            if t.resolved_at is not None else None,
            arrivals=int(arrivals.get(t.id, 0)), reopened=bool(t.reopens), sla_measured=any(d is not None for d in dues), sla_met=not late,
            ratings=sorted(ratings.get(t.id, [])), complaints=int(complaints.get(t.id, 0)))
    return out


def _fault(ticket: Ticket) -> str | None:
    """The fault dimension: the cause confirmed at resolve, else the registered category."""
    cause = getattr(ticket, "fault_cause", None)
    return cause if cause is not None else ticket.fault_type


async def logged_jobs(session: AsyncSession, month: Month, tz: ZoneInfo, also: Sequence[int]) -> dict[int, JobFacts]:
    """Every ticket signed off in the month (by the log), plus ``also``, rebuilt from its events."""
    start, end = month.bounds(tz)
    signed = select(TicketEvent.ticket_id).where(
        TicketEvent.kind == "transition", TicketEvent.action == Action.SIGN_OFF,
        TicketEvent.at >= start, TicketEvent.at < end)
    ids = set((await session.scalars(signed)).all()) | set(also)
    if not ids:
        return {}
    rows = (await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids))
                                  .order_by(TicketEvent.ticket_id, TicketEvent.id))).all()
    return rebuild_jobs(Event(ticket_id=e.ticket_id, at=e.at, kind=e.kind, action=e.action, from_status=e.from_status,
                              to_status=e.to_status, details=dict(e.details or {})) for e in rows)


# -- comparing -------------------------------------------------------------------------------------
def _keyed(rows: list[ReportRow]) -> dict[tuple[str | None, int], ReportRow]:
    out: dict[tuple[str | None, int], ReportRow] = {}
    for row in rows:
        n = sum(1 for k in out if k[0] == row.label)
        out[(row.label, n)] = row
    return out


def _same(figure: str, a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        tolerance = HANDLING_TOLERANCE if figure == "handling_seconds" else 1e-9
        return abs(a - b) <= tolerance
    return a == b


#: What of a job each figure depends on (to name the tickets behind a difference).
_PART: dict[str, Callable[[JobFacts], object]] = {
    "jobs": lambda j: True,
    "handling_seconds": lambda j: round(j.handling_seconds or 0.0, 2),
    "first_visit_rate": lambda j: (j.onsite, j.first_visit),
    "sla_met_rate": lambda j: (j.sla_measured, j.sla_met),
    "satisfaction": lambda j: tuple(sorted(j.ratings)),
    "ratings": lambda j: len(j.ratings),
    "complaints": lambda j: j.complaints,
    "incomplete": lambda j: j.complete,
}


def _behind(figure: str, live: dict[int, JobFacts], rebuilt: dict[int, JobFacts]) -> set[int]:
    part = _PART[figure]
    changed = {tid for tid in live.keys() & rebuilt.keys() if part(live[tid]) != part(rebuilt[tid])}
    return changed | (live.keys() ^ rebuilt.keys())


async def verify_month(session: AsyncSession, month: Month, tz: ZoneInfo, *, team_id: int | None = None) -> Verification:
    start, end = month.bounds(tz)
    live_report = await monthly_report(session, month, tz, team_id=team_id)
    live = await live_jobs(session, month, tz, team_id)
    logged = await logged_jobs(session, month, tz, list(live))
    numbers = dict((await session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(list(logged))))).all())
    result = Verification(month=month, figures=0)
    for tid, job in logged.items():
        if job.legacy is not None and tid in live:
            result.not_in_log[numbers.get(tid, f"#{tid}")] = job.legacy
            logged[tid] = live[tid]  # counted as the rows have it, and said so
        elif job.legacy is not None:
            logged.pop(tid)
    jobs = month_jobs(logged.values(), start, end, team_id)
    engineer_ids = {j.engineer_id for j in [*jobs, *live.values()] if j.engineer_id is not None}
    names = dict((await session.execute(select(Person.id, Person.name).where(Person.id.in_(engineer_ids))))
                 .all()) if engineer_ids else {}
    rebuilt_report = report_from_jobs(month, team_id, jobs, names)
    _compare(result, live_report, rebuilt_report, live, {j.ticket_id: j for j in jobs}, names, numbers)
    return result


def _label_of(dimension: str, job: JobFacts, names: dict[int, str]) -> str | None:
    if dimension == "model":
        return job.model or None
    if dimension == "fault":
        return job.fault or None
    if dimension == "engineer":
        return names.get(job.engineer_id) if job.engineer_id is not None else None
    return None


def _compare(result: Verification, live: MonthlyReport, rebuilt: MonthlyReport, live_jobs_: dict[int, JobFacts],
             rebuilt_jobs: dict[int, JobFacts], names: dict[int, str], numbers: dict[int, str]) -> None:
    def tickets(ids: set[int]) -> tuple[str, ...]:
        return tuple(sorted(numbers.get(i, f"#{i}") for i in ids))

    def counted(jobs: dict[int, JobFacts], dimension: str, label: str | None) -> dict[int, JobFacts]:
        return {tid: j for tid, j in jobs.items() if j.complete
                and (dimension == "total" or _label_of(dimension, j, names) == label)}

    result.figures += 1
    if live.incomplete != rebuilt.incomplete:
        result.differences.append(Difference("incomplete", None, "incomplete", live.incomplete, rebuilt.incomplete,
                                             tickets(_behind("incomplete", live_jobs_, rebuilt_jobs))))
    sections = [("total", [live.total], [rebuilt.total])] + [(d, live.rows(d), rebuilt.rows(d)) for d in DIMENSIONS]
    for dimension, live_rows, rebuilt_rows in sections:
        a, b = _keyed(live_rows), _keyed(rebuilt_rows)
        for key in sorted(a.keys() | b.keys(), key=lambda k: (k[0] is None, k[0] or "", k[1])):
            empty = ReportRow(key[0], 0, None, None, None, None, 0, 0)
            left, right = a.get(key, empty), b.get(key, empty)
            for figure in FIGURES:
                result.figures += 1
                x, y = getattr(left, figure), getattr(right, figure)
                if not _same(figure, x, y):
                    behind = _behind(figure, counted(live_jobs_, dimension, key[0]),
                                     counted(rebuilt_jobs, dimension, key[0]))
                    result.differences.append(Difference(dimension, key[0], figure, x, y, tickets(behind)))
