"""Hostile input at the edges: a reply that would exceed the channel's limit (Telegram's 4096
characters, WeCom's 2048) is cut rather than refused (a refusal would mark the person's chat
unreachable), and ids that only look like numbers ("²", 25 digits) are a stale button, not a crash."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from handlers.messages import Msg, Raw
from models.enums import Role
from models.people import ChannelIdentity
from tests.support.tickets import as_person
from tests.support.world import World

SUP = 10


async def test_an_over_long_text_is_cut_and_the_chat_stays_reachable(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        # An echo of what was typed is a short preview (tests/test_input_echo.py) ...
        w.say(SUP, "/report " + "9" * 4090)
        [reply] = await w.expect(SUP)
        assert len(reply.text) < 200

        # ... and any text that still comes out over Telegram's limit is cut by the channel.
        async def long_reply(ctx, _session) -> None:  # noqa: ANN001
            ctx.reply(Msg(body=Raw("9" * 5000)))
        await as_person(w, SUP, long_reply)
        if w.driver.platform == "telegram":
            [reply] = await w.expect(SUP)
            assert len(reply.text) == 4096 and reply.text.endswith("…")
        else:  # WeCom: cut at 2048 characters, sent in pieces WeCom takes whole (2048 bytes each)
            pieces = await w.quiet(SUP)
            assert "".join(m.text for m in pieces) == "9" * 2047 + "…"
            assert all(len(m.text.encode("utf-8")) <= 2048 for m in pieces)
        async with w.app.db.read() as s:
            identity = await s.scalar(select(ChannelIdentity).where(ChannelIdentity.chat_id == w.address(SUP)))
        assert identity.unreachable_reason is None


async def test_ids_that_only_look_like_numbers_are_stale_buttons(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        w.say(SUP, "/help")
        [help_message] = await w.expect(SUP)
        for data in ("pra:²", "cpa:" + "9" * 25, "card:３", "ack:¹²"):
            w.press_data(SUP, help_message.id, data)
            [reply] = await w.expect(SUP)
            assert reply.text != "Sorry, something went wrong on our side. Please try again in a minute.", data
