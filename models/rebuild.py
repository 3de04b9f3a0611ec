"""The month's statistics rebuilt from the append-only event log alone (``ticket_events``), in plain
Python: the independent check of :mod:`models.reports`, which computes them in SQL from the ticket
rows.  ``fieldbot report --verify`` compares the two figure by figure (:mod:`models.verify`).

Every definition is the report's (see its docstring), read off the events:

* the job: the last ``transition`` leaves it signed off or closed, and its last sign-off is in the
  month; its report is complete when the ``registered`` event's symptom and the resolve events'
  findings and actions are filled in, it was resolved, and a sign-off happened;
* model, fault type (the cause confirmed at resolve, else the registered category), team (the
  registration's, or the one a dispatch gave it) and engineer (the last dispatch or reassignment;
  a decline leaves it unassigned);
* model: the registered one, or the last correction of it (``edited`` events);
* handling time: registration to the last resolve, less each pause (to the move that ended it,
  whole seconds, as the tickets count it); first visit: on site with at most one arrival check-in
  and never reopened;
* SLA met: the verdicts the last resolve recorded (``details["sla"]``); ratings: the ``rated``,
  ``callback_answered`` and ``callback_phoned`` events; complaints: the ``complaint_made`` events.

A ticket registered or resolved before the log carried these details cannot be rebuilt: it comes
back as *legacy* with the reason, never as a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.enums import Action, ServiceType, TicketStatus
from models.reports import Month, MonthlyReport, ReportRow

#: Events that carry a customer's rating of the job.
RATING_EVENTS = frozenset({"rated", "callback_answered", "callback_phoned"})
DONE = frozenset({TicketStatus.SIGNED_OFF, TicketStatus.CLOSED})


@dataclass(frozen=True)
class Event:
    """What the rebuild needs of one ``TicketEvent`` row."""

    ticket_id: int
    at: datetime
    kind: str
    action: Action | None = None
    from_status: TicketStatus | None = None
    to_status: TicketStatus | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobFacts:
    """One ticket's contribution to the month's figures (from the log, or from the ticket rows)."""

    ticket_id: int
    status: TicketStatus | None = None
    signed_off_at: datetime | None = None
    team_id: int | None = None
    model: str | None = None
    fault: str | None = None
    engineer_id: int | None = None
    onsite: bool = False
    complete: bool = False
    handling_seconds: float | None = None
    arrivals: int = 0
    reopened: bool = False
    sla_measured: bool = False
    sla_met: bool = False
    ratings: list[int] = field(default_factory=list)
    complaints: int = 0
    #: Why the log cannot rebuild this ticket (None: it can): no_registration, registered_before
    #: (without the model, fault type and team), resolved_before (without the SLA verdicts).
    legacy: str | None = None

    @property
    def first_visit(self) -> bool:
        """Resolved on the first visit: at most one arrival, and the fix was never disputed."""
        return self.arrivals <= 1 and not self.reopened

    def in_month(self, start: datetime, end: datetime, team_id: int | None) -> bool:
        if self.status not in DONE or self.signed_off_at is None or not start <= self.signed_off_at < end:
            return False
        return team_id is None or self.team_id in (team_id, None)


def _filled(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def rebuild_job(ticket_id: int, events: Sequence[Event]) -> JobFacts:
    """Fold one ticket's events (in log order) into its facts."""
    job = JobFacts(ticket_id=ticket_id)
    registered = next((e for e in events if e.kind == "registered"), None)
    if registered is None:
        job.legacy = "no_registration"
        return job
    reg = registered.details or {}
    if "product_model" not in reg:
        job.legacy = "registered_before"
        return job
    job.model, job.team_id = reg.get("product_model"), reg.get("team_id")
    fault_type, cause = reg.get("fault_type"), None
    job.onsite = reg.get("service") == ServiceType.ONSITE.value
    symptom, findings, actions = reg.get("fault_symptom"), None, None
    created, resolved, paused_at, paused = registered.at, None, None, 0
    signed, sla = False, None
    for e in events:
        d = e.details or {}
        if e.kind == "checkin_arrival":
            job.arrivals += 1
        elif e.kind == "complaint_made":
            job.complaints += 1
        elif e.kind in RATING_EVENTS and isinstance(d.get("rating"), int):
            job.ratings.append(d["rating"])
        elif e.kind == "edited" and d.get("field") == "model" and d.get("new"):
            job.model = d["new"]
        if e.kind != "transition" or e.action is None:
            continue
        job.status = e.to_status
        if e.from_status is TicketStatus.PAUSED and paused_at is not None:
            paused += max(0, int((e.at - paused_at).total_seconds()))
            paused_at = None
        action = e.action
        if action is Action.PAUSE:
            paused_at = e.at
        elif action in (Action.DISPATCH, Action.REASSIGN):
            job.engineer_id = d.get("assignee_id")
            if "team_id" in d:
                job.team_id = d["team_id"]
        elif action is Action.DECLINE:
            job.engineer_id = None
        elif action is Action.RESOLVE:
            resolved = e.at
            findings = d.get("findings", findings)
            actions = d.get("actions_taken", actions)
            cause = d.get("fault_cause", cause)
            if "sla" not in d:
                job.legacy = "resolved_before"
            sla = d.get("sla") or {}
        elif action is Action.SIGN_OFF:
            signed, job.signed_off_at = True, e.at
        elif action is Action.REOPEN:
            resolved = job.signed_off_at = None
            job.reopened = True
    job.fault = cause if cause is not None else fault_type
    job.complete = _filled(symptom) and _filled(findings) and _filled(actions) and resolved is not None and signed
    if resolved is not None:
        job.handling_seconds = (resolved - created).total_seconds() - paused
    if sla:
        job.sla_measured = True
        job.sla_met = all(isinstance(v, int) and v >= 0 for v in sla.values())
    return job


