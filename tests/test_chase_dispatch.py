"""Unaccepted dispatch chase on a controllable clock and the business calendar of
``tests/support/calendars.py`` (exact outbox rows: the engineer's reminder, then the desk alert with
**Reassign**; quiet hours; severity 1 at night; accepting stops it; every step once across
instances), and **Reassign** pressed end to end through the emulator.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import App, FixedClock, build_app
from handlers.flows import dispatch as dispatch_flow
from models.enums import Action, Role, TicketStatus
from models.tickets import Ticket, TicketEvent
from models.transitions import apply_action
from scheduler import dispatch
from tests.support.calendars import ACK_CHASE, at, calendar_app_fixture
from tests.support.cast import pid
from tests.support.chase import Outbox, as_person, chase_events, new_ticket, outbox_keys, staff, tick, title
from tests.support.tickets import events
from tests.support.tickets import new_ticket as world_ticket
from tests.support.world import T0, World

capp = calendar_app_fixture(ACK_CHASE)


async def ticket_row(app: App, ticket: Ticket) -> Ticket:
    async with app.db.read() as s:
        return await s.get(Ticket, ticket.id)


def zh_summary(ticket: Ticket, severity: str = "2 级 – 有宕机风险") -> str:
    return (f"{title(ticket)}\n状态：已派单\n故障级别：{severity}\n服务方式：上门服务\n"
            "联系电话：+8613800000001（未提供联系人姓名）\n故障现象：Display flickers")


async def run_dispatch(app: App, moment: datetime) -> int:
    return await tick(app, moment, dispatch.run)


async def test_engineer_reminded_then_dispatcher_and_supervisor_alerted_in_working_time(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 21, 40)  # Monday, 20 minutes before closing
    ticket = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng)
    out = Outbox(capp)
    await out.skip()
    assert (await ticket_row(capp, ticket)).dispatch_next_at == at(2, 21, 55)

    assert await run_dispatch(capp, at(2, 21, 54)) == 0
    assert await run_dispatch(capp, at(2, 21, 55)) == 1
    # The engineer reads Chinese: the dispatch card again, with Accept / Decline.
    assert await out.new() == [(
        "Li Lei", f"提醒：{ticket.number} 已于 21:40 派给您，请接单或拒单。\n{zh_summary(ticket)}",
        [[("接单", f"acc:{ticket.id}"), ("拒单", f"dec:{ticket.id}")]], "2026-03-02 21:55")]
    row = await ticket_row(capp, ticket)
    # dispatch_escalate = 1h of working time after the dispatch: 20 min on Monday, 40 on Tuesday.
    assert (row.dispatch_chase_level, row.dispatch_next_at) == (1, at(3, 9, 10))

    assert await run_dispatch(capp, at(2, 23)) == 0
    assert await run_dispatch(capp, at(3, 9, 9)) == 0
    assert await run_dispatch(capp, at(3, 9, 10)) == 1
    alert = (f"{ticket.number} was dispatched to Li Lei at 21:40 yesterday and has not been accepted yet. "
             f"Reassign it to another engineer?\n{title(ticket)}")
    assert await out.new() == [
        ("Chen Jing", alert, [[("Reassign", f"rsg:{ticket.id}")]], "2026-03-03 09:10"),
        ("Wang Wei", alert, [[("Reassign", f"rsg:{ticket.id}")]], "2026-03-03 09:10"),
    ]
    row = await ticket_row(capp, ticket)
    assert (row.dispatch_chase_level, row.dispatch_next_at, row.status) == (2, None, TicketStatus.DISPATCHED)
    assert await chase_events(capp, ticket) == [("chase_dispatch_alerted", {"names": ["Chen Jing", "Wang Wei"]})]

    assert await run_dispatch(capp, at(3, 9, 10)) == 0
    assert await run_dispatch(capp, at(5, 12)) == 0
    assert await out.new() == []


async def test_night_is_not_counted_but_severity_1_is_chased_at_night_at_once(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 21, 50)
    quiet = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng)
    capp.clock.at = at(2, 23)
    urgent = await new_ticket(capp, severity=1, dispatcher=p.dsp, engineer=p.eng)
    out = Outbox(capp)
    await out.skip()
    accept_decline = [[("接单", f"acc:{quiet.id}"), ("拒单", f"dec:{quiet.id}")]]

    # 15 minutes of working time: 10 on Monday evening, 5 on Tuesday morning; nothing at night.
    assert (await ticket_row(capp, quiet)).dispatch_next_at == at(3, 8, 35)
    assert await run_dispatch(capp, at(2, 22, 5)) == 0

    # Severity 1: 15 minutes of round-the-clock time, sent at once; the desk at 00:00.
    assert await run_dispatch(capp, at(2, 23, 15)) == 1
    assert await out.new() == [("Li Lei", f"提醒：{urgent.number} 已于 23:00 派给您，请接单或拒单。\n"
                                f"{zh_summary(urgent, '1 级 – 系统宕机/服务中断')}",
                                [[("接单", f"acc:{urgent.id}"), ("拒单", f"dec:{urgent.id}")]], "2026-03-02 23:15")]
    assert await run_dispatch(capp, at(3, 0)) == 1
    alert = (f"{urgent.number} was dispatched to Li Lei at 23:00 yesterday and has not been accepted yet. "
             f"Reassign it to another engineer?\n{title(urgent)}")
    assert await out.new() == [("Chen Jing", alert, [[("Reassign", f"rsg:{urgent.id}")]], "2026-03-03 00:00"),
                               ("Wang Wei", alert, [[("Reassign", f"rsg:{urgent.id}")]], "2026-03-03 00:00")]
    assert await run_dispatch(capp, at(3, 8, 35)) == 1
    assert await out.new() == [("Li Lei", f"提醒：{quiet.number} 已于 昨天 21:50 派给您，请接单或拒单。\n"
                                f"{zh_summary(quiet)}", accept_decline, "2026-03-03 08:35")]
    assert (await ticket_row(capp, quiet)).dispatch_next_at == at(3, 9, 20)
    assert await run_dispatch(capp, at(3, 9, 20)) == 1
    assert [(to, when) for to, _, _, when in await out.new()] == [("Chen Jing", "2026-03-03 09:20"),
                                                                 ("Wang Wei", "2026-03-03 09:20")]


async def test_accepting_in_between_stops_the_chase(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 10)
    ticket = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng)
    stale = await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng2)
    out = Outbox(capp)
    await out.skip()
    assert await run_dispatch(capp, at(2, 10, 15)) == 2
    assert [to for to, *_ in await out.new()] == ["Li Lei", "Zhao Min"]

    # Li Lei accepts with the real handler; the other ticket moves on without its deadline being
    # cleared (a path that skips the clocks): the job just clears it.
    capp.clock.at = at(2, 10, 20)
    await as_person(capp, p.eng, lambda ctx, s: dispatch_flow.accept(ctx), data=f"acc:{ticket.id}")
    async with capp.db.write() as s:
        apply_action(s, await s.get(Ticket, stale.id), Action.ACCEPT, now=capp.clock.now(), actor_id=p.eng2)
    assert (await ticket_row(capp, ticket)).dispatch_next_at is None
    await out.skip()
    assert await run_dispatch(capp, at(2, 11)) == 1  # the stale row, cleared without a message
    assert await out.new() == []
    assert (await ticket_row(capp, stale)).dispatch_next_at is None
    assert await run_dispatch(capp, at(2, 12)) == 0
    assert await chase_events(capp, ticket) == [] and await chase_events(capp, stale) == []


async def test_every_step_is_sent_once_by_repeated_and_concurrent_runs(capp: App) -> None:
    p = await staff(capp)
    capp.clock.at = at(2, 10)
    tickets = [await new_ticket(capp, dispatcher=p.dsp, engineer=p.eng) for _ in range(4)]
    other = build_app(capp.config, FixedClock(capp.clock.now()))
    try:
        for moment in (at(2, 10, 15), at(2, 11)):
            capp.clock.at = other.clock.at = moment
            assert sum(await asyncio.gather(dispatch.run(capp, moment), dispatch.run(other, moment))) == len(tickets)
            assert await asyncio.gather(dispatch.run(capp, moment), dispatch.run(other, moment)) == [0, 0]
    finally:
        await other.close()
    keys = [k for k in await outbox_keys(capp) if k.startswith("dispatch:")]
    assert len(keys) == len(set(keys)) == len(tickets) * 3  # reminder, dispatcher, supervisor
    stamp = at(2, 10).isoformat()
    assert sorted(keys) == sorted(f"dispatch:{t.id}:{stamp}:{step}" for t in tickets
                                  for step in ("remind", f"alert:{p.dsp}", f"alert:{p.sup}"))


# -- Reassign, end to end ------------------------------------------------------------------------
SUP, DSP, ENG, ENG2, SOUTH_ENG = 300, 301, 302, 303, 304


async def chase(w: World, minutes: int) -> None:
    """Move the clock to T0 + ``minutes`` and run the dispatch chase, as the scheduler would."""
    w.clock.at = T0 + timedelta(minutes=minutes)
    await dispatch.run(w.app, w.clock.now())
    w.rt.sender.wake()


# Also on PostgreSQL (``db_url``), one of the handful of end-to-end scenarios CI runs on both databases.
async def test_reassign_end_to_end(tmp_path: Path, channel: str, db_url: str) -> None:
    async with World(tmp_path, channel, db_url=db_url, clock=FixedClock(T0),
                     extra_config="[scheduler]\nenabled = false\n") as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min", lang="zh-CN")
        await w.join(SOUTH_ENG, Role.ENGINEER, "Sun Li", team="South")
        ticket = await world_ticket(w)
        n = ticket.number

        # The dispatcher dispatches to Li Lei through the real /dispatch picker.
        w.say(DSP, f"/dispatch {n}")
        [picker] = await w.expect(DSP)
        w.press(DSP, picker, "Li Lei · 0 open")
        [done] = await w.expect(DSP)
        assert done.text.startswith(f"{n} dispatched to Li Lei.")
        [card] = await w.expect(ENG)

        await chase(w, 14)
        assert await w.quiet(ENG) == []
        await chase(w, 15)
        [reminder] = await w.expect(ENG)
        assert reminder.text.startswith(
            f"Reminder: {n} was dispatched to you at 10:30. Please accept or decline it.\n"
            f"{n} · X200 · 1 Harbour Rd\nStatus: dispatched")
        assert reminder.buttons == ["Accept", "Decline"]

        await chase(w, 60)
        [alert_dsp], [alert_sup] = await w.expect(DSP), await w.expect(SUP)
        assert alert_sup.text == (f"{n} was dispatched to Li Lei at 10:30 and has not been accepted yet. "
                                  f"Reassign it to another engineer?\n{n} · X200 · 1 Harbour Rd")
        assert alert_sup.buttons == alert_dsp.buttons == ["Reassign"]

        # Only the desk may press it.
        w.press_data(ENG, reminder.id, f"rsg:{ticket.id}")
        assert [m.text for m in await w.expect(ENG)] == ["You can't do that with your role."]

        # The supervisor picks another engineer of the team (not Li Lei, not the other team's).
        w.clock.at = T0 + timedelta(minutes=61)
        w.press(SUP, alert_sup, "Reassign")
        [pick] = await w.expect(SUP)
        assert pick.text == (f"Reassign {n} (X200, 1 Harbour Rd) to which engineer? "
                             "It was dispatched to Li Lei at 10:30 and not accepted.")
        assert pick.buttons == w.shown(["Zhao Min · 0 open"])
        w.press_data(SUP, pick.id, f"rsa:{ticket.id}:{await pid(w, SOUTH_ENG)}")
        w.press_data(SUP, pick.id, f"rsa:{ticket.id}:{await pid(w, ENG)}")
        assert [m.text for m in await w.expect(SUP, 2)] == [
            f"That engineer is not an active engineer of {n}'s team.", f"{n} is already with Li Lei."]

        w.press(SUP, pick, "Zhao Min · 0 open")
        [confirm] = await w.expect(SUP)
        assert confirm.text == (f"{n} reassigned from Li Lei to Zhao Min. "
                                "I'll tell you when they accept or decline.")
        assert w.current(SUP, pick).text == f"{n}: Zhao Min chosen."
        [new_card] = await w.expect(ENG2)
        assert new_card.text.startswith(f"您有新的派单：\n{n} · X200 · 1 Harbour Rd\n状态：已派单")
        assert new_card.buttons == ["接单", "拒单"]
        [told] = await w.expect(ENG)
        assert told.text == f"{n} has been reassigned to another engineer. You no longer need to accept it."
        [others] = await w.expect(DSP)
        assert others.text == f"Wang Wei reassigned {n} from Li Lei to Zhao Min."

        # Stale buttons: the dispatcher's alert, Li Lei's reminder.
        w.press(DSP, alert_dsp, "Reassign")
        assert [m.text for m in await w.expect(DSP)] == [
            f"{n} has been reassigned meanwhile (now with Zhao Min); that button is out of date."]
        w.press(ENG, reminder, "Accept")
        assert [m.text for m in await w.expect(ENG)] == ["That ticket is not (or no longer) available to you."]

        reassigned = [e for e in await events(w, ticket) if e.action is Action.REASSIGN]
        assert [(e.actor_id, e.details["assignee_id"], e.details["reason"]) for e in reassigned] == [
            (await pid(w, SUP), await pid(w, ENG2), "not accepted in time")]
        async with w.app.db.read() as s:
            row = await s.get(Ticket, ticket.id)
        assert (row.status, row.assignee_id, row.dispatch_chase_level, row.dispatch_next_at) == (
            TicketStatus.DISPATCHED, await pid(w, ENG2), 0, T0 + timedelta(minutes=76))

        # The new dispatch is chased anew; Zhao Min accepts from the reminder and the chase ends.
        await chase(w, 76)
        [again] = await w.expect(ENG2)
        assert again.text.startswith(f"提醒：{n} 已于 11:31 派给您，请接单或拒单。")
        w.clock.at = T0 + timedelta(minutes=80)
        w.press(ENG2, again, "接单")
        [accepted] = await w.expect(SUP)
        assert accepted.text == f"Zhao Min accepted {n}."
        await chase(w, 200)
        for uid in (SUP, DSP, ENG, ENG2):
            extra = [m.text for m in await w.quiet(uid)]
            assert not any("Reminder" in t or "提醒" in t or "Reassign" in t for t in extra), extra
        w.press(SUP, alert_sup, "Reassign")
        assert [m.text for m in await w.expect(SUP)] == [
            f"{n} is no longer waiting for acceptance (now accepted); there is nothing to reassign."]
        async with w.app.db.read() as s:
            kinds = (await s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id,
                                                                    TicketEvent.kind.like("chase_%")))).all()
        assert kinds == ["chase_dispatch_alerted"]
        w.say(SUP, f"/ticket {n}")
        [view] = await w.expect(SUP)
        assert ("2026-03-02 11:30  Not accepted in time: Chen Jing, Wang Wei alerted\n"
                "2026-03-02 11:31  Wang Wei reassigned the ticket to Zhao Min (from Li Lei)"
                " — reason: not accepted in time\n"
                "2026-03-02 11:50  Zhao Min accepted the ticket") in view.text
