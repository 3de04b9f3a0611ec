"""Correcting a ticket's registration end to end (emulator + the real bot on each channel + SQLite):
**Edit** on the ticket page and ``/edit_ticket NUMBER``, a field picked, the new value typed or pressed
and checked as ``/new`` checks it; each change on the timeline (old → new, who); a new severity
recomputes the SLA due times from registration (shown, and agreeing with the clocks' explanation);
the engineer told of a new address or severity; people who may not, forged buttons and a ticket
past correcting change nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bot.app import FixedClock
from handlers.timeline import timeline_lines
from models.enums import Action, Role, ServiceType
from models.invites import team_by_name
from models.queries import people_names
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from models.verdicts import explain
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import events, load, move
from tests.support.world import T0, World

SUP, DSP, ENG, MGR, CUST = 700, 701, 702, 703, 704
FIELD_BUTTONS = ["Address", "Model", "Serial", "Contact", "Phone", "Purchase date", "Severity"]


def world(tmp_path: Path, channel: str, language: str = "en") -> World:
    return World(tmp_path, channel, language=language, clock=FixedClock(T0),
                 extra_config="[scheduler]\nenabled = false\n")


async def clocked_ticket(w: World) -> Ticket:
    """A severity-2 on-site ticket of team North registered at T0 with its SLA clocks running."""
    async with w.app.db.write() as s:
        team = await team_by_name(s, "North", create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address="1 Harbour Rd", model="X200",
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=team.id)
        return await register_ticket(s, reg, now=T0, today=date(2026, 3, 2), warranty=w.app.config.bot.warranty,
                                     clocks=w.app.sla)


async def timeline_of(w: World, ticket: Ticket) -> list[str]:
    """The ticket's timeline as ``/ticket`` and ``ticket show`` write it (read here, not from the chat:
    WeCom's app cuts a message as long as this page)."""
    logged = await events(w, ticket)
    async with w.app.db.read() as s:
        names = await people_names(s, {e.actor_id for e in logged})
    return timeline_lines("en", logged, w.app.tz, names)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=timezone.utc)


async def test_correct_address_phone_severity_and_purchase_date(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei", lang="zh-CN")
        ticket = await clocked_ticket(w)
        n = ticket.number
        await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG), clocks=w.app.sla)
        w.clock.at = T0 + timedelta(minutes=5)
        await move(w, ticket, Action.ACCEPT, actor_uid=ENG, clocks=w.app.sla)
        before = await load(w, ticket)
        assert (before.respond_due_at, before.arrive_due_at) == (utc(2, 3, 30), utc(3, 2, 30))  # the World works all day

        # The address, from the page; a photo is no answer.
        w.clock.at = T0 + timedelta(minutes=10)
        w.say(SUP, f"/ticket {n}")
        [page] = await w.expect(SUP)
        w.press(SUP, page, "Edit")
        [picker] = await w.expect(SUP)
        assert picker.text == f"Correct {n}: which field?" and picker.buttons == FIELD_BUTTONS
        w.press(SUP, picker, "Address")
        [ask] = await w.expect(SUP)
        assert ask.text == f"New address for {n}? Now: 1 Harbour Rd. Type it (or /cancel)."
        w.send_photo(SUP)
        [again] = await w.expect(SUP)
        assert again.text == f"Please type the answer as text.\nNew address for {n}? Now: 1 Harbour Rd. Type it (or /cancel)."
        w.say(SUP, "8 Pier St, Building B")
        [done] = await w.expect(SUP)
        assert done.text == f"{n} corrected:\naddress: 1 Harbour Rd → 8 Pier St, Building B\nLi Lei has been told."
        [told] = await w.expect(ENG)
        assert told.text.startswith(f"Wang Wei修改了工单 {n}：\n地址：1 Harbour Rd → 8 Pier St, Building B\n"
                                    f"{n} · X200 · 8 Pier St, Building B\n状态：已接单")
        assert told.buttons == ["出发"]
        row = await load(w, ticket)
        assert row.address == "8 Pier St, Building B" and row.site_id != before.site_id

        # The phone, by command: refused as /new refuses it, then taken; the engineer need not know.
        w.say(SUP, f"/edit_ticket {n}")
        [picker] = await w.expect(SUP)
        w.press(SUP, picker, "Phone")
        await w.expect(SUP)
        w.say(SUP, "12")
        [again] = await w.expect(SUP)
        assert again.text.startswith("\"12\" is not a phone number: use digits, e.g. +86 138 0013 8000.\nNew phone for")
        w.say(SUP, "+86 139 0000 1111")
        [done] = await w.expect(SUP)
        assert done.text == f"{n} corrected:\nphone: +8613800000001 → +8613900001111"
        assert await w.quiet(ENG) == []

        # The severity: a forged severity 7 is refused like a typed one; 1 recomputes the clocks
        # from registration on its own (24x7) calendar.
        w.press(SUP, picker, "Severity")
        [ask] = await w.expect(SUP)
        assert ask.buttons == ["1 – system down", "2 – risk of going down", "3 – partly degraded",
                               "4 – intermittent or indirect"]
        w.press_data(SUP, ask.id, f"tkv:{ticket.id}:7")
        [again] = await w.expect(SUP)
        assert again.text.startswith("\"7\" is not a severity: choose 1, 2, 3 or 4.\nNew severity for")
        assert (await load(w, ticket)).severity == 2
        w.press(SUP, ask, "1 – system down")
        [done] = await w.expect(SUP)
        due = ("new due times: response 2026-03-02 11:30, arrival 2026-03-02 18:30, resolution 2026-03-03 10:30")
        assert done.text == (f"{n} corrected:\nseverity: 2 – risk of going down → 1 – system down; {due}\n"
                             "Li Lei has been told.")
        [told] = await w.expect(ENG)
        assert told.text.startswith(f"Wang Wei修改了工单 {n}：\n故障级别：2 级 – 有宕机风险 → 1 级 – 系统宕机/服务中断；"
                                    "新的时限：响应 2026-03-02 11:30，到场 2026-03-02 18:30，解决 2026-03-03 10:30\n")
        row = await load(w, ticket)
        assert (row.severity, row.respond_due_at, row.arrive_due_at, row.resolve_due_at) == (
            1, utc(2, 3, 30), utc(2, 10, 30), utc(3, 2, 30))
        assert row.respond_diff_min == 55  # met at 10:35, judged against the new due time
        story_events = await events(w, ticket)
        assert all(explain(row, story_events, w.app.sla, clock, w.clock.now()).agrees
                   for clock in ("respond", "arrive", "resolve"))

        # The purchase date: not in the future; then in warranty.
        w.press(SUP, picker, "Purchase date")
        await w.expect(SUP)
        w.say(SUP, "2030-01-01")
        [again] = await w.expect(SUP)
        assert again.text.startswith("2030-01-01 is in the future: a purchase date cannot be.")
        w.say(SUP, "2025-06-01")
        [done] = await w.expect(SUP)
        assert done.text == f"{n} corrected:\npurchase date: unknown → 2025-06-01"
        row = await load(w, ticket)
        assert (row.purchase_date, row.in_warranty) == (date(2025, 6, 1), True)

        # No serial was on record: nothing to change.
        w.press(SUP, picker, "Serial")
        [ask] = await w.expect(SUP)
        w.press(SUP, ask, "No serial")
        assert [m.text for m in await w.expect(SUP)] == [f"The serial number of {n} is already that; nothing was changed."]

        # Each change on the timeline, with who made it.
        lines = await timeline_of(w, ticket)
        assert lines[-4:] == [
            "2026-03-02 10:40  Wang Wei corrected address: 1 Harbour Rd → 8 Pier St, Building B",
            "2026-03-02 10:40  Wang Wei corrected phone: +8613800000001 → +8613900001111",
            f"2026-03-02 10:40  Wang Wei corrected severity: 2 – risk of going down → 1 – system down; {due}",
            "2026-03-02 10:40  Wang Wei corrected purchase date: unknown → 2025-06-01"]
        assert [e.details["field"] for e in await events(w, ticket) if e.kind == "edited"] == [
            "address", "phone", "severity", "purchased"]