def rebuild_jobs(events: Iterable[Event]) -> dict[int, JobFacts]:
    """Every ticket's facts from a stream of events (grouped by ticket, in log order)."""
    by_ticket: dict[int, list[Event]] = {}
    for e in events:
        by_ticket.setdefault(e.ticket_id, []).append(e)
    return {tid: rebuild_job(tid, evs) for tid, evs in by_ticket.items()}


# -- the report from per-job facts -----------------------------------------------------------------
def _row(label: str | None, jobs: Sequence[JobFacts]) -> ReportRow:
    """The report's row over ``jobs`` (complete ones), rounded as :func:`models.reports._row` does."""
    n = len(jobs)
    onsite = [j for j in jobs if j.onsite]
    measured = [j for j in jobs if j.sla_measured]
    ratings = [r for j in jobs for r in j.ratings]
    handling = [j.handling_seconds for j in jobs if j.handling_seconds is not None]
    return ReportRow(
        label=label, jobs=n,
        handling_seconds=round(sum(handling) / len(handling), 3) if handling and n else None,
        first_visit_rate=sum(1 for j in onsite if j.first_visit) / len(onsite) if onsite else None,
        sla_met_rate=sum(1 for j in measured if j.sla_met) / len(measured) if measured else None,
        satisfaction=sum(ratings) / len(ratings) if ratings else None,
        ratings=len(ratings), complaints=sum(j.complaints for j in jobs),
    )


def _grouped(jobs: Sequence[JobFacts], key: Any, label: Any = lambda k: k) -> list[ReportRow]:
    groups: dict[Any, list[JobFacts]] = {}
    for j in jobs:
        groups.setdefault(key(j), []).append(j)
    rows = [_row(label(k) or None, g) for k, g in groups.items()]
    return sorted(rows, key=lambda r: (-r.jobs, r.label is None, r.label or ""))


def month_jobs(facts: Iterable[JobFacts], start: datetime, end: datetime,
               team_id: int | None) -> list[JobFacts]:
    """The jobs a month's report is about (complete or not)."""
    return [j for j in facts if j.in_month(start, end, team_id)]


def report_from_jobs(month: Month, team_id: int | None, jobs: Sequence[JobFacts],
                     names: dict[int, str]) -> MonthlyReport:
    """The report over the month's jobs (as :func:`month_jobs` picks them), incomplete ones aside."""
    counted = [j for j in jobs if j.complete]
    return MonthlyReport(
        month=month, team_id=team_id, total=_row(None, counted),
        by_model=_grouped(counted, lambda j: j.model),
        by_fault=_grouped(counted, lambda j: j.fault),
        by_engineer=_grouped(counted, lambda j: j.engineer_id, lambda k: names.get(k) if k is not None else None),
        incomplete=len(jobs) - len(counted),
    )
