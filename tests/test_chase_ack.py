"""Unanswered acknowledgement chase on a controllable clock and a real business calendar
(08:30–22:00 Mon–Fri, Asia/Shanghai; Wed 2026-03-04 a holiday, Sat 2026-03-07 a make-up working day):
the exact outbox rows at every step — reminders, repeats counted in working time, escalation to
the manager with the engineer told, quiet hours, severity 1 at night, no manager — and every
reminder sent once however often and by however many instances the job runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.app import App, FixedClock, build_app
from handlers.timeline import event_text
from models.enums import Action, CheckinKind, Role
from models.tickets import Ticket, TicketEvent
from models.transitions import apply_action
from scheduler import ack
from scheduler.runner import Scheduler
from tests.support import chase
from tests.support.calendars import ACK_CHASE, at, calendar_app_fixture
from tests.support.cast import pid
from tests.support.chase import Outbox, ack_row, acknowledge, chase_events, checkin, new_ticket, outbox_keys, staff, title
from tests.support.tickets import move
from tests.support.tickets import checkin as world_checkin
from tests.support.tickets import new_ticket as world_ticket
from tests.support.world import World

capp = calendar_app_fixture(ACK_CHASE)  # an App on the calendar, its clock moved by the test


async def tick(app: App, moment: datetime, job: Callable[[App, datetime], Awaitable[int]] = ack.run) -> int:
    return await chase.tick(app, moment, job)


# -- the ladder ----------------------------------------------------------------------------------
async def test_reminders_count_working_time_across_a_holiday_then_escalate(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(3, 20)  # Tuesday evening
    ticket = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng,
                              then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    capp.clock.at = at(3, 21)
    cid = await checkin(capp, p.eng, ticket)
    out = Outbox(capp)
    [(to, text, buttons, when)] = await out.new()
    assert (to, buttons, when) == ("Wang Wei", [[("Acknowledge", f"ack:{cid}")]], "2026-03-03 21:00")
    card = [[("Acknowledge", f"ack:{cid}")]]

    assert await tick(capp, at(3, 21, 29)) == 0
    assert await out.new() == []

    # +ack_reminder: reminder 1 at once (working time).
    assert await tick(capp, at(3, 21, 30)) == 1
    assert await out.new() == [(
        "Wang Wei",
        "Reminder 1 of 2: Li Lei's arrival check-in at 21:00 is waiting for your acknowledgement.\n"
        f"{title(ticket)}\nOn site, starting diagnosis", card, "2026-03-03 21:30")]
    row = await ack_row(capp, cid)
    # ack_repeat = 1h of working time: 30 min left on Tuesday, Wednesday is a holiday → Thursday 09:00.
    assert (row.reminder_count, row.next_reminder_at, row.escalation_level) == (1, at(5, 9), 0)

    for moment in (at(3, 23), at(4, 12), at(5, 8, 59)):  # night, the holiday, just before
        assert await tick(capp, moment) == 0
    assert await out.new() == []

    assert await tick(capp, at(5, 9)) == 1
    assert await out.new() == [(
        "Wang Wei",
        "Reminder 2 of 2: Li Lei's arrival check-in at 03-03 21:00 is waiting for your acknowledgement.\n"
        f"{title(ticket)}\nOn site, starting diagnosis", card, "2026-03-05 09:00")]
    assert (await ack_row(capp, cid)).next_reminder_at == at(5, 10)

    # After ack_max_reminders: the manager, with the same button; the engineer is told (in Chinese).
    assert await tick(capp, at(5, 10)) == 1
    assert await out.new() == [
        ("Zhou Yu",
         "Escalated to you: Li Lei's arrival check-in at 03-03 21:00 has not been acknowledged by Wang Wei "
         f"after 2 reminders.\n{title(ticket)}\nOn site, starting diagnosis", card, "2026-03-05 10:00"),
        ("Li Lei", f"您于 03-03 21:00 就 {ticket.number} 所做的到场签到未获Wang Wei确认，已升级给Zhou Yu。", [],
         "2026-03-05 10:00"),
    ]
    row = await ack_row(capp, cid)
    assert (row.reminder_count, row.next_reminder_at, row.escalation_level) == (2, None, 1)
    assert await chase_events(capp, ticket) == [
        ("chase_ack_escalated", {"checkin_id": cid, "count": 2, "manager_id": p.mgr, "manager": "Zhou Yu"})]
    async with capp.db.read() as s:
        event = await s.scalar(select(TicketEvent).where(TicketEvent.kind == "chase_ack_escalated"))
    # The timeline names the check-in by its kind and time (never its id), or just "a check-in".
    assert event_text("en", event, {}) == "Still no acknowledgement of a check-in after 2 reminders: escalated to Zhou Yu"
    assert event_text("zh-CN", event, {}, capp.tz, checkins={cid: ("arrival", at(3, 21))}) == (
        "到场签到（03-03 21:00）经 2 次提醒仍未确认，已升级给Zhou Yu")

    # The ladder is over: the same instant again, and later, send nothing.
    assert await tick(capp, at(5, 10)) == 0
    assert await tick(capp, at(6, 12)) == 0
    assert await out.new() == []

    # The manager may acknowledge from the escalation.
    await acknowledge(capp, p.mgr, cid)
    assert (await ack_row(capp, cid)).acked_by_id == p.mgr


async def test_overnight_reminder_waits_for_the_make_up_saturday_and_acknowledging_stops_it(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(6, 20)  # Friday evening
    ticket = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng,
                              then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    capp.clock.at = at(6, 21, 45)
    cid = await checkin(capp, p.eng, ticket, CheckinKind.PROGRESS, text="Board replaced, testing")
    out = Outbox(capp)
    await out.skip()

    # Due at 22:15, after closing: written now, delivered at the opening of the make-up Saturday.
    assert await tick(capp, at(6, 22, 15)) == 1
    assert await out.new() == [(
        "Wang Wei",
        "Reminder 1 of 2: Li Lei's progress check-in at 21:45 yesterday is waiting for your acknowledgement.\n"
        f"{title(ticket)}\nBoard replaced, testing", [[("Acknowledge", f"ack:{cid}")]], "2026-03-07 08:30")]
    assert (await ack_row(capp, cid)).next_reminder_at == at(7, 9, 30)  # 1h of Saturday's working time

    # The supervisor acknowledges at 09:10: nothing more, ever.
    capp.clock.at = at(7, 9, 10)
    await acknowledge(capp, p.sup, cid)
    await out.skip()
    for moment in (at(7, 9, 30), at(7, 12), at(9, 9)):
        assert await tick(capp, moment) == 0
    assert await out.new() == []
    assert await chase_events(capp, ticket) == []

    # A check-in made at night reaches the supervisor at Monday's opening: its first reminder
    # counts from there (09:00), not from the night, and it says when the check-in was made.
    capp.clock.at = at(7, 23)
    cid2 = await checkin(capp, p.eng, ticket, CheckinKind.PROGRESS, text="Waiting for the board to cool")
    [(_, _, _, when)] = await out.new()
    assert when == "2026-03-09 08:30"
    assert await tick(capp, at(7, 23, 30)) == 1  # claimed and moved on, nothing sent
    assert await out.new() == []
    assert (await ack_row(capp, cid2)).next_reminder_at == at(9, 9)
    assert await tick(capp, at(9, 8, 59)) == 0
    assert await tick(capp, at(9, 9)) == 1
    assert await out.new() == [(
        "Wang Wei",
        "Reminder 1 of 2: Li Lei's progress check-in at 03-07 23:00 is waiting for your acknowledgement.\n"
        f"{title(ticket)}\nWaiting for the board to cool", [[("Acknowledge", f"ack:{cid2}")]], "2026-03-09 09:00")]


async def test_severity_1_is_chased_round_the_clock_and_at_once(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 22, 30)  # Monday night, after closing
    ticket = await new_ticket(capp, severity=1, dispatcher=p.dsp, engineer=p.eng,
                              then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    capp.clock.at = at(2, 23)
    cid = await checkin(capp, p.eng, ticket)
    out = Outbox(capp)
    [(_, _, _, when)] = await out.new()
    assert when == "2026-03-02 23:00"  # the check-in itself is not held either
    card = [[("Acknowledge", f"ack:{cid}")]]
    line = f"{title(ticket)}\nOn site, starting diagnosis"

    assert await tick(capp, at(2, 23, 30)) == 1
    assert await out.new() == [("Wang Wei", "Reminder 1 of 2: Li Lei's arrival check-in at 23:00 is waiting for "
                                f"your acknowledgement.\n{line}", card, "2026-03-02 23:30")]
    assert (await ack_row(capp, cid)).next_reminder_at == at(3, 0, 30)
    assert await tick(capp, at(3, 0, 30)) == 1
    assert await out.new() == [("Wang Wei", "Reminder 2 of 2: Li Lei's arrival check-in at 23:00 yesterday is "
                                f"waiting for your acknowledgement.\n{line}", card, "2026-03-03 00:30")]
    assert await tick(capp, at(3, 1, 30)) == 1
    assert await out.new() == [
        ("Zhou Yu", "Escalated to you: Li Lei's arrival check-in at 23:00 yesterday has not been acknowledged by "
         f"Wang Wei after 2 reminders.\n{line}", card, "2026-03-03 01:30"),
        ("Li Lei", f"您于 昨天 23:00 就 {ticket.number} 所做的到场签到未获Wang Wei确认，已升级给Zhou Yu。", [],
         "2026-03-03 01:30"),
    ]


async def test_without_a_manager_the_supervisor_gets_a_last_word_and_the_engineer_is_told_to_call(
        capp: App) -> None:
    p = await staff(capp, "South", manager=False)
    capp.clock.at = at(2, 10)
    ticket = await new_ticket(capp, team="South", dispatcher=p.dsp, engineer=p.eng,
                              then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    cid = await checkin(capp, p.eng, ticket)
    out = Outbox(capp)
    await out.skip()
    assert [await tick(capp, moment) for moment in (at(2, 10, 30), at(2, 11, 30), at(2, 12, 30))] == [1, 1, 1]
    *_, (to, text, buttons, when), (to2, text2, buttons2, when2) = await out.new()
    assert (to, buttons, when) == ("Wang Wei", [[("Acknowledge", f"ack:{cid}")]], "2026-03-02 12:30")
    assert text == ("Li Lei's arrival check-in at 10:00 is still not acknowledged after 2 reminders. Team South "
                    f"has no manager to escalate to, so this is the last reminder.\n{title(ticket)}\n"
                    "On site, starting diagnosis")
    assert (to2, text2, buttons2, when2) == (
        "Li Lei", f"您于 10:00 就 {ticket.number} 所做的到场签到，Wang Wei经 2 次提醒仍未确认，请直接电话联系。", [],
        "2026-03-02 12:30")
    row = await ack_row(capp, cid)
    assert (row.next_reminder_at, row.escalation_level) == (None, 0)
    assert await chase_events(capp, ticket) == [("chase_ack_not_escalated", {"checkin_id": cid, "count": 2})]


async def test_a_cancelled_ticket_is_not_chased(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 10)
    ticket = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng,
                              then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    cid = await checkin(capp, p.eng, ticket)
    async with capp.db.write() as s:
        apply_action(s, await s.get(Ticket, ticket.id), Action.CANCEL, now=capp.clock.now(), reason="duplicate",
                     clocks=capp.sla)
    out = Outbox(capp)
    await out.skip()
    assert await tick(capp, at(2, 10, 30)) == 1
    assert await out.new() == []
    assert (await ack_row(capp, cid)).next_reminder_at is None


# -- idempotency ---------------------------------------------------------------------------------
async def test_every_reminder_is_sent_once_by_repeated_and_concurrent_runs(capp: App, tmp_path: Path) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 10)
    ticket = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng,
                              then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    checkins = [await checkin(capp, p.eng, ticket, CheckinKind.PROGRESS, text=f"step {n}") for n in range(4)]
    other = build_app(capp.config, FixedClock(capp.clock.now()))  # a second instance, same database
    runner = Scheduler(capp, jobs={"ack-chase": ack.run})
    try:
        for moment in (at(2, 10, 30), at(2, 11, 30), at(2, 12, 30)):
            capp.clock.at = other.clock.at = moment
            first = await asyncio.gather(ack.run(capp, moment), ack.run(other, moment))
            assert sum(first) == len(checkins)
            again = await asyncio.gather(ack.run(capp, moment), ack.run(other, moment), ack.run(capp, moment))
            assert again == [0, 0, 0]
        # Through the runner as well: nothing is due any more.
        capp.clock.at = at(2, 13)
        assert await runner.tick() == {"ack-chase": 0}
    finally:
        await runner.stop()  # on PostgreSQL it holds the leader lock on a connection of its own
        await other.close()
    keys = [k for k in await outbox_keys(capp) if k.startswith("ack:")]
    ids = [(await ack_row(capp, c)).id for c in checkins]
    expected = [f"ack:{i}:{step}" for step in ("remind:1", "remind:2", "escalate", "escalated") for i in ids]
    assert sorted(keys) == sorted(expected)
    assert len(keys) == len(set(keys))
    assert len(await chase_events(capp, ticket)) == len(checkins)  # one escalation event each


# -- in real time, through the emulator ----------------------------------------------------------
async def test_real_time_reminded_then_escalated_and_acknowledging_stops_it(tmp_path: Path, channel: str) -> None:
    """The real runtime's scheduler (ticking every second) with chase durations of seconds."""
    sup, eng, mgr = 400, 401, 402
    fast = ('[chase]\nack_reminder = "1s"\nack_repeat = "2s"\nack_max_reminders = 1\n'
            '[scheduler]\ntick = "1s"\n')
    async with World(tmp_path, channel, extra_config=fast) as w:
        await w.join(sup, Role.SUPERVISOR, "Wang Wei")
        await w.join(eng, Role.ENGINEER, "Li Lei")
        await w.join(mgr, Role.MANAGER, "Zhou Yu")
        ticket = await world_ticket(w)
        await move(w, ticket, Action.DISPATCH, actor_uid=sup, assignee_id=await pid(w, eng))
        await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=eng)

        cid = await world_checkin(w, eng, ticket)
        [first] = await w.expect(sup)
        [reminder] = await w.expect(sup, timeout=15)
        assert reminder.text.startswith("Reminder 1 of 1: Li Lei's arrival check-in at ")
        assert reminder.buttons == w.shown(["Acknowledge"])
        [escalation] = await w.expect(mgr, timeout=15)
        assert escalation.text.startswith("Escalated to you: Li Lei's arrival check-in at ")
        [told] = await w.expect(eng, timeout=15)
        assert told.text.endswith("was not acknowledged by Wang Wei, so it has been escalated to Zhou Yu.")
        assert (await ack_row(w.app, cid)).escalation_level == 1

        # A second check-in: acknowledged from its reminder, it is never escalated.
        cid2 = await world_checkin(w, eng, ticket, CheckinKind.PROGRESS, text="Testing")
        await w.expect(sup)
        [reminder2] = await w.expect(sup, timeout=15)
        w.press(sup, reminder2, "Acknowledge")
        [told2] = await w.expect(eng)
        assert told2.text.startswith("Wang Wei acknowledged your progress check-in")
        await asyncio.sleep(2.5)  # longer than ack_repeat: the escalation would have come by now
        assert await w.quiet(mgr) == [] and await w.quiet(sup) == []
        row = await ack_row(w.app, cid2)
        assert (row.acked_by_id, row.escalation_level, row.reminder_count) == (await pid(w, sup), 0, 1)
