"""Times in chat say their day: an ETA past midnight is "tomorrow" for the engineer, on their card
and for the customer; a push held for quiet hours is worded for the morning it arrives in (the
check-in acknowledged at 23:00 was "yesterday" by then); the desk's ``/ticket`` names the zone.
End to end through the emulator, on each channel."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bot.app import FixedClock
from models.enums import TicketStatus
from tests.support.cast import CUST, ENG, SUP, join_customer, team
from tests.support.chat import card_of, card_text
from tests.support.tickets import checkin, ticket
from tests.support.world import World

HOURS = "[bot.working_hours]\n" + "".join(f'{d} = "08:30-22:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))
LATE = datetime(2026, 3, 2, 15, 40, tzinfo=timezone.utc)  # Monday 23:40 in Shanghai


async def test_an_eta_past_midnight_says_tomorrow(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, clock=FixedClock(LATE)) as w:  # round the clock: nothing held
        await team(w)
        t = await ticket(w)
        await join_customer(w, CUST, t, "Zhang San")
        w.press(ENG, await card_of(w, ENG, t), "On my way")
        await w.expect(ENG)
        w.say(ENG, "40m")
        [done] = await w.expect(ENG)
        assert done.text == ("On your way, expected around 00:20 tomorrow.\n"
                             + card_text(t, "on the way", "Expected arrival: 00:20 tomorrow"))
        [pushed] = await w.expect(CUST)
        assert pushed.text == f"Engineer Li Lei is on the way for ticket {t.number}, expected around 00:20 tomorrow."


async def test_an_eta_past_midnight_in_chinese(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, clock=FixedClock(LATE)) as w:
        await team(w, eng_lang="zh-CN")
        t = await ticket(w)
        await join_customer(w, CUST, t, "张三", lang="zh-CN")
        w.press(ENG, await card_of(w, ENG, t), "出发")
        await w.expect(ENG)
        w.say(ENG, "1:05")  # a clock time already past today: tomorrow's
        [done] = await w.expect(ENG)
        assert done.text.startswith("已出发，预计 明天 01:05 左右到达。\n")
        assert "预计到达：明天 01:05" in done.text
        [pushed] = await w.expect(CUST)
        assert pushed.text == f"工程师Li Lei已出发处理工单 {t.number}，预计 明天 01:05 左右到达。"


async def test_a_push_held_overnight_is_worded_for_the_morning(tmp_path: Path, channel: str) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 13, 50, tzinfo=timezone.utc))  # Monday 21:50: working hours
    async with World(tmp_path, channel, extra_config=HOURS, clock=clock) as w:
        await team(w, eng_lang="zh-CN")
        t = await ticket(w, TicketStatus.ON_SITE)
        await checkin(w, ENG, t)
        [card] = await w.expect(SUP)
        assert card.text.startswith(f"Arrival check-in from Li Lei at 21:50\n{t.number}")
        clock.at = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)  # 23:00: the supervisor catches up
        w.press(SUP, card, "Acknowledge")
        await w.settle()
        assert await w.quiet(ENG) == []  # the engineer is told in the morning
        clock.at = datetime(2026, 3, 3, 0, 31, tzinfo=timezone.utc)  # Tuesday 08:31
        await w.settle()
        [told] = await w.quiet(ENG)
        assert told.text == f"Wang Wei已于 昨天 23:00 确认了您在 {t.number} 的到场签到。"  # not "23:00": that was last night


async def test_the_ticket_page_names_the_zone(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, clock=FixedClock(LATE)) as w:
        await team(w, sup_lang="zh-CN")
        t = await ticket(w)
        w.say(SUP, f"/ticket {t.number}")
        [page] = await w.expect(SUP)
        assert "登记时间：2026-03-02 23:40\n时区：北京时间（UTC+8）\n" in page.text
