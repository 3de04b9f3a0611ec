"""The monthly report push (scheduler/monthly_report.py) end to end: written by the job, delivered
through the emulator. November 2026 starts on a Sunday, so it goes out on Monday 2 November (and
waits for working hours), once per supervisor and manager — not again on a second run, a second
instance or a later day — in each person's language, for their team; a bot that was down on the
first working day catches up later in the month."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import FixedClock, build_app
from models.calendar import BusinessCalendar
from models.enums import Role
from models.runtime import OutboxMessage
from scheduler import monthly_report
from scheduler.monthly_report import first_working_day
from tests.support.cast import pid
from tests.support.history import ENG, ENG2, PNG, SOUTH_ENG, october
from tests.support.world import World

SHANGHAI = "Asia/Shanghai"
SUP, MGR, DSP, LATE_SUP = 300, 301, 302, 303
#: Mondays to Fridays 08:30–22:00 (the default working hours), and no background scheduler.
CONFIG = "[bot.working_hours]\n[scheduler]\nenabled = false\n"


def sh(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(SHANGHAI)).astimezone(timezone.utc)


async def at(w: World, moment: datetime) -> int:
    """Move the clock, run the job once, let the sender deliver what is due."""
    w.clock.at = moment
    sent = await monthly_report.run(w.app, moment)
    w.rt.sender.wake()
    await w.settle()
    return sent


async def report_rows(w: World) -> list[OutboxMessage]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "monthly_report")
                                     .order_by(OutboxMessage.id))).all())


async def test_sent_once_on_the_first_working_day(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, clock=FixedClock(sh(10, 30, 10)), extra_config=CONFIG) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(MGR, Role.MANAGER, "Zhou Lin", team=None, lang="zh-CN")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        for uid, name, team in ((ENG, "Li Lei", "North"), (ENG2, "Wang Fang", "North"), (SOUTH_ENG, "Sun Qi", "South")):
            await w.join(uid, Role.ENGINEER, name, team=team)
        await october(w)

        assert await at(w, sh(11, 1, 10)) == 0  # Sunday the 1st: not a working day
        w.clock.at = sh(11, 2, 7)
        await w.join(LATE_SUP, Role.SUPERVISOR, "Qian Hui")  # joined on the day: not handed October's report

        other = build_app(w.app.config, FixedClock(sh(11, 2, 7, 30)))  # a second instance, same database
        try:
            both = await asyncio.gather(monthly_report.run(w.app, sh(11, 2, 7, 30)),
                                        monthly_report.run(other, sh(11, 2, 7, 30)))
        finally:
            await other.close()
        assert sum(both) == 2
        rows = await report_rows(w)
        # Each report is its chart (a row of its own, sent first) and its table.
        assert [r.dedupe_key for r in rows] == [f"monthly-report:2026-10:{await pid(w, uid)}{part}"
                                                for uid in (SUP, MGR) for part in (":p0", "")]
        assert {r.not_before for r in rows} == {sh(11, 2, 8, 30)}  # quiet hours: waits for the working day
        assert await w.quiet(SUP) == []

        assert await at(w, sh(11, 2, 9)) == 0  # a second run sends nothing more…
        photo, text = await w.expect(SUP, 2)
        assert w.photo_bytes(photo).startswith(PNG)
        assert text.text.split("\n")[:2] == [
            "Monthly service report for October 2026 · North",
            "Completed jobs with a full report: 3 · average handling time 4.3 h · first-visit fix 50% · "
            "SLA met 67% · satisfaction 3.8/5 · complaints 1"]
        photo, text = await w.expect(MGR, 2)
        assert photo.photo
        assert text.text.split("\n")[:2] == [
            "2026年10月服务月报 · 全部团队",
            "已完成且服务单完整的工单：4 单 · 平均处理时长 4.0 小时 · 一次上门解决率 67% · SLA 达标率 75% · "
            "满意度 3.2/5 · 投诉 1 次"]
        assert await at(w, sh(11, 3, 9)) == 0  # …nor does the next day
        for uid in (SUP, MGR, DSP, LATE_SUP, ENG):
            assert await w.quiet(uid) == []

        w.app.config.reports.monthly = False  # switched off: nothing, even when due
        assert await at(w, sh(12, 3, 9)) == 0
        w.app.config.reports.monthly = True
        # December 1st is a Tuesday; a bot that was down until the 3rd still sends November's.
        assert await at(w, sh(12, 3, 9)) == 3
        [sup_nov] = await w.expect(SUP)
        assert sup_nov.text == "No completed jobs with a full report in November 2026 (North)."
        [late_nov] = await w.expect(LATE_SUP)
        assert late_nov.text == sup_nov.text
        [mgr_nov] = await w.expect(MGR)
        assert mgr_nov.text == "2026年11月没有已完成且服务单完整的工单（全部团队）。"
        assert await at(w, sh(12, 4, 9)) == 0
        assert len(await report_rows(w)) == 7  # two charts (October) and their tables, three November notes


def test_first_working_day_follows_the_business_calendar() -> None:
    week = [(time(8, 30), time(22, 0))] * 5 + [None, None]
    plain = BusinessCalendar(SHANGHAI, week)
    assert first_working_day(plain, 2026, 11) == date(2026, 11, 2)  # the 1st is a Sunday
    assert first_working_day(plain, 2026, 12) == date(2026, 12, 1)
    golden_week = BusinessCalendar(SHANGHAI, week, holidays=[date(2026, 10, d) for d in range(1, 8)],
                                   makeup_workdays=[date(2026, 8, 1)])
    assert first_working_day(golden_week, 2026, 10) == date(2026, 10, 8)  # National Day holidays
    assert first_working_day(golden_week, 2026, 8) == date(2026, 8, 1)  # a make-up Saturday (调休)
