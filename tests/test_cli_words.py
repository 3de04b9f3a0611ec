"""The command line in Chinese and English (real SQLite file; PostgreSQL when FIELDBOT_TEST_PG_URL
is set): ``ticket list`` lines Chinese up by display width and shows the engineer; the XLSX exports
size columns for Chinese headers; importing the same CSV twice skips the repeated rows with a
warning (``--allow-duplicates`` imports them); a manager invited without a team is warned that no
escalation will reach them, on the command line and in chat when they join; "无" as a serial is no
serial."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.app import build_app
from bot.widths import display_width, fit_columns, pad, table
from handlers.i18n import t as tr
from models.corrections import clean
from models.enums import Action, Role
from models.queries import ticket_by_number
from models.registry import Registration
from models.transitions import apply_action
from tests.conftest import make_config
from tests.support.chase import person
from tests.support.cli import cli_runner
from tests.support.world import World

HEADER = "customer,contact,phone,address,model,serial,purchased,fault,severity,service\n"
ROWS = ("上海精密机械有限公司,王经理,+86 138 0013 8000,上海市浦东新区张江路1号,ZX-300,SN-1,,主轴异响,2,onsite\n"
        "ACME Ltd,Ms Wu,+86 138 0013 8001,1 Road,X200,无,,won't start,3,onsite\n")


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    return cli_runner(db_url, tmp_path, capsys)


def _on(db_url: str, tmp_path: Path, fn):  # noqa: ANN001, ANN202
    async def go():  # noqa: ANN202
        app = build_app(make_config(db_url, tmp_path))
        try:
            return await fn(app)
        finally:
            await app.close()
    return asyncio.run(go())


def test_display_width_pads_chinese_to_line_up() -> None:
    assert display_width("工单") == 4 and display_width("FS-1") == 4 and display_width("Ａ") == 2
    assert pad("王", 4) == "王  " and pad("Li", 4) == "Li  "
    lines = table([["客户", "工程师", "型号"], ["ACME Ltd", "Li Lei", "X200"], ["上海精密", "王伟", "ZX"]])
    assert lines == ["客户      工程师  型号", "ACME Ltd  Li Lei  X200", "上海精密  王伟    ZX"]


def test_ticket_list_lines_up_chinese_and_shows_the_engineer(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    csv_file = tmp_path / "calls.csv"
    csv_file.write_text(HEADER + ROWS, encoding="utf-8")
    assert cli("ticket", "import", str(csv_file))[0] == 0

    async def dispatch(app) -> None:  # noqa: ANN001
        engineer = await person(app, Role.ENGINEER, "王小明")
        async with app.db.write() as s:
            ticket = await ticket_by_number(s, "FS-2026-000001")
            apply_action(s, ticket, Action.DISPATCH, now=app.clock.now(), clocks=app.sla, assignee_id=engineer)
    _on(db_url, tmp_path, dispatch)

    code, out, _ = cli("--lang", "zh", "ticket", "list")
    assert code == 0
    *lines, zone = out.splitlines()
    assert zone == "以上时间均为北京时间（UTC+8）。"  # the registered column's zone, under the table
    assert len(lines) == 3
    assert lines[0].split() == ["工单", "状态", "故障级别", "登记时间", "客户", "工程师", "产品型号"]
    assert "王小明" in lines[2] and "上海精密机械有限公司" in lines[2]
    assert lines[1].split()[-2:] == ["—", "X200"]  # not dispatched yet: no engineer
    # Every column starts at the same display column on every line.
    starts = []
    for line in lines:
        at, found = 0, []
        for cell in (c.strip() for c in line.split("  ") if c.strip()):
            at = line.index(cell, at)
            found.append(display_width(line[:at]))
            at += len(cell)
        starts.append(found)
    assert starts[0] == starts[1] == starts[2], out
    code, out, _ = cli("ticket", "list")
    assert out.splitlines()[0].split()[:2] == ["ticket", "status"]


def test_xlsx_columns_fit_chinese_headers() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["工程师", "满意度（平均）", "model"])
    sheet.append(["Li Lei", 4.5, "X200-LONG-MODEL-NAME"])
    fit_columns(sheet)
    widths = [sheet.column_dimensions[c].width for c in "ABC"]
    assert widths == [8, 16, 22]  # 3 汉字 = 6, 7 wide characters = 14, 20 letters; plus 2


def test_report_xlsx_in_chinese_is_sized_by_display_width(cli, tmp_path: Path) -> None:  # noqa: ANN001
    out_xlsx = tmp_path / "r.xlsx"
    assert cli("--lang", "zh", "report", "--month", "2026-02", "--xlsx", str(out_xlsx))[0] == 0
    sheet = load_workbook(out_xlsx).worksheets[0]
    for column in sheet.columns:
        header = column[0].value
        assert sheet.column_dimensions[column[0].column_letter].width >= display_width(header) + 2


def test_importing_the_same_csv_twice_skips_the_repeats(cli, tmp_path: Path) -> None:  # noqa: ANN001
    first = tmp_path / "calls.csv"
    first.write_text(HEADER + ROWS, encoding="utf-8")
    code, out, _ = cli("ticket", "import", str(first))
    assert code == 0 and tr("en", "cli.import_ok", count=2) in out
    again = tmp_path / "again.csv"
    again.write_text(HEADER + ROWS + ROWS.splitlines()[1] + "\n"
                     + "ACME Ltd,Ms Wu,+86 138 0013 8001,1 Road,X200,,,screen flickers,3,onsite\n", encoding="utf-8")
    code, out, _ = cli("ticket", "import", str(again))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("line 2: skipped, the same call as FS-2026-000001 registered ")
    assert lines[1].startswith("line 3: skipped, the same call as FS-2026-000002 registered ")
    assert lines[2] == "line 4: skipped, the same call as line 3 of this file"
    assert lines[3] == tr("en", "cli.import_ok", count=1)
    assert lines[4].startswith("3 duplicate rows skipped. To import them anyway")
    assert "FS-2026-000003" in out
    code, out, _ = cli("--lang", "zh", "ticket", "import", str(first))
    assert out.splitlines()[0].startswith("第 2 行：已跳过，与 ") and tr("zh-CN", "cli.import_ok", count=0) in out
    code, out, _ = cli("ticket", "import", str(first), "--allow-duplicates")
    assert code == 0 and tr("en", "cli.import_ok", count=2) in out and "skipped" not in out
    listed = json.loads(cli("ticket", "list", "--json")[1])
    assert len(listed) == 5
    # "无" in the serial column is no serial (and so the same call as an empty one).
    assert [t["serial"] for t in listed if t["number"] == "FS-2026-000002"] == [None]
    assert re.search(r"^serial number +none$", cli("ticket", "show", "FS-2026-000002")[1], re.M)
    assert re.search(r"^序列号 +无$", cli("--lang", "zh", "ticket", "show", "FS-2026-000002")[1], re.M)


def test_a_manager_without_a_team_is_warned(cli, tmp_path: Path) -> None:  # noqa: ANN001
    code, out, _ = cli("invite", "--role", "manager", "--name", "Zhou Yu")
    assert code == 0
    assert out.splitlines()[-1].startswith("Warning: Zhou Yu is invited as a manager without a team. Escalations")
    code, out, _ = cli("--lang", "zh", "invite", "--role", "manager", "--name", "周宇", "--json")
    assert json.loads(out)["warning"].startswith("注意：周宇以经理身份受邀，但未指定团队。")
    for args in (("--role", "manager", "--name", "Sun", "--team", "North"), ("--role", "engineer", "--name", "Li")):
        code, out, _ = cli("invite", *args)
        assert code == 0 and "Warning" not in out
        assert "warning" not in json.loads(cli("invite", *args, "--json")[1])


async def test_a_manager_without_a_team_is_told_on_joining(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await w.join(500, Role.MANAGER, "Zhou Yu", team=None)
        await w.join(501, Role.MANAGER, "Sun Li")
        alone, with_team = w.messages(500), w.messages(501)
        assert any(m.text.startswith("You have no team yet. Escalations") for m in alone)
        assert not any("no team yet" in (m.text or "") for m in with_team)


def test_no_serial_at_registration_and_correction() -> None:
    def reg(serial: str) -> Registration:
        return Registration(customer="Acme", phone="+8613800000001", address="1 Rd", model="X1", fault="dead",
                            severity=2, service="onsite", serial=serial).clean(date(2026, 3, 2))

    for word in ("none", "无", "没有", "n/a", "-", "不详"):
        assert reg(word).serial is None
        assert clean("serial", word, today=date(2026, 3, 2)) is None
    assert reg(" SN-1 ").serial == "SN-1"
    assert clean("serial", "SN-1", today=date(2026, 3, 2)) == "SN-1"