async def test_who_may_correct_and_what(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(MGR, Role.MANAGER, "周宇")
        ticket = await clocked_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "林先生", lang="zh-CN")
        await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))

        # Engineers, managers and customers may not (a manager's page has no Edit).
        for uid in (ENG, MGR, CUST):
            w.say(uid, f"/edit_ticket {n}")
            w.press_data(uid, last_id(w, uid), f"tkf:{ticket.id}:address")
            assert [m.text for m in await w.expect(uid, 2)] == ["您的角色不能执行此操作。"] * 2
        w.say(MGR, f"/ticket {n}")
        [page] = await w.expect(MGR)
        assert page.buttons[:2] == ["时限明细", "取消工单"]

        # Forged buttons: an unknown field, a value without the dialog, a value for another field.
        w.press_data(DSP, last_id(w, DSP), f"tkf:{ticket.id}:colour")
        w.press_data(DSP, last_id(w, DSP), f"tkv:{ticket.id}:1")
        assert [m.text for m in await w.expect(DSP, 2)] == ["该按钮已过期。"] * 2
        w.say(DSP, f"/edit_ticket {n}")
        [picker] = await w.expect(DSP)
        w.press(DSP, picker, "地址")
        [ask] = await w.expect(DSP)
        assert ask.text == f"请输入工单 {n} 新的地址（当前：1 Harbour Rd），或发送 /cancel。"
        w.press_data(DSP, ask.id, f"tkv:{ticket.id}:unknown")
        w.say(DSP, "/cancel")
        assert [m.text for m in await w.expect(DSP, 2)] == ["该按钮已过期。", "已取消，未做任何更改。"]
        row = await load(w, ticket)
        assert row.address == "1 Harbour Rd" and not [e for e in await events(w, ticket) if e.kind == "edited"]

        # The model, in Chinese; the engineer is not told of it.
        w.press(DSP, picker, "产品型号")
        await w.expect(DSP)
        w.say(DSP, "X200 Pro")
        [done] = await w.expect(DSP)
        assert done.text == f"工单 {n} 已修改：\n产品型号：X200 → X200 Pro"
        assert await w.quiet(ENG) == []

        # Once resolved, the registration stays as it is; a dialog left open ends when answered.
        contact = (await load(w, ticket)).contact_name
        w.press(DSP, picker, "联系人")
        await w.expect(DSP)
        await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        await move(w, ticket, Action.RESOLVE, actor_uid=ENG, findings="x", actions_taken="y")
        w.say(DSP, "林工")
        w.say(SUP, f"/edit_ticket {n}")
        assert [m.text for m in await w.expect(DSP)] == [f"工单 {n} 当前为“已解决”，只有未结工单才能修改登记信息。"]
        assert [m.text for m in await w.expect(SUP)] == [f"工单 {n} 当前为“已解决”，只有未结工单才能修改登记信息。"]
        assert (await load(w, ticket)).contact_name == contact
