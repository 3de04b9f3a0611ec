"""What the WeCom adapters take in and lay out, found by the end-to-end scenarios on WeCom: a
customer's photo and location in 微信客服 (a complaint's photo), a member's text with a control
character in it (a paste), a card's blank line after its heading; and the emulator's clock when it
follows the bot's (a test's FixedClock), so both agree on every timestamp."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.app import FixedClock
from bot.channels.wecom import xmlmsg
from bot.channels.wecom.cards import card_body
from bot.stage import png
from bot.stage_wecom import WecomStage
from bot.wecom_emulator import WeComEmulator
from handlers.channel import Button, Location, Outbound, Photo
from models.enums import Channel, Role

T0 = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)


async def test_a_customers_photo_and_location_become_updates(tmp_path: Path) -> None:
    async with WecomStage(tmp_path) as s:
        token = await s.invite(Role.CUSTOMER, "Mr Lin", None)
        await s.emu.customer_open_link(s.app.join_link(token, customer=True), external_userid="wmLin")
        await s.settle()
        sent = await s.emu.customer_image("wmLin", png(4), filename="door.png")
        await s.emu.customer_location("wmLin", 31.2, 121.4, "site", "1 Harbour Rd")
        await s.settle()
        kf = s.rt.adapters[Channel.WECOM_KF]
        image, place = [m for m in s.emu.world.kf_stream[s.emu.open_kfid] if m.get("origin") == 3]
        photo = kf.parse(image, T0)
        assert photo.photos == [Photo(file_ref=sent["media_id"])] and photo.user_id == "wmLin"
        assert await kf.download(sent["media_id"]) == png(4)  # media/get with the customer-service token
        assert kf.parse(place, T0).location == Location(31.2, 121.4)
        with pytest.raises(ValueError):
            kf.parse({**image, "image": {}}, T0)
        with pytest.raises(ValueError):
            kf.parse({**place, "location": {"latitude": "north"}}, T0)
        # They are the customer's own messages (opening the link was not): the window opened.
        assert s.emu.kf_session("wmLin")["last_customer_msg_at"] is not None


def test_characters_xml_cannot_carry_are_dropped_not_refused() -> None:
    pasted = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[bell\x07 \x0bvt\u202eok]]></Content></xml>"
    assert xmlmsg.read(pasted)["Content"] == "bell vt\u202eok"
    with pytest.raises(xmlmsg.BadXml):
        xmlmsg.read("<xml><Content>unclosed</xml>")
    with pytest.raises(xmlmsg.BadXml):
        xmlmsg.read('<!DOCTYPE x [<!ENTITY e "boom">]><xml><Content>&e;</Content></xml>')


def test_a_card_keeps_the_blank_line_after_its_heading_and_indents() -> None:
    buttons = [[Button("Open", "card:1")]]
    card = card_body(Outbound(text="Your tickets\n\nMine (1)\n   ⏱ arrive by 10:30\n\n", buttons=buttons), "fb-1")
    assert card["main_title"]["title"] == "Your tickets"
    assert card["sub_title_text"] == "\nMine (1)\n   ⏱ arrive by 10:30"  # trailing space only goes
    indented = card_body(Outbound(text="FS-1 · X200\n   ⏱ resolve by 11:00", buttons=buttons), "fb-2")
    assert indented["sub_title_text"] == "   ⏱ resolve by 11:00"
    assert "sub_title_text" not in card_body(Outbound(text="Pick\n \n", buttons=buttons), "fb-3")


async def test_the_emulator_follows_the_bots_clock() -> None:
    clock = FixedClock(T0)
    async with WeComEmulator() as emu:
        emu.follow_clock(lambda: clock.now().timestamp())
        assert abs(emu.now() - T0.timestamp()) < 1  # the test's time, not today's
        first = emu.now()
        time.sleep(0.05)
        assert emu.now() > first  # a clock held still ticks on in real seconds here
        clock.at = T0 + timedelta(days=2)
        assert abs(emu.now() - (T0 + timedelta(days=2)).timestamp()) < 1
        clock.at = T0 - timedelta(hours=1)  # set back: followed
        assert abs(emu.now() - (T0 - timedelta(hours=1)).timestamp()) < 1
        ticks = emu.world.clock.ticks()
        clock.at = T0 - timedelta(hours=2)
        assert emu.world.clock.ticks() >= ticks  # the per-member windows never count back
        with pytest.raises(RuntimeError):
            emu.advance_clock(60)
        emu.follow_clock(None)
        assert emu.now() > datetime.now(timezone.utc).timestamp() - 5


async def test_the_stage_runs_on_a_test_clock(tmp_path: Path) -> None:
    """The bot on a FixedClock and WeCom following it: callbacks are fresh (not replays)."""
    async with WecomStage(tmp_path, clock=FixedClock(T0), chat_interval=0.0) as s:
        assert s.app.clock.now() == T0
        await s.join("wangwei", Role.SUPERVISOR, "Wang Wei")
        [welcome, _help] = s.messages("wangwei")
        assert "Wang Wei" in welcome["text"]["content"]
        assert s.rt.adapters[Channel.WECOM].refused == 0
        assert s.rt.adapters[Channel.WECOM].pacing.chat_interval == 0.0
        assert s.rt.adapters[Channel.WECOM].pacing.per_recipient == ((25, 60.0), (900, 3600.0))
