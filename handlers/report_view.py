"""How a monthly report reads: the chat text (a short table per breakdown, top rows only) and the
rows of the CSV / XLSX export, in the reader's language.

Shared by ``/report``, the monthly push and ``fieldbot report``, so the three always agree.  The
figures come from :mod:`models.reports`; this module only words and rounds them.
"""

from __future__ import annotations

from typing import Any

from handlers.fault_types import OTHER
from handlers.i18n import t
from handlers.messages import L, Lines, Listed, Raw
from models.reports import DIMENSIONS, Month, MonthlyReport, ReportRow

#: Longest name shown in a chat table row (product models and fault types may be long).
CHAT_LABEL_LIMIT = 40
#: Export columns after the breakdown and the name, by catalog key of their header.
COLUMNS = ("jobs", "handling_hours", "first_visit", "sla_met", "satisfaction", "ratings", "complaints")


def month_name(month: Month) -> L:
    return L("report.month", {"year": month.year, "name": L(f"report.months.{month.month}")})


def _hours(seconds: float | None) -> Any:
    return L("report.none") if seconds is None else L("report.hours", {"hours": f"{seconds / 3600:.1f}"})


def _percent(rate: float | None) -> Any:
    return L("report.none") if rate is None else L("report.percent", {"value": f"{rate * 100:.0f}"})


def _rating(value: float | None) -> Any:
    return L("report.none") if value is None else L("report.rating", {"value": f"{value:.1f}"})


def _figures(row: ReportRow) -> dict[str, Any]:
    return {"jobs": row.jobs, "handling": _hours(row.handling_seconds), "first_visit": _percent(row.first_visit_rate),
            "sla": _percent(row.sla_met_rate), "satisfaction": _rating(row.satisfaction),
            "complaints": row.complaints}


def row_label(dimension: str, row: ReportRow, limit: int | None = None) -> Any:
    """The row's name (cut to ``limit`` characters); a row without one is a ticket without a
    fault type (or an engineer).  The fault type "other" is shown in the reader's language."""
    if dimension == "fault" and row.label == OTHER:
        return L("fault.other")
    if row.label:
        cut = limit is not None and len(row.label) > limit
        return Raw(row.label[:limit - 1] + "…" if cut else row.label)
    return L("report.no_engineer" if dimension == "engineer" else "report.no_fault_type")


def team_label(team_name: str | None) -> Any:
    return Raw(team_name) if team_name else L("report.all_teams")


def report_text(report: MonthlyReport, team_name: str | None, *, top: int, monthly: bool = False,
                chart: bool = True, label_limit: int | None = CHAT_LABEL_LIMIT) -> Lines:
    """The chat message: title, the month's totals, then each breakdown's top rows (and a word
    on the chart that comes with it, if one does).  Names are cut to ``label_limit`` so that
    even the most rows ``[reports] top`` allows fit in one chat message (Telegram: 4096)."""
    scope = {"month": month_name(report.month), "team": team_label(team_name)}
    if report.total.jobs == 0:
        parts: list[Any] = [L("report.empty", scope)]
    else:
        parts = [L("report.monthly_title" if monthly else "report.title", scope),
                 L("report.total", _figures(report.total))]
        for dimension in DIMENSIONS:
            rows = report.rows(dimension)
            parts.append(Raw(""))
            parts.append(L(f"report.dim.{dimension}"))
            for rank, row in enumerate(rows[:top], start=1):
                parts.append(L("report.row", {"rank": rank, "label": row_label(dimension, row, label_limit),
                                                 **_figures(row)}))
            if len(rows) > top:
                parts.append(L("report.more", {"count": len(rows) - top}))
        if chart:
            parts.append(Raw(""))
            parts.append(L("report.chart_note"))
    if report.incomplete:
        parts.append(L("report.incomplete", {"count": report.incomplete}))
    if report.off_site:  # arrivals beyond the geofence, per engineer (issue 15)
        parts.append(L("evidence.report_off_site", {"list": Listed(tuple(
            L("evidence.report_off_site_item", {"name": Raw(name), "count": n}) for name, n in report.off_site))}))
    return Lines(tuple(p for p in parts if p is not None))


def _number(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def export_values(row: ReportRow) -> list[Any]:
    """One row's figures for a spreadsheet: hours, percentages and the rating as plain numbers."""
    return [row.jobs,
            _number(None if row.handling_seconds is None else row.handling_seconds / 3600, 2),
            _number(None if row.first_visit_rate is None else row.first_visit_rate * 100, 1),
            _number(None if row.sla_met_rate is None else row.sla_met_rate * 100, 1),
            _number(row.satisfaction, 2), row.ratings, row.complaints]


def export_headers(lang: str) -> list[str]:
    return [t(lang, "report.col.dimension"), t(lang, "report.col.name")] + [t(lang, f"report.col.{c}") for c in COLUMNS]


def export_sections(report: MonthlyReport, lang: str) -> list[tuple[str, list[list[Any]]]]:
    """(sheet name, rows) for the total and each breakdown; every row starts with its breakdown
    and name, so the sections can also be stacked into one CSV table."""
    total_name = t(lang, "report.sheet.total")
    sections = [(total_name, [[total_name, total_name, *export_values(report.total)]])]
    for dimension in DIMENSIONS:
        name = t(lang, f"report.sheet.{dimension}")
        sections.append((name, [[name, row_label(dimension, row).render(lang), *export_values(row)]
                                for row in report.rows(dimension)]))
    return sections
