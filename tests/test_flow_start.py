"""Joining, help, language and cancel — end to end through the emulator with the real aiogram
client; both languages; strangers and bad tokens change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from models.enums import Role
from models.people import ChannelIdentity, Person
from models.runtime import InboundEvent
from tests.world import World


async def test_stranger_is_told_to_ask_the_supervisor(tmp_path: Path) -> None:
    async with World(tmp_path) as w:
        w.say(500, "/start")
        [reply] = await w.expect(500)
        assert reply["text"] == "I don't know you yet. Ask your supervisor for an invite link."
        w.say(500, "/tickets please")
        w.say(500, "hello")
        replies = await w.expect(500, 2)
        assert all("invite link" in r["text"] for r in replies)
        w.say(500, "/start not-a-real-token", language_code="zh-hans")
        [reply] = await w.expect(500)
        assert reply["text"] == "此链接无效，请向主管索取新的链接。"
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Person)) == 0


async def test_staff_join_by_invite_once(tmp_path: Path) -> None:
    async with World(tmp_path) as w:
        token = await w.invite(Role.ENGINEER, "Li Lei")
        w.say(200, f"/start {token}", first_name="Lei", language_code="en")
        welcome, help_text = await w.expect(200, 2)
        assert welcome["text"] == "Welcome, Li Lei! You joined as engineer (North)."
        assert help_text["text"].startswith("You are an engineer. Commands:")
        assert "/help — what you can do" in help_text["text"]
        await w.settle()
        [menu] = w.emu.api_calls("setMyCommands")
        assert json.loads(menu["params"]["scope"]) == {"type": "chat", "chat_id": 200}
        assert {c["command"] for c in json.loads(menu["params"]["commands"])} >= {"help", "lang", "cancel"}

        # The same link again, by someone else: refused, nothing changes.
        w.say(201, f"/start {token}")
        [reply] = await w.expect(201)
        assert reply["text"] == "This link has already been used. Ask your supervisor for a new one."
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(ChannelIdentity)) == 1


async def test_language_switch_and_help_per_role(tmp_path: Path) -> None:
    async with World(tmp_path) as w:
        await w.join(300, Role.SUPERVISOR, "Wang Wei")
        w.say(300, "/lang zh")
        [reply] = await w.expect(300)
        assert reply["text"] == "语言已设为中文。"
        w.say(300, "/help")
        [reply] = await w.expect(300)
        assert reply["text"].startswith("您是主管。可用命令：")
        w.say(300, "/lang fr")
        [reply] = await w.expect(300)
        assert reply["text"] == "请选择语言：/lang zh 或 /lang en。"
        w.say(300, "/lang en")
        [reply] = await w.expect(300)
        assert reply["text"] == "Language set to English."


async def test_cancel_unknown_command_and_unexpected_input(tmp_path: Path) -> None:
    async with World(tmp_path) as w:
        await w.join(400, Role.ENGINEER, "Zhao")
        w.say(400, "/cancel")
        [reply] = await w.expect(400)
        assert reply["text"] == "Cancelled. Nothing was changed."
        w.say(400, "/frobnicate")
        [reply] = await w.expect(400)
        assert reply["text"] == "Unknown command /frobnicate. Send /help to see what you can do."
        w.photo(400)
        [reply] = await w.expect(400)
        assert reply["text"] == "I wasn't expecting a photo. To report progress, send /checkin first."
        w.location(400, 31.2, 121.5)
        [reply] = await w.expect(400)
        assert reply["text"] == "I wasn't expecting a location right now."


async def test_each_update_is_recorded_once(tmp_path: Path) -> None:
    async with World(tmp_path) as w:
        await w.join(600, Role.ENGINEER, "Qian")
        w.say(600, "/help")
        await w.expect(600)
        async with w.app.db.read() as s:
            ids = (await s.scalars(select(InboundEvent.external_id))).all()
        assert len(ids) == len(set(ids)) == 2
