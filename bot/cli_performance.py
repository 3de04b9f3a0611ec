"""``fieldbot report --performance [--month M] [--team T] [--csv FILE] [--xlsx FILE]`` and
``--performance --approve --month M --by NAME``: the monthly performance sheet (月度绩效) on stdout
(the same wording as ``/report performance``), as CSV (UTF-8 with BOM; the engineers' table, a blank
row, then the jobs that do not count) or as a workbook (one sheet each); and the manager's approval,
after which the approved figures are shown with every later difference listed against them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.widths import fit_columns
from handlers.i18n import t
from handlers.performance_view import approved_view, export_tables, sheet_text
from handlers.times import month_note
from models.enums import Role
from models.invites import team_by_name
from models.people import Person
from models.performance import performance_sheet
from models.sheet_approval import approve


async def performance(app, args: argparse.Namespace, month) -> int:  # noqa: ANN001
    from bot.cli import UsageError
    from bot.cli_report import _safe

    if args.approve:
        if not args.month or not args.by:
            raise UsageError(t(args.lang, "perf.cli.approve_needs"))
        async with app.db.write() as session:
            manager = await session.scalar(select(Person).where(
                Person.name == args.by.strip(), Person.role == Role.MANAGER, Person.active.is_(True)).limit(1))
            if manager is None:
                raise UsageError(t(args.lang, "perf.cli.no_person", name=args.by))
            await approve(session, await performance_sheet(session, month, app.tz, app.config.pay), manager,
                          now=app.clock.now())
        print(t(args.lang, "perf.cli.approved", month=str(month), by=manager.name))
    async with app.db.read() as session:
        team = await team_by_name(session, args.team.strip()) if args.team else None
        if args.team and team is None:
            raise UsageError(t(args.lang, "report.cli.no_team", team=args.team))
        live = await performance_sheet(session, month, app.tz, app.config.pay)
        shown, approved, changed = await approved_view(session, app.tz, live, month)
    team_id = team.id if team else None
    print(sheet_text(shown, team_id, team.name if team else None, approved=approved,
                     changed=changed).render(args.lang))
    print(month_note(args.lang, app.tz, app.clock.now()))
    for path, write in ((args.csv, _write_csv), (args.xlsx, _write_xlsx)):
        if path is None:
            continue
        tables = [(name, [[_safe(v) if v is not None else "" for v in row] for row in rows])
                  for name, rows in export_tables(shown, args.lang, team_id)]
        try:
            await asyncio.to_thread(write, path, tables)
        except OSError as exc:
            raise UsageError(t(args.lang, "report.cli.cannot_write", path=str(path),
                               reason=exc.strerror or str(exc))) from None
        print(t(args.lang, "report.cli.written", path=str(path)))
    return 0


def _write_csv(path: Path, tables: list[tuple[str, list[list[Any]]]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        for n, (_, rows) in enumerate(tables):
            if n:
                out.writerow([])
            out.writerows(rows)


def _write_xlsx(path: Path, tables: list[tuple[str, list[list[Any]]]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, rows in tables:
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append([None if v == "" else v for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        fit_columns(sheet)  # by display width: a Chinese header takes two per character
        sheet.freeze_panes = "A2"
    book.save(path)
