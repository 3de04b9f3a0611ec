"""``fieldbot report --performance`` on the command line (real SQLite file; PostgreSQL when
FIELDBOT_TEST_PG_URL is set): the sheet on stdout with the rule behind each figure, the CSV and XLSX
read back with exact amounts, the approval by a manager (and refused twice, or for a non-manager),
then the approved figures with a later correction listed as a difference."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.calendar import calendar_for
from models.clocks import SlaPolicy
from models.db import Database
from models.enums import Role
from tests.conftest import make_config
from tests.support.cli import cli_runner
from tests.support.logged import october_jobs, staff

PAY = '[pay]\nallowance_per_job = "50"\nno_complaint_bonus = "200"\ncomplaint_deduction = "12.50"\nbonus_lost_from = 2\n'


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    run = cli_runner(db_url, tmp_path, capsys, PAY)
    return run


async def _seed(db_url: str, tmp_path: Path) -> dict[str, object]:
    """October: Li Lei two jobs (one by phone), Wang Fang one job with a complaint; a manager."""
    config = make_config(db_url, tmp_path)
    db = Database(db_url)
    try:
        ids = await october_jobs(db, SlaPolicy(config.sla, config.chase, calendar_for(config.bot)))
        await staff(db, "Zhou Lin", None, Role.MANAGER)
        await staff(db, "Wang Wei", "North", Role.SUPERVISOR)
        return ids
    finally:
        await db.dispose()


async def _complaint_against(db_url: str, ticket_id: int) -> None:
    from datetime import datetime, timezone

    from models.tickets import Ticket
    from models.transitions import record_event
    from models.work import Complaint

    db = Database(db_url)
    try:
        async with db.write() as s:
            ticket = await s.get(Ticket, ticket_id)
            at = datetime(2026, 10, 20, 3, tzinfo=timezone.utc)
            complaint = Complaint(ticket_id=ticket.id, engineer_id=ticket.assignee_id, text="Rude", created_at=at)
            s.add(complaint)
            await s.flush()
            record_event(s, ticket, "complaint_made", now=at, complaint_id=complaint.id, photos=0)
    finally:
        await db.dispose()


def test_sheet_exports_approval_and_a_later_correction(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    ids = asyncio.run(_seed(db_url, tmp_path))
    code, out, err = cli("report", "--performance", "--month", "2026-10", "--csv", str(tmp_path / "p.csv"),
                         "--xlsx", str(tmp_path / "p.xlsx"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == ["Performance sheet for October 2026 · all teams", "Not approved yet.", ""]
    li = lines[3:lines.index("", 3)]
    assert li == [
        "Li Lei", "  jobs that count: 2 (a complete service report and the customer's sign-off)",
        "  allowance: ¥50 × 2 = ¥100 (per-job allowance, jobs with a complete signed report)",
        "  complaints: 0 (recorded against the engineer in the month)",
        "  no-complaint bonus: ¥200 (kept while the month has fewer complaints than 2)",
        "  deductions: 0 complaints × ¥12.50 = ¥0 (per-complaint deduction)",
        "  total: ¥300 (allowance + bonus − deductions)",
        "  SLA met: 100% (2 of 2 counted jobs met every time limit)",
        "  satisfaction: 4.5/5 (2 ratings at sign-off and callback)",
        "  callbacks (回访): 0 answered, average —/5 · 0 unanswered · 2 still open"]
    assert "  total: ¥237.50 (allowance + bonus − deductions)" in lines  # Wang Fang: 50 + 200 − 12.50
    assert lines[-1] == f"Written: {tmp_path / 'p.xlsx'}"

    with open(tmp_path / "p.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:8] == ["Engineer", "Jobs that count", "Jobs not counted", "Allowance", "Complaints",
                           "No-complaint bonus", "Deductions", "Total"]
    assert rows[1][:8] == ["Li Lei", "2", "0", "100", "0", "200", "0.00", "300.00"]
    assert rows[2][:8] == ["Wang Fang", "1", "0", "50", "1", "200", "12.50", "237.50"]
    assert rows[3] == [] and rows[4] == ["Engineer", "Ticket", "Why it does not count"]
    book = load_workbook(tmp_path / "p.xlsx")
    assert book.sheetnames == ["Performance", "Not counted"]
    assert [c.value for c in book["Performance"][3]][:8] == ["Wang Fang", 1, 0, 50, 1, 200, 12.5, 237.5]

    assert cli("report", "--performance", "--approve", "--month", "2026-10", "--by", "Wang Wei")[0] == 2
    code, out, err = cli("report", "--performance", "--approve", "--month", "2026-10", "--by", "Zhou Lin")
    assert code == 0 and out.splitlines()[0] == "Approved the performance sheet for 2026-10 as Zhou Lin."
    assert out.splitlines()[2].startswith("Approved by Zhou Lin on ")
    assert " (UTC+8): the figures below are the approved ones." in out.splitlines()[2]  # the zone, said
    assert out.splitlines()[-2:] == [
        "Nothing has changed since the approval.",
        "A month runs from midnight on the 1st to midnight after its last day, Beijing time (UTC+8)."]
    code, _, err = cli("report", "--performance", "--approve", "--month", "2026-10", "--by", "Zhou Lin")
    assert code == 2 and "is already approved (by Zhou Lin" in err and "cannot be approved twice" in err

    asyncio.run(_complaint_against(db_url, ids["first"]))  # a complaint about Li Lei's job, recorded late
    code, out, _ = cli("--lang", "zh-CN", "report", "--performance", "--month", "2026-10")
    assert code == 0
    assert "  总计" not in out and "  合计：¥300（补贴 + 奖励 − 扣款）" in out  # the approved figures stand
    assert out.splitlines()[-5:] == ["审批后有变动（3 项）— 现有记录为：",
                                     "  Li Lei · 投诉：审批时 0，现在 1",
                                     "  Li Lei · 扣款：审批时 ¥0，现在 ¥12.50",
                                     "  Li Lei · 合计：审批时 ¥300，现在 ¥287.50",
                                     "月份按北京时间（UTC+8）计算：从 1 日零点到月末 24 点。"]


def test_approve_needs_a_month_and_a_manager(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    asyncio.run(_seed(db_url, tmp_path))
    code, _, err = cli("report", "--performance", "--approve", "--by", "Zhou Lin")
    assert code == 2 and err.strip() == "fieldbot: error: --approve needs --month and --by NAME (a manager)."
    code, _, err = cli("report", "--performance", "--approve", "--month", "2026-10", "--by", "Nobody")
    assert code == 2 and err.strip() == 'fieldbot: error: No manager called "Nobody".'
    code, out, _ = cli("report", "--performance", "--month", "2026-10", "--team", "North")
    assert code == 0 and out.splitlines()[0] == "Performance sheet for October 2026 · North"
