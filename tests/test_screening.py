"""What the core refuses before any flow runs, end to end through the emulator: staff commands in
group chats (customer data stays out of groups), senders that are not a person (Telegram's
anonymous group admins share one bot account), coordinates that cannot be on Earth, and a photo
the bot cannot fetch.  Each refusal is one short line in the person's language and changes
nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.enums import Role, TicketStatus
from models.people import ChannelIdentity, Invite
from models.runtime import ConversationState
from models.work import Checkin
from tests.support.cast import ENG, SUP, team
from tests.support.chat import card_of
from tests.support.tickets import ticket
from tests.support.world import World

#: Group chats, anonymous admins, raw updates and a failing getFile are Telegram's own.
pytestmark = pytest.mark.telegram

GROUP = -500
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}


def group_message(text: str, *, sender: dict, update_id: int, sender_chat: bool = True) -> dict:
    message = {"message_id": update_id, "date": int(time.time()), "text": text,
               "chat": {"id": GROUP, "type": "supergroup", "title": "North team"}, "from": sender}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if sender_chat:
        message["sender_chat"] = {"id": GROUP, "type": "supergroup", "title": "North team"}
    return {"update_id": update_id, "message": message}


async def dialog(w: World, uid: int, chat: int | None = None) -> ConversationState | None:
    async with w.app.db.read() as s:
        return await s.get(ConversationState, f"tg:{chat or uid}:{uid}")


async def test_staff_commands_in_a_group_are_refused_and_chatter_ignored(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, telegram_extra="group_per_minute = 600\n") as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        w.tg.emu.add_chat(GROUP, title="North team", type="supergroup")
        for command in (f"/ticket {t.number}", "/board", "/tickets", "/dispatch", "/pending"):
            w.say(SUP if command != "/tickets" else ENG, command, chat_id=GROUP)
        w.say(SUP, "good morning everyone", chat_id=GROUP)  # not for the bot: no answer at all
        w.say(SUP, "/help", chat_id=GROUP)  # shows no customer data: answered
        await w.settle()
        texts = [m.text for m in w.messages(GROUP)]
        refusal = "That works only in a private chat with me: it can show customer details."
        assert texts[:5] == [refusal] * 5
        assert texts[5].startswith("You are a supervisor.") and len(texts) == 6
        assert not any(t.number in text or "River Road" in text for text in texts)
        async with w.app.db.read() as s:  # the group never became anyone's chat for pushes
            chats = set((await s.scalars(select(ChannelIdentity.chat_id))).all())
        assert str(GROUP) not in chats
        # The same command in private works.
        w.say(SUP, f"/ticket {t.number}")
        [view] = await w.expect(SUP)
        assert view.text.startswith(f"ticket: {t.number}")


async def test_anonymous_group_admins_and_other_bots_cannot_join_or_act(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        token = await w.invite(Role.SUPERVISOR, "Wang Wei")
        w.tg.emu.add_chat(GROUP, title="North team", type="supergroup")
        w.tg.emu.inject_update(group_message(f"/start {token}", sender=ANONYMOUS_ADMIN, update_id=90001))
        other_bot = {"id": 4242, "is_bot": True, "first_name": "Helper bot"}
        w.tg.emu.inject_update(group_message(f"/start {token}", sender=other_bot, update_id=90002, sender_chat=False))
        w.tg.injected += 2
        await w.settle()
        texts = [m.text for m in w.messages(GROUP)]
        assert texts == ["请用您本人的账号在与我的私聊中发送，不要以群组或机器人的身份发送。"] * 2
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(ChannelIdentity)) == 0
            invite = await s.scalar(select(Invite))
            assert invite.used_at is None  # still good for the real supervisor
        await w.join(301, Role.SUPERVISOR, "Wang Wei")  # a person still joins normally


async def arriving(w: World):  # noqa: ANN201
    """An engineer on the way who pressed **Arrived**: the dialog asks for the photo."""
    await team(w)
    t = await ticket(w, TicketStatus.EN_ROUTE)
    card = await card_of(w, ENG, t)
    w.press(ENG, card, "Arrived")
    await w.expect(ENG)
    return t


async def test_impossible_coordinates_are_refused_and_the_dialog_waits(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        t = await arriving(w)
        w.send_photo(ENG, seed=1)
        await w.expect(ENG)
        before = await dialog(w, ENG)
        assert (before.flow, before.step) == ("arrive", "location")
        for n, (lat, lon) in enumerate([(200.0, 10.0), (10.0, -1000.0), (1e308, 1e308)]):
            update = {"update_id": 95000 + n, "message": {
                "message_id": 95000 + n, "date": int(time.time()),
                "chat": {"id": ENG, "type": "private", "first_name": "Li"},
                "from": {"id": ENG, "is_bot": False, "first_name": "Li", "language_code": "en"},
                "location": {"latitude": lat, "longitude": lon}}}
            w.tg.emu.inject_update(update)
            w.tg.injected += 1
        replies = await w.expect(ENG, 3)
        assert [r.text for r in replies] == ["That location can't be right. Please send your current location again."] * 3
        after = await dialog(w, ENG)
        assert (after.flow, after.step, after.data) == (before.flow, before.step, before.data)
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Checkin)) == 0
        w.send_location(ENG, 31.2, 121.5)  # a real place finishes the arrival
        done, _card = await w.expect(ENG, 2)
        assert done.text == f"Arrival at {t.number} recorded and sent to your supervisor."


async def test_a_photo_the_bot_cannot_fetch_is_asked_for_again(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await arriving(w)
        before = await dialog(w, ENG)
        w.tg.emu.fail_next(2, status=500, method="getFile")  # the download is tried twice
        w.send_photo(ENG, seed=2)
        [reply] = await w.expect(ENG)
        assert reply.text == "I couldn't get that photo from the chat app. Please send it again."
        after = await dialog(w, ENG)
        assert (after.flow, after.step, after.data) == (before.flow, before.step, before.data)
        w.send_photo(ENG, seed=2)  # sent again: taken
        [ask] = await w.expect(ENG)
        assert ask.text == "Got the photo. Now send your location."
