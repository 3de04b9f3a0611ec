"""Missing daily check-in on a controllable clock and a real business calendar (08:30–22:00
Mon–Fri, Asia/Shanghai; Wed 2026-03-04 a holiday, Sat 2026-03-07 a make-up working day): who is
reminded at 18:00 exactly and whose supervisor is told at 20:00, the exact outbox rows, and every
message written once however often and by however many instances the job runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from models.enums import Action, CheckinKind, Role, ServiceType
from models.runtime import OutboxMessage
from scheduler import daily
from scheduler.runner import Scheduler
from tests.support import chase
from tests.support.calendars import DAILY_CHASE, at, calendar_app, calendar_app_fixture
from tests.support.chase import Outbox, act, new_ticket, outbox_keys, person, report, timed_events

capp = calendar_app_fixture(DAILY_CHASE)  # an App on the calendar, its clock moved by the test


async def tick(app: App, moment: datetime, job: Callable[[App, datetime], Awaitable[int]] = daily.run) -> int:
    return await chase.tick(app, moment, job)


def remind(numbers: str) -> str:
    return (f"Reminder: you have not sent today's progress check-in for {numbers} (due 18:00). "
            "Please report to your supervisor: send /checkin.")


# -- the week -------------------------------------------------------------------------------------
async def test_a_week_of_daily_checkins(capp: App) -> None:
    sup = await person(capp, Role.SUPERVISOR, "Wang Wei", lang="zh-CN")
    li = await person(capp, Role.ENGINEER, "Li Lei")
    zhao = await person(capp, Role.ENGINEER, "Zhao Min")
    sun = await person(capp, Role.ENGINEER, "Sun Qi", lang="zh-CN")
    qian = await person(capp, Role.ENGINEER, "Qian Hu")
    zhou = await person(capp, Role.ENGINEER, "Zhou Yu")
    onsite = (Action.ACCEPT, Action.DEPART, Action.ARRIVE)
    # Monday 09:00: three engineers on site (one pauses for parts), one on a phone ticket.
    t_li = await new_ticket(capp, engineer=li, then=onsite)
    t_zhao = await new_ticket(capp, engineer=zhao, then=onsite)
    t_sun = await new_ticket(capp, engineer=sun, then=onsite)
    await act(capp, t_sun, Action.PAUSE, actor=sun, pause_reason="parts")
    t_phone = await new_ticket(capp, engineer=qian, then=(Action.ACCEPT,), service=ServiceType.PHONE)
    await report(capp, zhao, t_zhao, CheckinKind.ARRIVAL)  # an arrival is not a progress report
    capp.clock.at = at(2, 14)
    await report(capp, li, t_li)
    capp.clock.at = at(2, 19)  # arrives after the due time: reports from tomorrow on
    t_zhou = await new_ticket(capp, engineer=zhou, then=onsite)
    out = Outbox(capp)
    await out.new()

    assert await tick(capp, at(2, 17, 59)) == 0
    assert await tick(capp, at(2, 18)) == 2
    assert await out.new() == [
        ("Zhao Min", remind(t_zhao.number), [], "2026-03-02 18:00"),
        ("Sun Qi", f"提醒：您今天还没有提交 {t_sun.number} 的进度汇报（截止 18:00）。请发送 /checkin 向主管汇报进度。",
         [], "2026-03-02 18:00"),
    ]
    for moment in (at(2, 18), at(2, 18, 30), at(2, 19, 59)):
        assert await tick(capp, moment) == 0
    assert await out.new() == []

    assert await tick(capp, at(2, 20)) == 2
    assert await out.new() == [
        ("Wang Wei", f"Zhao Min今天仍未提交 {t_zhao.number} 的进度汇报（截止 18:00）。", [], "2026-03-02 20:00"),
        ("Wang Wei", f"Sun Qi今天仍未提交 {t_sun.number} 的进度汇报（截止 18:00）。", [], "2026-03-02 20:00"),
    ]
    assert await tick(capp, at(2, 21)) == 0 and await tick(capp, at(2, 23)) == 0
    assert await timed_events(capp, t_zhao, "daily_") == [
        ("daily_checkin_reminded", {"engineer": "Zhao Min"}, "2026-03-02 18:00"),
        ("daily_checkin_escalated", {"engineer": "Zhao Min"}, "2026-03-02 20:00"),
    ]
    assert await timed_events(capp, t_li, "daily_") == [] and await timed_events(capp, t_phone, "daily_") == []

    # Tuesday: yesterday's report does not count; Zhao Min reports in the morning.
    capp.clock.at = at(3, 10)
    await report(capp, zhao, t_zhao)
    assert await tick(capp, at(3, 18)) == 3
    assert [(to, text) for to, text, _, _ in await out.new()] == [
        ("Li Lei", remind(t_li.number)),
        ("Sun Qi", f"提醒：您今天还没有提交 {t_sun.number} 的进度汇报（截止 18:00）。请发送 /checkin 向主管汇报进度。"),
        ("Zhou Yu", remind(t_zhou.number)),
    ]
    # Li Lei reports before 20:00: only the other two reach the supervisor.
    capp.clock.at = at(3, 19)
    await report(capp, li, t_li)
    assert await tick(capp, at(3, 20)) == 2
    assert [(to, text.split(" ")[0]) for to, text, _, _ in await out.new()] == [("Wang Wei", "Sun"),
                                                                               ("Wang Wei", "Zhou")]

    # Wednesday is a holiday: no daily chase at all.
    for moment in (at(4, 18), at(4, 20), at(4, 21, 59)):
        assert await tick(capp, moment) == 0
    assert await out.new() == []

    # Thursday Sun Qi resumes and resolves before the due time: no longer chased.
    capp.clock.at = at(5, 11)
    await act(capp, t_sun, Action.RESUME, Action.RESOLVE, actor=sun, findings="f", actions_taken="a")
    assert await tick(capp, at(5, 18)) == 3
    assert [to for to, _, _, _ in await out.new()] == ["Li Lei", "Zhao Min", "Zhou Yu"]

    # Saturday is a make-up working day: the chase runs; Sunday it does not.
    assert await tick(capp, at(7, 17)) == 0
    assert await tick(capp, at(7, 18)) == 3
    assert await tick(capp, at(7, 20)) == 3
    assert await tick(capp, at(8, 18)) == 0 and await tick(capp, at(8, 20)) == 0
    assert await outbox_keys(capp, "daily:2026-03-07") == [
        f"daily:2026-03-07:{li}:remind", f"daily:2026-03-07:{zhao}:remind", f"daily:2026-03-07:{zhou}:remind",
        f"daily:2026-03-07:{li}:escalate", f"daily:2026-03-07:{zhao}:escalate", f"daily:2026-03-07:{zhou}:escalate",
    ]
    assert await outbox_keys(capp, "daily:2026-03-04") == [] and await outbox_keys(capp, "daily:2026-03-08") == []
    assert sup and qian  # joined, never chased (the supervisor only hears about others)


async def test_per_ticket_and_severity_one_and_no_supervisor(capp: App) -> None:
    """Two sites, one reported: reminded of the other.  A severity-1 ticket's reminder is never held
    by quiet hours (due time set after closing here).  No supervisor: nobody to tell, no error."""
    li = await person(capp, Role.ENGINEER, "Li Lei", team="South")
    zhao = await person(capp, Role.ENGINEER, "Zhao Min", team="South")
    onsite = (Action.ACCEPT, Action.DEPART, Action.ARRIVE)
    first = await new_ticket(capp, engineer=li, then=onsite, team="South")
    second = await new_ticket(capp, engineer=li, then=onsite, team="South")
    urgent = await new_ticket(capp, engineer=zhao, then=onsite, team="South", severity=1)
    calm = await new_ticket(capp, engineer=zhao, then=onsite, team="South", severity=3)
    capp.clock.at = at(2, 12)
    await report(capp, li, first)
    capp.config.chase.daily_checkin_due = datetime(2026, 1, 1, 22, 30).time()  # after closing
    out = Outbox(capp)
    await out.new()
    assert await tick(capp, at(2, 22, 30)) == 2
    assert await out.new() == [
        # waits for the morning, and says the due time was yesterday's
        ("Li Lei", remind(second.number).replace("18:00", "22:30 yesterday"), [], "2026-03-03 08:30"),
        ("Zhao Min", remind(f"{urgent.number}, {calm.number}").replace("18:00", "22:30"), [], "2026-03-02 22:30"),
    ]
    # Escalation stays on the same local day (22:30 + 2h would pass midnight): 23:59, to nobody.
    assert daily.moments(capp, date(2026, 3, 2))[2] == at(2, 23, 59)
    assert await tick(capp, at(2, 23, 59)) == 0
    assert await out.new() == []


async def test_sent_once_however_often_and_by_two_instances(capp: App, db_url: str, tmp_path: Path) -> None:
    sup = await person(capp, Role.SUPERVISOR, "Wang Wei")
    engineers = [await person(capp, Role.ENGINEER, f"Engineer {i}") for i in range(4)]
    for engineer in engineers:
        await new_ticket(capp, engineer=engineer, then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    other = calendar_app(db_url, tmp_path, DAILY_CHASE)
    try:
        for moment in (at(2, 18), at(2, 20)):
            capp.clock.at = other.clock.at = moment
            counts = await asyncio.gather(daily.run(capp, moment), daily.run(other, moment),
                                          daily.run(capp, moment), daily.run(other, moment))
            assert sum(counts) == len(engineers)
            runner = Scheduler(capp)
            assert (await runner.tick())["daily-checkin"] == 0
            await runner.stop()
    finally:
        await other.close()
    keys = await outbox_keys(capp, "daily:")
    assert sorted(keys) == sorted(f"daily:2026-03-02:{e}:{step}" for e in engineers for step in ("remind", "escalate"))
    async with capp.db.read() as s:
        to = (await s.scalars(select(OutboxMessage.person_id).where(OutboxMessage.dedupe_key.like("daily:%:escalate")))).all()
    assert to == [sup] * len(engineers)


async def test_the_scans_use_their_indexes(capp: App, backend: str) -> None:
    """The daily scan reads tickets by status and check-ins by engineer and time; the callback scan
    reads its partial index (SQLite's query plan; PostgreSQL's depends on table statistics)."""
    if backend != "sqlite":
        pytest.skip("query plans checked on SQLite")
    from sqlalchemy import text

    from scheduler import callback

    async def plan(stmt) -> str:  # noqa: ANN001
        sql = str(stmt.compile(capp.db.reader.sync_engine, compile_kwargs={"literal_binds": True}))
        async with capp.db.read() as s:
            return " | ".join(row[-1] for row in (await s.execute(text("EXPLAIN QUERY PLAN " + sql))).all())

    now = at(2, 18)
    assert "USING INDEX ix_tickets_status_assignee" in await plan(daily.working_tickets())
    assert "USING INDEX ix_checkins_engineer_time" in await plan(daily.reported([1, 2, 3], at(2, 0)))
    assert "USING INDEX ix_tickets_callback_next" in await plan(callback.due_tickets(now))
