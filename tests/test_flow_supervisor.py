"""Check-in acknowledgement end to end: the **Acknowledge** button, a reply relayed to the engineer
(which also acknowledges), who may acknowledge, and acknowledging twice; both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from models.enums import Action, CheckinKind, Role
from models.people import Team
from models.work import Acknowledgement
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import checkin, events, move, new_ticket
from tests.support.world import T0, World, world

SUP, DSP, ENG, MGR, OTHER_SUP, CUST = 200, 201, 202, 203, 204, 205


async def ack_row(w: World, checkin_id: int) -> Acknowledgement:
    async with w.app.db.read() as s:
        return await s.scalar(select(Acknowledgement).where(Acknowledgement.checkin_id == checkin_id))


async def on_site(w: World, **kw) -> object:  # noqa: ANN003
    ticket = await new_ticket(w, **kw)
    await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
    await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
    return ticket


async def test_acknowledge_button_once_and_only_by_the_right_person(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(MGR, Role.MANAGER, "Zhou Yu", team="South")
        await w.join(OTHER_SUP, Role.SUPERVISOR, "Sun Li", team="South")
        ticket = await on_site(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        cid = await checkin(w, ENG, ticket)
        [msg] = await w.expect(SUP)
        assert msg.text == (f"Arrival check-in from Li Lei at 10:30\n{ticket.number} · X200 · 1 Harbour Rd\n"
                            "On site, starting diagnosis\nLocation: 31.23000, 121.47000\n"
                            "The site had no location on record: it takes this one from now on.")
        assert msg.buttons == w.shown(["Acknowledge"])

        # Wrong people: a dispatcher (role), another team's supervisor, a customer, a made-up check-in.
        w.press_data(DSP, last_id(w, DSP), f"ack:{cid}")
        w.press_data(OTHER_SUP, last_id(w, OTHER_SUP), f"ack:{cid}")
        w.press_data(CUST, last_id(w, CUST), f"ack:{cid}")
        w.press_data(SUP, msg.id, "ack:999")
        w.press_data(SUP, msg.id, "ack:x")
        assert [m.text for m in await w.expect(DSP)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(OTHER_SUP)] == [
            "This check-in is waiting for another supervisor's acknowledgement."]
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(SUP, 2)] == ["That check-in no longer exists.",
                                                            "That button is out of date."]
        assert (await ack_row(w, cid)).acked_at is None
        assert await w.quiet(ENG) == []

        callback = w.press(SUP, msg, "Acknowledge")
        [told] = await w.expect(ENG)
        assert told.text == f"Wang Wei acknowledged your arrival check-in on {ticket.number} at 10:30."
        if w.driver.platform == "telegram":  # the toast over the pressed button (WeCom has none)
            assert await w.tg.emu.wait_for_callback_answer(callback) is not None
        await w.settle()  # the supervisor's edit need not come before the engineer's message
        now = w.current(SUP, msg)
        assert now.text.endswith("Location: 31.23000, 121.47000\n"
                                 "The site had no location on record: it takes this one from now on.\n"
                                 "Acknowledged by Wang Wei at 10:30")
        assert now.buttons == []
        assert await w.quiet(SUP) == []  # the edit is the answer; no extra message
        ack = await ack_row(w, cid)
        assert (ack.acked_at, ack.acked_by_id) == (T0, await pid(w, SUP))

        # Pressing again (a lagging phone): says who and when, changes nothing.
        w.press_data(SUP, msg.id, f"ack:{cid}")
        [again] = await w.expect(SUP)
        assert again.text == "Already acknowledged by Wang Wei at 10:30."
        assert await w.quiet(ENG) == []
        acked = [e for e in await events(w, ticket) if e.kind == "checkin_acked"]
        assert [(e.actor_id, e.details["checkin_id"]) for e in acked] == [(await pid(w, SUP), cid)]

        # The manager of the ticket's team may acknowledge (escalation); another team's may not.
        cid2 = await checkin(w, ENG, ticket, CheckinKind.PROGRESS, text="Replaced the board")
        await w.expect(SUP)
        w.press_data(MGR, last_id(w, MGR), f"ack:{cid2}")
        [refused] = await w.expect(MGR)
        assert refused.text == "This check-in is waiting for another supervisor's acknowledgement."
        async with w.app.db.write() as s:
            team = await s.scalar(select(Team).where(Team.name == "North"))
            team.manager_id = await pid(w, MGR)
        w.say(MGR, f"/_ack_{cid2}")  # the plain-text fallback of the button
        [done] = await w.expect(MGR)
        assert done.text == f"Check-in on {ticket.number} acknowledged at 10:30."
        [told] = await w.expect(ENG)
        assert told.text == f"Zhou Yu acknowledged your progress check-in on {ticket.number} at 10:30."
        assert (await ack_row(w, cid2)).acked_by_id == await pid(w, MGR)

        # The timeline shows both acknowledgements.
        w.say(SUP, f"/ticket {ticket.number}")
        [view] = await w.expect(SUP)
        assert "2026-03-02 10:30  Wang Wei acknowledged the arrival check-in of 10:30" in view.text  # not its id
        assert "2026-03-02 10:30  Zhou Yu acknowledged the progress check-in of 10:30" in view.text


@pytest.mark.telegram  # a reply to a bot message: WeCom's callbacks carry no quoted message
async def test_reply_is_relayed_and_acknowledges_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "李雷", lang="en")
        await w.join(OTHER_SUP, Role.SUPERVISOR, "孙丽", team="South")
        ticket = await on_site(w)
        cid = await checkin(w, ENG, ticket, CheckinKind.PROGRESS, text="Board replaced, testing")
        [msg] = await w.expect(SUP)
        assert msg.text == (f"李雷于 10:30 汇报进度\n{ticket.number} · X200 · 1 Harbour Rd\n"
                            "Board replaced, testing\n位置：31.23000，121.47000")
        assert msg.buttons == ["确认收到"]

        w.say(SUP, "很好，测试完发照片", reply_to=msg.id)
        [relayed] = await w.expect(SUP)
        assert relayed.text == "已转给李雷。"
        [told] = await w.expect(ENG)  # the engineer reads English
        assert told.text == (f"王伟 replied about {ticket.number}: 很好，测试完发照片\n"
                             "Acknowledged by 王伟 at 10:30")
        assert w.current(SUP, msg).buttons == []
        assert w.current(SUP, msg).text.endswith("位置：31.23000，121.47000\n王伟已于 10:30 确认")
        ack = await ack_row(w, cid)
        assert (ack.acked_at, ack.acked_by_id) == (T0, await pid(w, SUP))

        # A second reply is relayed too, but it is not a second acknowledgement.
        w.say(SUP, "记得填服务单", reply_to=msg.id)
        await w.expect(SUP)
        [told] = await w.expect(ENG)
        assert told.text == f"王伟 replied about {ticket.number}: 记得填服务单"
        kinds = [(e.kind, e.details.get("how"), e.details.get("text")) for e in await events(w, ticket)
                 if e.kind in ("checkin_acked", "checkin_reply")]
        assert kinds == [("checkin_acked", "reply", None), ("checkin_reply", None, "很好，测试完发照片"),
                         ("checkin_reply", None, "记得填服务单")]
        w.press_data(SUP, msg.id, f"ack:{cid}")
        [again] = await w.expect(SUP)
        assert again.text == "已由王伟于 10:30 确认。"

        # A photo as a reply is not relayed; a reply to some other bot message is just text.
        w.send_photo(SUP, reply_to=msg.id)
        [reply] = await w.expect(SUP)
        assert reply.text == "请用文字回复，以便转给工程师。"
        w.say(SUP, "你好", reply_to=again.id)
        [reply] = await w.expect(SUP)
        assert reply.text == "我没看懂。发送 /help 查看可用命令。"
        assert await w.quiet(ENG) == []

        # The timeline in Chinese.
        w.say(SUP, f"/ticket {ticket.number}")
        [view] = await w.expect(SUP)
        assert "  王伟确认了进度汇报（10:30）" in view.text and f"#{cid}" not in view.text
        assert "  王伟回复了进度汇报（10:30）：记得填服务单" in view.text


# Also on PostgreSQL (``db_url``), one of the handful of end-to-end scenarios CI runs on both databases.
async def test_real_progress_checkin_with_photo_then_acknowledge(tmp_path: Path, channel: str, db_url: str) -> None:
    """Through the engineer's own /checkin dialog (photos arrive before the text with the button)."""
    async with world(tmp_path, channel, db_url=db_url) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await on_site(w)
        w.say(ENG, "/checkin")
        await w.expect(ENG)
        w.say(ENG, "Fuse replaced")
        w.send_photo(ENG, seed=3)
        got = await w.expect(ENG, 2)
        w.press(ENG, got[-1], "Done")
        await w.expect(ENG)
        photo, msg = await w.expect(SUP, 2)
        assert photo.photo and msg.buttons == w.shown(["Acknowledge"])
        assert msg.text.endswith("Fuse replaced\nPhotos: 1")
        w.press(SUP, msg, "Acknowledge")
        [told] = await w.expect(ENG)
        assert told.text == f"Wang Wei acknowledged your progress check-in on {ticket.number} at 10:30."
        await w.settle()  # the supervisor's edit need not come before the engineer's message
        assert w.current(SUP, msg).text.endswith("Fuse replaced\nPhotos: 1\nAcknowledged by Wang Wei at 10:30")
        assert await w.quiet(SUP) == []  # the photo is not sent again by the edit
