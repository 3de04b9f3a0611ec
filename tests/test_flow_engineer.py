"""The engineer's ticket list, card, **On my way** (ETA) and **Pause** / **Resume** — end to end
through the emulator with the real bot on each channel; both languages; forged, stale and foreign
buttons change nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from handlers.flows.engineer import parse_eta
from handlers.i18n import t as translate
from handlers.times import clock
from models.enums import Action, ServiceType, TicketStatus
from models.errors import DomainError
from models.tickets import Ticket
from models.transitions import apply_action
from tests.support.cast import CUST, ENG, ENG2, SUP, join_customer, team
from tests.support.chat import card_of, card_text
from tests.support.tickets import events, load, ticket
from tests.support.world import World


# -- /tickets and the card -----------------------------------------------------------------------
async def test_ticket_list_shows_only_my_open_tickets_with_valid_buttons(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w, second_engineer=True)
        w.say(ENG, "/tickets")
        [reply] = await w.expect(ENG)
        assert reply.text == "You have no open tickets."

        accepted = await ticket(w, TicketStatus.ACCEPTED)
        on_site = await ticket(w, TicketStatus.ON_SITE)
        resolved = await ticket(w, TicketStatus.RESOLVED)
        await ticket(w, TicketStatus.ACCEPTED, engineer="Zhao Min")  # someone else's
        w.say(ENG, "/tickets")
        [listing] = await w.expect(ENG)  # one list; its grouping is tested in test_flow_board.py
        assert listing.text.split("\n") == [
            "Your tickets", "", "Mine (2)", f"{accepted.number} · accepted · X100 · 1 River Road",
            f"{on_site.number} · on site · X100 · 1 River Road", "",
            "To follow (1)", f"{resolved.number} · resolved · X100 · 1 River Road",
        ]
        assert listing.buttons == [accepted.number, on_site.number, resolved.number]
        cards = [await card_of(w, ENG, t) for t in (accepted, on_site, resolved)]
        assert [c.text for c in cards] == [
            card_text(accepted, "accepted"), card_text(on_site, "on site"), card_text(resolved, "resolved"),
        ]
        assert cards[0].buttons == ["On my way"]
        assert cards[1].buttons == ["Check in", "Parts", "Pause", "Resolve"]
        assert cards[2].buttons == ["Sign-off"]
        assert await w.quiet(ENG) == []

        # card:{id} re-sends the card; someone else's ticket is not leaked.
        w.press_data(ENG, cards[0].id, f"card:{accepted.id}")
        [again] = await w.expect(ENG)
        assert again.text == cards[0].text
        w.say(ENG2, "/tickets")
        [theirs] = await w.expect(ENG2)
        w.press_data(ENG2, theirs.id, f"card:{accepted.id}")
        [refused] = await w.expect(ENG2)
        assert refused.text == "That ticket is not (or no longer) available to you."


async def test_only_engineers_use_the_engineer_commands_and_buttons(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w)
        w.say(SUP, "/tickets")
        [reply] = await w.expect(SUP)
        assert reply.text == "You can't do that with your role."
        w.press_data(SUP, reply.id, f"go:{t.id}")
        [reply] = await w.expect(SUP)
        assert reply.text == "You can't do that with your role."
        assert (await load(w, t)).status is TicketStatus.ACCEPTED


# -- On my way -----------------------------------------------------------------------------------
async def test_on_my_way_asks_an_eta_and_tells_the_customer(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w)
        await join_customer(w, CUST, t, "Zhang San")
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "On my way")
        [ask] = await w.expect(ENG)
        assert ask.text == (f"Ticket {t.number}: when do you expect to arrive? "
                            "Send minutes (30m, 45 min, 1h30m) or a clock time (14:30).")

        for bad in ("soon", "0", "25h", "24:10"):
            w.say(ENG, bad)
        replies = await w.expect(ENG, 4)
        assert [r.text for r in replies] == [
            "I can't read \"soon\" as an arrival time. Send minutes (30m, 45 min, 1h30m) or a clock time (14:30).",
            "I can't read \"0\" as an arrival time. Send minutes (30m, 45 min, 1h30m) or a clock time (14:30).",
            "\"25h\" is more than 24 hours away. Send a time within the next day.",
            "I can't read \"24:10\" as an arrival time. Send minutes (30m, 45 min, 1h30m) or a clock time (14:30).",
        ]
        w.send_photo(ENG)
        [reply] = await w.expect(ENG)
        assert reply.text.startswith("Please send the expected arrival as text")
        row = await load(w, t)
        assert row.status is TicketStatus.ACCEPTED and row.eta_at is None
        assert await w.quiet(CUST) == []

        w.say(ENG, "1h30m")
        [done] = await w.expect(ENG)
        row = await load(w, t)
        assert row.status is TicketStatus.EN_ROUTE
        assert row.eta_at - row.departed_at == timedelta(minutes=90)
        # "10:42", or "00:12 tomorrow" when the test runs late in the evening (test_times: the words)
        shown = clock("en", row.eta_at, w.app.tz, row.departed_at)
        assert done.text == (f"On your way, expected around {shown}.\n"
                             + card_text(t, "on the way", f"Expected arrival: {shown}"))
        assert done.buttons == ["Arrived"]
        [pushed] = await w.expect(CUST)
        assert pushed.text == f"Engineer Li Lei is on the way for ticket {t.number}, expected around {shown}."
        [depart] = [e for e in await events(w, t) if e.action is Action.DEPART and e.actor_id]
        assert depart.details["eta"] == row.eta_at.isoformat()

        # The dialog is over: another time is just unexpected text.
        w.say(ENG, "45m")
        [reply] = await w.expect(ENG)
        assert reply.text == "I'm not sure what you mean. Send /help to see what you can do."


async def test_on_my_way_without_a_customer_is_noted_on_the_timeline_in_chinese(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await team(w)
        t = await ticket(w)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "出发")
        [ask] = await w.expect(ENG)
        assert ask.text.startswith(f"工单 {t.number}：预计何时到达？")
        w.say(ENG, "马上")
        [reply] = await w.expect(ENG)
        assert reply.text.startswith("无法识别“马上”为到达时间。")
        w.say(ENG, "14:30")
        [done] = await w.expect(ENG)
        row = await load(w, t)
        local = row.eta_at.astimezone(w.app.tz)
        assert (local.hour, local.minute) == (14, 30)
        now_local = row.departed_at.astimezone(w.app.tz)
        expected_day = now_local.date() + timedelta(days=1 if now_local.time() >= time(14, 30) else 0)
        assert local.date() == expected_day
        assert done.text.startswith("已出发，预计 14:30 左右到达。\n客户尚未通过工单链接加入，未能通知客户")
        assert f"状态：{translate('zh-CN', 'status.en_route')}" in done.text
        assert done.buttons == ["已到达"]
        kinds = [(e.kind, e.details.get("what")) for e in await events(w, t)]
        assert ("customer_not_reached", "on_the_way") in kinds


def test_eta_parsing() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)  # 14:00 in Shanghai
    assert parse_eta("30m", now, tz) - now == timedelta(minutes=30)
    assert parse_eta("45 min", now, tz) - now == timedelta(minutes=45)
    assert parse_eta("1h", now, tz) - now == timedelta(hours=1)
    assert parse_eta("1h30m", now, tz) - now == timedelta(minutes=90)
    assert parse_eta("1 h 30", now, tz) - now == timedelta(minutes=90)
    assert parse_eta("90", now, tz) - now == timedelta(minutes=90)
    assert parse_eta("1小时30分", now, tz) - now == timedelta(minutes=90)
    assert parse_eta("40分钟", now, tz) - now == timedelta(minutes=40)
    assert parse_eta("14:30", now, tz) == datetime(2026, 3, 2, 6, 30, tzinfo=timezone.utc)
    assert parse_eta("13:30", now, tz) == datetime(2026, 3, 3, 5, 30, tzinfo=timezone.utc)  # tomorrow
    assert parse_eta("9：05", now, tz) == datetime(2026, 3, 3, 1, 5, tzinfo=timezone.utc)
    for bad in ("", "soon", "0", "0m", "1h-5", "25:00", "12:75", "m", "h"):
        with pytest.raises(DomainError) as err:
            parse_eta(bad, now, tz)
        assert err.value.code == "eta_bad"
    with pytest.raises(DomainError) as err:
        parse_eta("1500", now, tz)
    assert err.value.code == "eta_too_far"


async def test_stale_and_foreign_on_my_way_buttons_change_nothing(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w, second_engineer=True)
        t = await ticket(w)
        card = await card_of(w, ENG, t)
        # Another engineer forges the button: not their ticket, existence not leaked.
        w.say(ENG2, "/tickets")
        [theirs] = await w.expect(ENG2)
        w.press_data(ENG2, theirs.id, f"go:{t.id}")
        [reply] = await w.expect(ENG2)
        assert reply.text == "That ticket is not (or no longer) available to you."
        # Garbage data.
        w.press_data(ENG, card.id, "go:abc")
        w.press_data(ENG, card.id, "go")
        w.press_data(ENG, card.id, "zz:1")
        replies = await w.expect(ENG, 3)
        assert [r.text for r in replies] == ["That ticket is not (or no longer) available to you.", "That button is out of date.",
                                               "That button is out of date."]
        # The state moves on elsewhere: the old card's button is stale.
        async with w.app.db.write() as s:
            row = await s.get(Ticket, t.id)
            apply_action(s, row, Action.CANCEL, now=w.clock.now(), reason="customer fixed it")
        qid = w.press(ENG, card, "On my way")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot set off for this ticket: it is cancelled (on-site)."
        await w.settle()
        if w.driver.platform == "telegram":  # the toast over the pressed button (WeCom has none)
            assert w.tg.emu.callback_answer(qid)["text"] == reply.text
        assert (await load(w, t)).status is TicketStatus.CANCELLED
        # The fallback text command works like the button (and is checked the same way).
        w.say(ENG, f"/_go_{t.id}")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot set off for this ticket: it is cancelled (on-site)."


async def test_cancel_in_the_eta_dialog_changes_nothing(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "On my way")
        await w.expect(ENG)
        w.say(ENG, "/cancel")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cancelled. Nothing was changed."
        w.say(ENG, "30m")
        [reply] = await w.expect(ENG)
        assert reply.text == "I'm not sure what you mean. Send /help to see what you can do."
        row = await load(w, t)
        assert row.status is TicketStatus.ACCEPTED and row.eta_at is None


# -- Pause / Resume ------------------------------------------------------------------------------
async def test_pause_with_a_reason_and_resume_tell_the_supervisor(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w, sup_lang="zh-CN")
        t = await ticket(w, TicketStatus.ON_SITE)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Pause")
        [ask] = await w.expect(ENG)
        assert ask.text == f"Why are you pausing {t.number}?"
        assert ask.buttons == ["Waiting for parts", "Waiting for customer", "Other"]
        w.press_data(ENG, ask.id, f"paur:{t.id}:coffee")  # forged reason
        [reply] = await w.expect(ENG)
        assert reply.text == "That button is out of date."
        w.press(ENG, ask, "Waiting for parts")
        [paused] = await w.expect(ENG)
        assert paused.text == card_text(t, "paused", "Paused: waiting for parts")
        assert paused.buttons == ["Check in", "Parts", "Resume"]
        row = await load(w, t)
        assert row.status is TicketStatus.PAUSED and row.pause_reason == "parts"
        [told] = await w.expect(SUP)
        assert told.text == f"Li Lei暂停了工单 {t.number}：等待备件。"

        # Pressing a reason again (stale): the transition error, nothing changes.
        w.press(ENG, ask, "Other")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot pause this ticket: it is paused (on-site)."
        assert (await load(w, t)).pause_reason == "parts"

        w.press(ENG, paused, "Resume")
        [resumed] = await w.expect(ENG)
        assert resumed.text == card_text(t, "on site")
        [told] = await w.expect(SUP)
        assert told.text == f"Li Lei已恢复处理工单 {t.number}。"
        row = await load(w, t)
        assert row.status is TicketStatus.ON_SITE and row.paused_at is None
        w.press(ENG, paused, "Resume")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot resume this ticket: it is on site (on-site)."
        actions = [e.action for e in await events(w, t) if e.kind == "transition"]
        assert actions[-2:] == [Action.PAUSE, Action.RESUME]


async def test_desk_ticket_pauses_from_accepted(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, service=ServiceType.PHONE)
        card = await card_of(w, ENG, t)
        assert card.buttons == ["Check in", "Parts", "Pause", "Resolve"]
        w.press(ENG, card, "Pause")
        [ask] = await w.expect(ENG)
        w.press(ENG, ask, "Waiting for customer")
        [paused] = await w.expect(ENG)
        assert "Paused: waiting for the customer" in paused.text
        assert (await load(w, t)).status is TicketStatus.PAUSED
