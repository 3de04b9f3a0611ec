"""Approving the monthly performance sheet (月度绩效考核 is approved by the manager), and what
changed since: an approval stores the whole sheet as it was (:class:`models.approvals.MonthApproval`,
append-only, one per month); from then on the sheet shown is the approved one, and any figure the
records now give differently (a later correction) is listed against it — never a silent change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.approvals import MonthApproval
from models.enums import Role
from models.errors import DomainError
from models.people import Person
from models.performance import KIND, EngineerSheet, PerformanceSheet
from models.reports import Month

#: Figures compared between the approved sheet and the live one, in the order they are shown.
FIGURES = ("counted", "excluded", "complaints", "sla_met", "sla_measured", "ratings", "rating_sum",
           "callbacks_answered", "callbacks_unanswered", "callbacks_pending", "allowance", "bonus", "deduction", "total")


@dataclass(frozen=True)
class Change:
    engineer: str | None
    figure: str
    approved: object
    now: object
    added: tuple[str, ...] = ()  # ticket numbers now counted (or excluded) that were not
    removed: tuple[str, ...] = ()


async def approval_of(session: AsyncSession, month: Month) -> MonthApproval | None:
    return await session.scalar(select(MonthApproval).where(MonthApproval.kind == KIND,
                                                            MonthApproval.month == str(month)))


async def approve(session: AsyncSession, sheet: PerformanceSheet, person: Person, *, now: datetime) -> MonthApproval:
    """Store the sheet as approved by ``person`` (a manager); a month is approved once."""
    if person.role is not Role.MANAGER:
        raise DomainError("sheet_approve_managers_only")
    existing = await approval_of(session, sheet.month)
    if existing is not None:
        raise DomainError("sheet_already_approved", month=str(sheet.month),
                          at=existing.at, by=await _name(session, existing.approved_by_id))
    row = MonthApproval(kind=KIND, month=str(sheet.month), approved_by_id=person.id, at=now, sheet=sheet.to_json())
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # approved at the same moment elsewhere
        raise DomainError("sheet_already_approved", month=str(sheet.month), at="", by="") from None
    return row


async def _name(session: AsyncSession, person_id: int | None) -> str:
    person = await session.get(Person, person_id) if person_id is not None else None
    return person.name if person else ""


def _value(row: EngineerSheet | None, figure: str) -> object:
    if row is None:
        return None
    if figure == "counted":
        return len(row.counted)
    if figure == "excluded":
        return len(row.excluded)
    return getattr(row, figure)


def changes(approved: PerformanceSheet, live: PerformanceSheet) -> list[Change]:
    """Every figure of every engineer that the records now give differently from the approval."""
    before = {e.engineer_id: e for e in approved.engineers}
    after = {e.engineer_id: e for e in live.engineers}
    out = []
    for engineer_id in sorted(before.keys() | after.keys(), key=lambda i: (i is None, i or 0)):
        a, b = before.get(engineer_id), after.get(engineer_id)
        name = (b or a).name
        for figure in FIGURES:
            x, y = _value(a, figure), _value(b, figure)
            if x == y:
                continue
            added = removed = ()
            if figure in ("counted", "excluded"):
                old = set(getattr(a, figure) if a else []) if figure == "counted" else \
                    {n for n, _ in (a.excluded if a else [])}
                new = set(getattr(b, figure) if b else []) if figure == "counted" else \
                    {n for n, _ in (b.excluded if b else [])}
                added, removed = tuple(sorted(new - old)), tuple(sorted(old - new))
            out.append(Change(name, figure, x, y, added, removed))
    return out
