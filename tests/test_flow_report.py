"""``/report [YYYY-MM]`` end to end (emulator + the real bot on each channel + SQLite): the chart as a photo
and the table as text, in English and Chinese; last month by default; the asker's team only (staff
without a team see every team); bad months get one line; engineers and customers are refused.
Then the chart itself: labels the font cannot draw, a configured font, a chart that fails."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import matplotlib
import pytest
from sqlalchemy import select

from bot.app import App, FixedClock
from bot.config import ConfigError, parse_config
from handlers.report_chart import bar_labels, draw_chart, glyph_check, report_message
from handlers.report_view import row_label
from models.enums import Role
from models.reports import Month, MonthlyReport, ReportRow
from models.runtime import OutboxMessage
from tests.support.cast import join_customer
from tests.support.history import PNG, october
from tests.support.tickets import new_ticket
from tests.support.world import World

#: Monday 2 November 2026, 10:30 in Shanghai: "last month" is October.
T0 = datetime(2026, 11, 2, 2, 30, tzinfo=timezone.utc)
SUP, DSP, MGR, ENG, ENG2, CUST, SOUTH_ENG, ZH_SUP = 200, 201, 202, 203, 204, 205, 206, 207


def world(tmp_path: Path, channel: str) -> World:
    return World(tmp_path, channel, clock=FixedClock(T0))


async def crew(w: World) -> None:
    await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
    await w.join(DSP, Role.DISPATCHER, "Chen Jing")
    await w.join(MGR, Role.MANAGER, "Zhou Lin", team=None)
    await w.join(ENG, Role.ENGINEER, "Li Lei")
    await w.join(ENG2, Role.ENGINEER, "Wang Fang")
    await w.join(SOUTH_ENG, Role.ENGINEER, "Sun Qi", team="South")
    await w.join(ZH_SUP, Role.SUPERVISOR, "Zhao Min", lang="zh-CN")
    await october(w)


async def chart_and_text(w: World, uid: int) -> str:
    """The two messages a report is: the chart (a real PNG) first, then the text."""
    photo, text = await w.expect(uid, 2)
    assert w.photo_bytes(photo).startswith(PNG)
    assert not text.photo
    return text.text


async def test_last_months_report_in_english(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await crew(w)
        w.say(SUP, "/report")
        text = await chart_and_text(w, SUP)
        assert text == (
            "Service report for October 2026 · North\n"
            "Completed jobs with a full report: 3 · average handling time 4.3 h · first-visit fix 50% · "
            "SLA met 67% · satisfaction 3.8/5 · complaints 1\n"
            "\n"
            "By product model:\n"
            "1. X200: jobs 2 · handling 6.0 h · first-visit fix 50% · SLA met 50% · satisfaction 3.7/5 · complaints 1\n"
            "2. Z9: jobs 1 · handling 1.0 h · first-visit fix — · SLA met 100% · satisfaction 4.0/5 · complaints 0\n"
            "\n"
            "By fault type:\n"
            "1. power: jobs 2 · handling 6.0 h · first-visit fix 50% · SLA met 50% · satisfaction 3.7/5 · complaints 1\n"
            "2. (no fault type): jobs 1 · handling 1.0 h · first-visit fix — · SLA met 100% · satisfaction 4.0/5 · "
            "complaints 0\n"
            "\n"
            "By engineer:\n"
            "1. Li Lei: jobs 2 · handling 6.0 h · first-visit fix 50% · SLA met 50% · satisfaction 3.7/5 · complaints 1\n"
            "2. Wang Fang: jobs 1 · handling 1.0 h · first-visit fix — · SLA met 100% · satisfaction 4.0/5 · "
            "complaints 0\n"
            "\n"
            "The chart shows the jobs per row; its bars are numbered like the rows.\n"
            "Jobs left out because their service report is incomplete: 1.")
        async with w.app.db.read() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == w.address(SUP)))).all()
        [photos] = [r.payload["photos"] for r in rows if r.payload.get("photos")]
        stored = w.app.config.storage.media_dir / photos[0]["path"]
        assert stored.read_bytes().startswith(PNG)

        # A manager without a team sees every team; a month with nothing says so, without a chart.
        w.say(MGR, "/report 2026-10")
        text = await chart_and_text(w, MGR)
        assert text.startswith("Service report for October 2026 · all teams\n"
                               "Completed jobs with a full report: 4 ·")
        assert "2. Sun Qi: jobs 1 " in text
        w.say(DSP, "/report 2026-9")
        [empty] = await w.expect(DSP)
        assert empty.text == "No completed jobs with a full report in September 2026 (North)."
        assert await w.quiet(DSP) == []
        assert "report" in w.menu(SUP) and "report" in w.menu(DSP) and "report" in w.menu(MGR)
        assert "report" not in w.menu(ENG)


async def test_report_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await crew(w)
        w.say(ZH_SUP, "/report 2026-10")
        text = await chart_and_text(w, ZH_SUP)
        lines = text.split("\n")
        assert lines[:2] == [
            "2026年10月服务报表 · North",
            "已完成且服务单完整的工单：3 单 · 平均处理时长 4.3 小时 · 一次上门解决率 50% · SLA 达标率 67% · "
            "满意度 3.8/5 · 投诉 1 次"]
        assert "按故障类型：" in lines and "2. （未填故障类型）：1 单 · 处理 1.0 小时 · 一次上门解决率 — · SLA 达标 100% · " \
            "满意度 4.0/5 · 投诉 0" in lines
        assert lines[-1] == "服务单不完整、未计入统计的工单：1 单。"
        w.say(ZH_SUP, "/report abc")
        [bad] = await w.expect(ZH_SUP)
        assert bad.text == "“abc”不是有效的月份。请按 年-月 的格式填写，例如 /report 2026-10。"
        assert await w.quiet(ZH_SUP) == []


async def test_bad_months_and_people_who_may_not(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await crew(w)
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        for bad in ("2026-13", "abc", "2026-10-01"):
            w.say(SUP, f"/report {bad}")
            [reply] = await w.expect(SUP)
            assert reply.text == f'"{bad}" is not a month. Write it as YYYY-MM, e.g. /report 2026-10.'
        w.say(ENG, "/report")
        w.say(CUST, "/report 2026-10")
        [eng] = await w.expect(ENG)
        [cust] = await w.expect(CUST)
        assert eng.text == cust.text == "You can't do that with your role."
        for uid in (SUP, ENG, CUST):
            assert await w.quiet(uid) == []
        async with w.app.db.read() as s:
            photos = [r for r in (await s.scalars(select(OutboxMessage))).all() if r.payload.get("photos")]
        assert photos == []


# -- the chart -----------------------------------------------------------------------------------
ROWS = [ReportRow("X200", 3, 3600.0, 1.0, 1.0, 5.0, 1, 0), ReportRow("李雷", 2, 7200.0, None, 0.5, None, 0, 1),
        ReportRow(None, 1, 60.0, 0.0, 1.0, 3.0, 1, 0)]
SAMPLE = MonthlyReport(Month(2026, 10), None, ReportRow(None, 6, 4000.0, 0.5, 0.83, 4.0, 2, 1), ROWS, ROWS, ROWS, 0)
DEJAVU = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"


def test_chart_labels_are_chinese_by_default() -> None:
    drawable, props = glyph_check("")  # DejaVu Sans with Droid Sans Fallback (handlers/fonts)
    assert drawable("X200") and drawable("各工程师工单数") and drawable("（无工程师）")
    assert bar_labels("engineer", ROWS, "zh-CN", drawable) == ["X200", "李雷", "（无工程师）"]
    assert props.get_family()[0] == "DejaVu Sans"
    assert draw_chart(SAMPLE, "zh-CN", top=3).startswith(PNG)


def test_chart_labels_fall_back_to_row_numbers_without_the_glyphs() -> None:
    drawable, _ = glyph_check(str(DEJAVU))  # a configured font without Chinese
    assert drawable("X200") and drawable("Jobs by engineer") and not drawable("各工程师工单数")
    assert bar_labels("fault", ROWS, "en", drawable) == ["X200", "#2", "(no fault type)"]
    assert bar_labels("fault", ROWS, "zh-CN", drawable) == ["X200", "#2", "#3"]
    assert bar_labels("engineer", ROWS, "zh-CN", lambda text: True) == ["X200", "李雷", "（无工程师）"]
    long = [ReportRow("Industrial controller model " + "9" * 40, 1, None, None, None, None, 0, 0)]
    assert bar_labels("model", long, "en", drawable) == ["Industrial controller m…"]
    assert row_label("model", long[0], 40).render("en") == "Industrial controller model 99999999999…"


def test_a_configured_font_draws_and_a_missing_one_is_a_config_error() -> None:
    config = parse_config(f'[reports]\nchart_font = "{DEJAVU}"\n', environ={})
    assert draw_chart(SAMPLE, "zh-CN", top=2, font_path=config.reports.chart_font).startswith(PNG)
    with pytest.raises(ConfigError) as err:
        parse_config('[reports]\nchart_font = "/nowhere/NotoSansCJK.otf"\n', environ={})
    assert err.value.problems == ['reports.chart_font: "/nowhere/NotoSansCJK.otf": no such font file']


async def test_a_chart_that_cannot_be_drawn_leaves_the_text(app: App, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    app.config.reports.chart_font = str(broken)
    async with app.db.read() as s:
        msg = await report_message(app, s, SAMPLE, "en")
    assert msg.photos == []
    assert msg.render("en").text.startswith("Service report for October 2026 · all teams\n")
    app.config.reports.chart_font = ""
    async with app.db.read() as s:
        msg = await report_message(app, s, SAMPLE, "en")
    assert (app.config.storage.media_dir / msg.photos[0]["path"]).read_bytes().startswith(PNG)
