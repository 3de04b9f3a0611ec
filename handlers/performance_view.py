"""How the monthly performance sheet (月度绩效, :mod:`models.performance`) reads: per engineer, each
figure with the rule behind it; a line the config does not set (``[pay]``) is not shown; an approved
month shows the approved figures and then, explicitly, what the records now say differently.

Shared by ``/report performance`` and ``fieldbot report --performance`` (text, CSV, XLSX).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import t
from handlers.messages import L, Lines, Raw
from handlers.report_view import month_name, team_label
from handlers.times import Stamp
from models.people import Person
from models.performance import EngineerSheet, PerformanceSheet, Rules
from models.reports import Month
from models.sheet_approval import Change, approval_of, changes

#: A chat message of the sheet stays well under Telegram's 4096 characters (WeCom: 2048 bytes,
#: cut by its adapter into several messages).
PAGE_LIMIT = 3500


def money(rules: Rules, amount: Decimal | None) -> str:
    if amount is None:
        return ""
    shown = amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.quantize(Decimal("0.01"))
    sign = "-" if shown < 0 else ""
    return f"{sign}{rules.currency}{abs(shown)}"


def _name(row: EngineerSheet) -> Any:
    return Raw(row.name) if row.name else L("report.no_engineer")


def _pct(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.0f}%"


def engineer_lines(row: EngineerSheet, rules: Rules) -> list[Any]:
    n = len(row.counted)
    parts: list[Any] = [_name(row), L("perf.counted", {"jobs": n})]
    for number, reason in row.excluded:
        parts.append(L("perf.excluded", {"number": Raw(number), "reason": L(f"perf.reason.{reason}")}))
    if row.allowance is not None:
        parts.append(L("perf.allowance", {"jobs": n, "per_job": money(rules, rules.allowance_per_job),
                                          "amount": money(rules, row.allowance)}))
    parts.append(L("perf.complaints", {"count": row.complaints}))
    if row.bonus is not None:
        if row.complaints >= rules.lost_from:
            parts.append(L("perf.bonus_lost", {"count": row.complaints, "limit": rules.lost_from,
                                               "bonus": money(rules, rules.no_complaint_bonus)}))
        else:
            parts.append(L("perf.bonus", {"amount": money(rules, row.bonus), "limit": rules.lost_from}))
    if row.deduction is not None:
        parts.append(L("perf.deduction", {"count": row.complaints, "per": money(rules, rules.complaint_deduction),
                                          "amount": money(rules, row.deduction)}))
    if row.total is not None:
        parts.append(L("perf.total", {"amount": money(rules, row.total)}))
    parts.append(L("perf.sla", {"rate": _pct(row.sla_met, row.sla_measured), "met": row.sla_met,
                                "jobs": row.sla_measured}) if row.sla_measured else L("perf.sla_none"))
    parts.append(L("perf.satisfaction", {"value": f"{row.rating_sum / row.ratings:.1f}", "count": row.ratings})
                 if row.ratings else L("perf.satisfaction_none"))
    callback_avg = f"{row.callback_rating_sum / row.callbacks_answered:.1f}" if row.callbacks_answered else "—"
    parts.append(L("perf.callbacks", {"answered": row.callbacks_answered, "average": callback_avg,
                                      "unanswered": row.callbacks_unanswered, "pending": row.callbacks_pending}))
    return parts


def sheet_text(sheet: PerformanceSheet, team_id: int | None, team_name: str | None, *,
               approved: tuple[str, Stamp] | None = None, changed: list[Change] | None = None) -> Lines:
    """The sheet for a team (every engineer when ``team_id`` is None); ``approved``: (by, when)."""
    blocks = _blocks(sheet, team_id, team_name, approved=approved, changed=changed)
    return Lines(tuple(part for i, block in enumerate(blocks) for part in ([Raw("")] if i else []) + block))


def sheet_pages(sheet: PerformanceSheet, team_id: int | None, team_name: str | None, lang: str, *,
                approved: tuple[str, Stamp] | None = None, changed: list[Change] | None = None,
                limit: int = PAGE_LIMIT) -> list[Lines]:
    """The sheet as chat messages of at most ``limit`` characters in ``lang``, in order, split
    between engineers (inside one engineer's lines only when they alone are over the limit)."""
    pages: list[list[Any]] = []
    size = 0
    for block in _blocks(sheet, team_id, team_name, approved=approved, changed=changed):
        length = len(Lines(tuple(block)).render(lang))
        if pages and size + 2 + length <= limit:
            pages[-1] += [Raw(""), *block]
            size += 2 + length
            continue
        pages.append([])
        size = -1
        for line in block:  # one engineer's lines alone over the limit: split between lines
            width = len(line.render(lang)) + 1
            if pages[-1] and size + width > limit:
                pages.append([])
                size = -1
            pages[-1].append(line)
            size += width
    return [Lines(tuple(page)) for page in pages]


def _blocks(sheet: PerformanceSheet, team_id: int | None, team_name: str | None, *,
            approved: tuple[str, Stamp] | None, changed: list[Change] | None) -> list[list[Any]]:
    """The heading, one block per engineer, the changes since the approval."""
    scope = {"month": month_name(sheet.month), "team": team_label(team_name)}
    rows = sheet.for_team(team_id)
    head: list[Any] = [L("perf.title", scope)]
    head.append(L("perf.approved", {"by": Raw(approved[0]), "at": approved[1]}) if approved
                else L("perf.not_approved"))
    if not rows:
        head.append(L("perf.empty", scope))
    blocks = [head] + [list(engineer_lines(row, sheet.rules)) for row in rows]
    if approved is not None:
        names = {r.name for r in rows}
        mine = [c for c in changed or [] if team_id is None or c.engineer in names]
        blocks.append([L("perf.changes", {"count": len(mine)}) if mine else L("perf.no_changes"),
                       *(change_line(c, sheet.rules) for c in mine)])
    return blocks


def change_line(c: Change, rules: Rules) -> L:
    def shown(value: object) -> Any:
        if value is None:
            return L("report.none")
        return money(rules, value) if isinstance(value, Decimal) else str(value)
    tickets = []
    if c.removed:
        tickets.append(L("perf.change_removed", {"tickets": Raw(", ".join(c.removed))}))
    if c.added:
        tickets.append(L("perf.change_added", {"tickets": Raw(", ".join(c.added))}))
    return L("perf.change", {"name": Raw(c.engineer or "—"), "figure": L(f"perf.figure.{c.figure}"),
                             "approved": shown(c.approved), "now": shown(c.now),
                             "tickets": Lines(tuple(tickets)) if tickets else ""})


async def approved_view(session: AsyncSession, tz: ZoneInfo, live: PerformanceSheet, month: Month
                        ) -> tuple[PerformanceSheet, tuple[str, Stamp] | None, list[Change] | None]:
    """(the sheet to show, (approved by, when) or None, the differences since the approval)."""
    approval = await approval_of(session, month)
    if approval is None:
        return live, None, None
    frozen = PerformanceSheet.from_json(approval.sheet)
    by = await session.get(Person, approval.approved_by_id) if approval.approved_by_id else None
    return frozen, (by.name if by else "—", Stamp(approval.at, tz)), changes(frozen, live)


# -- export ----------------------------------------------------------------------------------------
COLUMNS = ("engineer", "counted", "excluded", "allowance", "complaints", "bonus", "deduction", "total",
           "sla_met", "satisfaction", "ratings", "callbacks_answered", "callback_average", "callbacks_unanswered",
           "callbacks_pending")


def export_tables(sheet: PerformanceSheet, lang: str, team_id: int | None) -> list[tuple[str, list[list[Any]]]]:
    """(sheet name, rows with a header row first): the engineers' figures, then the jobs that do
    not count with their reasons.  Money stays Decimal (exact in the workbook and the CSV)."""
    head = [t(lang, f"perf.col.{c}") for c in COLUMNS]
    rows: list[list[Any]] = [head]
    left_out: list[list[Any]] = [[t(lang, "perf.col.engineer"), t(lang, "perf.col.ticket"), t(lang, "perf.col.reason")]]
    for r in sheet.for_team(team_id):
        name = r.name or t(lang, "report.no_engineer")
        rows.append([name, len(r.counted), len(r.excluded), r.allowance, r.complaints, r.bonus, r.deduction, r.total,
                     round(r.sla_met * 100 / r.sla_measured, 1) if r.sla_measured else None,
                     round(r.rating_sum / r.ratings, 2) if r.ratings else None, r.ratings, r.callbacks_answered,
                     round(r.callback_rating_sum / r.callbacks_answered, 2) if r.callbacks_answered else None,
                     r.callbacks_unanswered, r.callbacks_pending])
        left_out += [[name, number, t(lang, f"perf.reason.{reason}")] for number, reason in r.excluded]
    return [(t(lang, "perf.sheet.engineers"), rows), (t(lang, "perf.sheet.excluded"), left_out)]
