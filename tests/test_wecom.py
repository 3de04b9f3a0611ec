"""WeCom end to end: the real bot with its WeCom adapters against the local WeCom emulator —
staff in the company app (encrypted callbacks, template cards, edits, photos, locations, the app
menu), customers in WeChat customer service (a signed link, msgmenu taps, the 48 h window)."""

from __future__ import annotations

from pathlib import Path

from bot.stage import png
from bot.stage_wecom import WecomStage, labels, text_of
from models.enums import Role


async def test_staff_join_by_sending_the_invite_and_get_help(tmp_path: Path) -> None:
    async with WecomStage(tmp_path) as s:
        await s.join("wangwei", Role.SUPERVISOR, "Wang Wei")
        await s.say("wangwei", "/help")
        [reply] = await s.expect("wangwei")
        assert text_of(reply).startswith("You are a supervisor.")
        await s.say("wangwei", "help")  # no slash: WeCom has no command menu per person
        [again] = await s.expect("wangwei")
        assert text_of(again) == text_of(reply)
        assert s.emu.violations == [] or all(v["kind"] != "passive_reply" for v in s.emu.violations)
