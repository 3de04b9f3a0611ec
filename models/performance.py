"""The monthly performance sheet (月度绩效, DESIGN §2): per engineer, for a month, what the pay rules
are applied to — from the same records as the monthly statistics (:mod:`models.reports`).

Rules, each named on the sheet next to its figure:

* a job belongs to the engineer it is assigned to and to the month its customer signed it off (the
  team's time zone); it *counts* when its service report is complete and signed (the report's
  ``_complete()`` rule: symptom, findings, actions, resolved, a sign-off record).  A job of the
  month that does not count is listed with its reason; so is a job resolved in the month and still
  waiting for the customer's sign-off;
* service allowance: counted jobs × ``[pay] allowance_per_job``;
* complaints: those recorded against the engineer in the month (when made);
* no-complaint bonus ``[pay] no_complaint_bonus``: kept while the month's complaints stay under
  ``bonus_lost_from`` (1 when not set: any complaint loses a *no-complaint* bonus);
* deductions: complaints × ``complaint_deduction``;
* SLA met, satisfaction and the callback survey (回访) over the counted jobs.

Amounts are Decimal, never float; an amount not configured is ``None`` and its line is not shown.
The sheet converts to and from JSON (amounts as strings) to be stored when a manager approves it
(:class:`models.approvals.MonthApproval`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import CallbackState, FeedbackSource, TicketStatus
from models.people import Person
from models.reports import Month, _complete
from models.tickets import Ticket
from models.work import Complaint, Feedback, Signoff

if TYPE_CHECKING:
    from bot.config_pay import PaySection

KIND = "performance"
#: Why a job of the month does not count, in the order they are checked.
REASONS = ("awaiting_signoff", "no_signoff", "no_symptom", "no_findings", "no_actions")
CLOCKS = ("respond", "arrive", "resolve")


@dataclass
class Rules:
    """The amounts in force (``[pay]``), as strings in JSON."""

    allowance_per_job: Decimal | None = None
    no_complaint_bonus: Decimal | None = None
    complaint_deduction: Decimal | None = None
    bonus_lost_from: int | None = None
    currency: str = "¥"

    @classmethod
    def of(cls, pay: PaySection) -> Rules:
        return cls(pay.allowance_per_job, pay.no_complaint_bonus, pay.complaint_deduction, pay.bonus_lost_from,
                   pay.currency)

    @property
    def lost_from(self) -> int:
        return self.bonus_lost_from or 1


@dataclass
class EngineerSheet:
    engineer_id: int | None
    name: str | None
    team_id: int | None
    counted: list[str] = field(default_factory=list)  # ticket numbers
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (ticket number, reason)
    complaints: int = 0
    sla_met: int = 0
    sla_measured: int = 0
    rating_sum: int = 0
    ratings: int = 0
    callbacks_answered: int = 0
    callback_rating_sum: int = 0
    callbacks_unanswered: int = 0
    callbacks_pending: int = 0
    allowance: Decimal | None = None
    bonus: Decimal | None = None
    deduction: Decimal | None = None
    total: Decimal | None = None

    @property
    def bonus_lost(self) -> bool:
        return self.bonus is not None and self.bonus == 0 and self.complaints > 0


@dataclass
class PerformanceSheet:
    month: Month
    rules: Rules
    engineers: list[EngineerSheet]

    def for_team(self, team_id: int | None) -> list[EngineerSheet]:
        """The rows a team's supervisor or manager sees (every row for staff without a team)."""
        return [e for e in self.engineers if team_id is None or e.team_id in (team_id, None)]

    # -- JSON (what an approval stores) ------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return str(value) if isinstance(value, Decimal) else value
        rules = {k: plain(v) for k, v in asdict(self.rules).items()}
        rows = [{k: plain(v) if not isinstance(v, list) else [list(x) if isinstance(x, tuple) else x for x in v]
                 for k, v in asdict(e).items()} for e in self.engineers]
        return {"month": str(self.month), "rules": rules, "engineers": rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PerformanceSheet:
        from models.reports import parse_month

        def money(value: Any) -> Decimal | None:
            return Decimal(value) if value is not None else None
        r = data["rules"]
        rules = Rules(money(r.get("allowance_per_job")), money(r.get("no_complaint_bonus")),
                      money(r.get("complaint_deduction")), r.get("bonus_lost_from"), r.get("currency", "¥"))
        rows = []
        for e in data["engineers"]:
            row = EngineerSheet(**{**e, "excluded": [tuple(x) for x in e.get("excluded", [])]})
            for key in ("allowance", "bonus", "deduction", "total"):
                setattr(row, key, money(e.get(key)))
            rows.append(row)
        return cls(parse_month(data["month"]), rules, rows)


def apply_rules(row: EngineerSheet, rules: Rules) -> None:
    """The money lines of a row from its counts (None where the amount is not configured)."""
    row.allowance = rules.allowance_per_job * len(row.counted) if rules.allowance_per_job is not None else None
    if rules.no_complaint_bonus is not None:
        row.bonus = rules.no_complaint_bonus if row.complaints < rules.lost_from else Decimal(0)
    row.deduction = rules.complaint_deduction * row.complaints if rules.complaint_deduction is not None else None
    lines = [row.allowance, row.bonus, -row.deduction if row.deduction is not None else None]
    shown = [v for v in lines if v is not None]
    row.total = sum(shown, Decimal(0)) if shown else None


def _reason(t: Ticket, signed: bool) -> str | None:
    if t.status is TicketStatus.RESOLVED:
        return "awaiting_signoff"
    if not signed:
        return "no_signoff"
    for key, reason in (("fault_symptom", "no_symptom"), ("findings", "no_findings"), ("actions_taken", "no_actions")):
        if not (getattr(t, key) or "").strip():
            return reason
    return None


async def performance_sheet(session: AsyncSession, month: Month, tz: ZoneInfo, pay: PaySection) -> PerformanceSheet:
    """Every engineer with a job or a complaint in the month, most counted jobs first."""
    start, end = month.bounds(tz)
    done = and_(Ticket.status.in_((TicketStatus.SIGNED_OFF, TicketStatus.CLOSED)),
                Ticket.signed_off_at >= start, Ticket.signed_off_at < end)
    waiting = and_(Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at >= start, Ticket.resolved_at < end)
    signed = exists().where(Signoff.ticket_id == Ticket.id)
    found = (await session.execute(
        select(Ticket, _complete().label("complete"), signed.label("signed"))
        .where(or_(done, waiting), Ticket.assignee_id.is_not(None)).order_by(Ticket.number))).all()
    counted_ids = [t.id for t, complete, _ in found if complete]
    ratings = await _ratings(session, counted_ids)
    rows: dict[int, EngineerSheet] = {}

    async def row_of(engineer_id: int) -> EngineerSheet:
        if engineer_id not in rows:
            person = await session.get(Person, engineer_id)
            rows[engineer_id] = EngineerSheet(engineer_id, person.name if person else None,
                                              person.team_id if person else None)
        return rows[engineer_id]

    for t, complete, is_signed in found:
        row = await row_of(t.assignee_id)
        if not complete:
            row.excluded.append((t.number, _reason(t, bool(is_signed)) or "no_signoff"))
            continue
        row.counted.append(t.number)
        if any(getattr(t, f"{c}_due_at") is not None for c in CLOCKS):
            row.sla_measured += 1
            late = any((getattr(t, f"{c}_diff_min") or 0) < 0 or (getattr(t, f"{c}_due_at") is not None
                       and getattr(t, f"{c}_met_at") is None) for c in CLOCKS)
            row.sla_met += 0 if late else 1
        for source, rating in ratings.get(t.id, []):
            row.rating_sum, row.ratings = row.rating_sum + rating, row.ratings + 1
            if source is FeedbackSource.CALLBACK:
                row.callbacks_answered += 1
                row.callback_rating_sum += rating
        if t.callback_state == CallbackState.EXPIRED:
            row.callbacks_unanswered += 1
        elif t.callback_state in (CallbackState.DUE, CallbackState.SENT):
            row.callbacks_pending += 1
    complaints = (await session.execute(
        select(Complaint.engineer_id, func.count()).where(Complaint.engineer_id.is_not(None),
                                                          Complaint.created_at >= start, Complaint.created_at < end)
        .group_by(Complaint.engineer_id))).all()
    for engineer_id, n in complaints:
        (await row_of(engineer_id)).complaints = int(n)
    rules = Rules.of(pay)
    for row in rows.values():
        apply_rules(row, rules)
    ordered = sorted(rows.values(), key=lambda r: (-len(r.counted), r.name or "", r.engineer_id or 0))
    return PerformanceSheet(month, rules, ordered)


async def _ratings(session: AsyncSession, ids: list[int]) -> dict[int, list[tuple[FeedbackSource, int]]]:
    out: dict[int, list[tuple[FeedbackSource, int]]] = {}
    if ids:
        for tid, source, rating in (await session.execute(
                select(Feedback.ticket_id, Feedback.source, Feedback.rating).where(Feedback.ticket_id.in_(ids))
                .order_by(Feedback.id))).all():
            out.setdefault(tid, []).append((source, rating))
    return out

