"""``fieldbot report [--month YYYY-MM] [--team NAME] [--csv FILE] [--xlsx FILE]``: the monthly
service statistics (the same figures and wording as ``/report``) on stdout, and as a CSV table or
an Excel workbook for the monthly paperwork, with headers in ``--lang``.

The CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly; its rows stack the
total and each breakdown, each row naming its breakdown.  The workbook has one sheet per breakdown.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from pathlib import Path
from typing import Any

from bot.widths import fit_columns
from handlers.i18n import t
from handlers.report_view import export_headers, export_sections, report_text
from handlers.times import month_note
from models.invites import team_by_name
from models.reports import Month, MonthlyReport, month_before, monthly_report, parse_month

#: Characters Excel does not allow in a sheet name, and its length limit.
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
_SHEET_MAX = 31


def add_commands(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="monthly statistics by product model, fault type and engineer")
    report.add_argument("--month", help="YYYY-MM in the team's time zone (default: last month)")
    report.add_argument("--team", help="only this team's jobs (default: every team)")
    report.add_argument("--csv", type=Path, help="also write the figures to this CSV file")
    report.add_argument("--xlsx", type=Path, help="also write the figures to this Excel workbook")
    report.add_argument("--verify", action="store_true",
                        help="rebuild the month's figures from the event log and compare (exit 1 on a difference)")
    report.add_argument("--performance", action="store_true",
                        help="the monthly performance sheet (月度绩效) per engineer instead")
    report.add_argument("--approve", action="store_true",
                        help="with --performance: approve the month's sheet (needs --month and --by)")
    report.add_argument("--by", help="with --approve: the approving manager's name")
    report.set_defaults(handler=_report)


def _month(app, args: argparse.Namespace) -> Month:  # noqa: ANN001
    from bot.cli import UsageError

    if args.month is None:
        return month_before(app.today())
    try:
        return parse_month(args.month)
    except ValueError:
        raise UsageError(t(args.lang, "report.cli.bad_month", value=args.month)) from None


async def _report(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    from bot.cli import UsageError

    month = _month(app, args)
    if args.performance:
        from bot.cli_performance import performance

        return await performance(app, args, month)
    async with app.db.read() as session:
        team = await team_by_name(session, args.team.strip()) if args.team else None
        if args.team and team is None:
            raise UsageError(t(args.lang, "report.cli.no_team", team=args.team))
        if args.verify:
            from bot.cli_verify import verify

            return await verify(app, session, args, month, team)
        report = await monthly_report(session, month, app.tz, team_id=team.id if team else None)
    print(report_text(report, team.name if team else None, top=10_000, chart=False,
                      label_limit=None).render(args.lang))
    print(month_note(args.lang, app.tz, app.clock.now()))
    for path, write in ((args.csv, write_csv), (args.xlsx, write_xlsx)):
        if path is None:
            continue
        try:
            await asyncio.to_thread(write, path, report, args.lang)
        except OSError as exc:
            raise UsageError(t(args.lang, "report.cli.cannot_write", path=str(path),
                               reason=exc.strerror or str(exc))) from None
        print(t(args.lang, "report.cli.written", path=str(path)))
    return 0


#: A cell starting with one of these is a formula to Excel (CSV too) and LibreOffice.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    """Model names, fault types and engineers' names come from chat: text that would start a
    formula is written with a leading apostrophe, so a typed ``=HYPERLINK(…)`` stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    return "" if value is None else _safe(value)


def write_csv(path: Path, report: MonthlyReport, lang: str) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(export_headers(lang))
        for _, rows in export_sections(report, lang):
            out.writerows([[_cell(v) for v in row] for row in rows])


def write_xlsx(path: Path, report: MonthlyReport, lang: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    headers = export_headers(lang)
    for name, rows in export_sections(report, lang):
        sheet = book.create_sheet(name.translate(_SHEET_FORBIDDEN)[:_SHEET_MAX])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_safe(v) for v in row])
        fit_columns(sheet, headers)  # by display width: a Chinese header takes two per character
        sheet.freeze_panes = "A2"
    book.save(path)
