"""Arrival (photo → location) and progress check-ins (notes and photos → Done), end to end: the rows
stored (photos content-addressed with sha256, the acknowledgement's due time), what the supervisor
and the customer get, late evidence keeping both times, restarts, /cancel and bad input."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.customers import Site
from models.enums import Action, CheckinKind, TicketStatus
from models.people import Person
from models.tickets import Ticket
from models.transitions import apply_action
from models.work import Acknowledgement, Attachment, Checkin
from tests.support.cast import CUST, ENG, ENG2, SUP, join_customer, person_id, team
from tests.support.chat import card_of, card_text
from tests.support.tickets import T, events, load, ticket
from tests.support.world import World, png


async def checkins(w: World, t: T) -> list[Checkin]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(Checkin).where(Checkin.ticket_id == t.id).order_by(Checkin.id))).all())


async def attachments(w: World, checkin_id: int) -> list[Attachment]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(Attachment).where(Attachment.checkin_id == checkin_id)
                                     .order_by(Attachment.id))).all())


async def ack_of(w: World, checkin_id: int) -> Acknowledgement:
    async with w.app.db.read() as s:
        return await s.scalar(select(Acknowledgement).where(Acknowledgement.checkin_id == checkin_id))


async def count(w: World, model: type) -> int:
    async with w.app.db.read() as s:
        return await s.scalar(select(func.count()).select_from(model))


def local(w: World, moment) -> str:  # noqa: ANN001
    return moment.astimezone(w.app.tz).strftime("%Y-%m-%d %H:%M")


# -- arrival -------------------------------------------------------------------------------------
# Also on PostgreSQL (``db_url``), one of the handful of end-to-end scenarios CI runs on both databases.
@pytest.mark.telegram  # the location is asked for with a Telegram reply keyboard (request_location)
async def test_arrival_photo_then_location_records_the_checkin(tmp_path: Path, channel: str, db_url: str) -> None:
    async with World(tmp_path, channel, db_url=db_url) as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        await join_customer(w, CUST, t, "Zhang San")
        card = await card_of(w, ENG, t)
        assert card.buttons == ["Arrived"]
        w.press(ENG, card, "Arrived")
        [ask] = await w.expect(ENG)
        assert ask.text == f"Ticket {t.number}: send a photo of the site (the equipment or the entrance)."
        w.say(ENG, "I'm here")
        w.send_location(ENG, 31.2, 121.5)
        replies = await w.expect(ENG, 2)
        assert [r.text for r in replies] == ["Please send a photo of the site first."] * 2

        w.send_photo(ENG, seed=7)
        [ask] = await w.expect(ENG)
        assert ask.text == "Got the photo. Now send your location."
        keyboard = w.tg.emu.reply_keyboard(ENG)
        assert keyboard["keyboard"] == [[{"text": "📍 Send my location", "request_location": True}]]
        w.say(ENG, "31.2, 121.5")
        [reply] = await w.expect(ENG)
        assert reply.text == "Please send your location to finish the arrival."
        assert w.tg.emu.reply_keyboard(ENG)["keyboard"] == [[{"text": "📍 Send my location", "request_location": True}]]
        # Nothing is written before the dialog's last step.
        assert (await load(w, t)).status is TicketStatus.EN_ROUTE
        assert await count(w, Checkin) == 0

        w.tg.emu.press_reply_button(ENG, "📍 Send my location", latitude=31.23041, longitude=121.47370)
        w.tg.injected += 1
        done, card2 = await w.expect(ENG, 2)
        assert done.text == f"Arrival at {t.number} recorded and sent to your supervisor."
        assert w.tg.emu.reply_keyboard(ENG) is None
        assert card2.text == card_text(t, "on site")
        assert card2.buttons == ["Check in", "Parts", "Pause", "Resolve"]

        row = await load(w, t)
        assert row.status is TicketStatus.ON_SITE and row.arrived_at is not None
        [checkin] = await checkins(w, t)
        assert checkin.kind is CheckinKind.ARRIVAL and checkin.text is None
        assert (checkin.lat, checkin.lon) == (31.23041, 121.4737)
        assert checkin.client_at is not None and abs(checkin.server_at - checkin.client_at) < timedelta(seconds=5)
        [photo] = await attachments(w, checkin.id)
        assert photo.sha256 == hashlib.sha256(png(7)).hexdigest()
        stored = w.app.config.storage.media_dir / photo.path
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == photo.sha256
        assert photo.path.startswith(f"{photo.sha256[:2]}/{photo.sha256[2:4]}/") and photo.mime == "image/png"
        ack = await ack_of(w, checkin.id)
        assert ack.supervisor_id == await person_id(w, "Wang Wei")
        assert ack.due_at == checkin.server_at + w.app.config.chase.ack_reminder and ack.acked_at is None
        async with w.app.db.read() as s:
            engineer = await s.get(Person, await person_id(w, "Li Lei"))
            assert (engineer.last_lat, engineer.last_lon) == (31.23041, 121.4737)
            site = await s.get(Site, row.site_id)  # registered without coordinates: the arrival gives them
            assert (site.lat, site.lon) == (31.23041, 121.4737)
        kinds = [(e.kind, e.action) for e in await events(w, t)][-2:]
        assert kinds == [("transition", Action.ARRIVE), ("checkin_arrival", None)]

        pic, text = await w.expect(SUP, 2)
        assert pic.photo
        assert text.text == "\n".join([
            f"Arrival check-in from Li Lei at {checkin.server_at.astimezone(w.app.tz):%H:%M}",
            f"{t.number} · X100 · 1 River Road", "Location: 31.23041, 121.47370",
            "The site had no location on record: it takes this one from now on.", "Photos: 1"])
        assert text.buttons == w.shown(["Acknowledge"])
        [pushed] = await w.expect(CUST)
        assert pushed.text == f"Engineer Li Lei has arrived for ticket {t.number}."


async def test_restart_in_the_middle_of_the_arrival_dialog_continues_it(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "已到达")
        await w.expect(ENG)
        w.send_photo(ENG, seed=3)
        w.send_photo(ENG, seed=4)  # an album: the second photo is kept too
        asks = await w.expect(ENG, 2)
        # Telegram shows the location button under it; WeCom, which has none, says how to send one.
        hint = "\n请发送您的位置：点击附件（＋）→ 位置。" if w.driver.platform == "wecom" else ""
        assert [a.text for a in asks] == ["照片已收到。请发送您的位置。" + hint] * 2
        w.say(ENG, "我到了")  # words are not a location: asked again, the same way
        [again] = await w.expect(ENG)
        assert again.text == "请发送您的位置以完成到场签到。" + hint
        await w.stop_bot()
        await w.start_bot()
        w.send_location(ENG, 30.5, 114.3)
        done, card2 = await w.expect(ENG, 2)
        assert done.text == f"{t.number} 的到场签到已记录，并已发送给主管。"
        assert card2.text.startswith("客户尚未通过工单链接加入，未能通知客户（已记入处理记录）。\n"
                                     f"{t.number} · X100 · 1 River Road\n状态：已到场")
        [checkin] = await checkins(w, t)
        assert [a.sha256 for a in await attachments(w, checkin.id)] == [
            hashlib.sha256(png(3)).hexdigest(), hashlib.sha256(png(4)).hexdigest()]
        sup = await w.expect(SUP, 3)
        assert [m.photo for m in sup] == [True, True, False]
        assert sup[2].text.startswith("Li Lei于 ") and "照片：2 张" in sup[2].text
        assert sup[2].buttons == ["确认收到"]
        assert ("customer_not_reached", "arrived") in [(e.kind, e.details.get("what")) for e in await events(w, t)]


async def test_a_late_arrival_photo_keeps_both_times(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Arrived")
        await w.expect(ENG)
        taken = (w.clock.now() - timedelta(hours=2)).replace(microsecond=0)
        w.send_photo(ENG, sent_at=taken)
        await w.expect(ENG)
        w.send_location(ENG, 31.2, 121.5)
        await w.expect(ENG, 2)
        [checkin] = await checkins(w, t)
        assert checkin.client_at == taken
        assert checkin.server_at - taken > timedelta(hours=1, minutes=59)
        _, text = await w.expect(SUP, 2)
        assert text.text.startswith(
            f"Arrival check-in from Li Lei at {local(w, checkin.server_at)} (sent {local(w, taken)})")
        [event] = [e for e in await events(w, t) if e.kind == "checkin_arrival"]
        assert event.details["client_at"] == taken.isoformat()


async def test_ticket_taken_away_mid_dialog_ends_it_without_writing(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w, second_engineer=True)
        t = await ticket(w, TicketStatus.EN_ROUTE)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Arrived")
        await w.expect(ENG)
        w.send_photo(ENG)
        await w.expect(ENG)
        async with w.app.db.write() as s:
            row = await s.get(Ticket, t.id)
            apply_action(s, row, Action.REASSIGN, now=w.clock.now(), assignee_id=await person_id(w, "Zhao Min"),
                         reason="closer engineer")
        w.send_location(ENG, 31.2, 121.5)
        [reply] = await w.expect(ENG)
        assert reply.text == f"Ticket {t.number} is no longer assigned to you; nothing was changed."
        if w.driver.platform == "telegram":  # the location keyboard is gone (WeCom shows none)
            assert w.tg.emu.reply_keyboard(ENG) is None
        assert await count(w, Checkin) == 0 and await count(w, Attachment) == 0
        w.send_location(ENG, 31.2, 121.5)
        [reply] = await w.expect(ENG)
        assert reply.text == "I wasn't expecting a location right now."


# -- progress check-in ---------------------------------------------------------------------------
async def test_progress_checkin_collects_notes_and_photos_until_done(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w, sup_lang="zh-CN")
        w.say(ENG, "/checkin")
        [reply] = await w.expect(ENG)
        assert reply.text == ("None of your tickets is being worked on right now, "
                              "so there is nothing to check in on.")
        first = await ticket(w, TicketStatus.ON_SITE)
        second = await ticket(w, TicketStatus.PAUSED)
        await ticket(w, TicketStatus.EN_ROUTE)  # not workable yet
        w.say(ENG, "/checkin")
        [pick] = await w.expect(ENG)
        assert pick.text == "Which ticket is this check-in for?"
        assert pick.buttons == [first.number, second.number]
        w.press(ENG, pick, second.number)
        [ask] = await w.expect(ENG)
        assert ask.text == (f"Progress check-in for {second.number}: send notes and photos "
                            "(up to 10 photos), then press Done.")
        w.send_location(ENG, 1.0, 2.0)
        [reply] = await w.expect(ENG)
        assert reply.text == "A progress check-in takes notes and photos. Send those, then press Done."

        w.say(ENG, "Replaced the fuse.")
        w.send_photo(ENG, seed=1)
        got = ["0 photos, 1 note", "1 photo, 1 note"]  # plurals in words
        if w.driver.platform == "telegram":
            w.send_photo(ENG, seed=2, caption="Board after repair")
        else:  # a WeCom photo has no caption: the note comes after it
            w.send_photo(ENG, seed=2)
            w.say(ENG, "Board after repair")
            got.append("2 photos, 1 note")
        got.append("2 photos, 2 notes")
        acks = await w.expect(ENG, len(got))
        assert [a.text for a in acks] == [f"Got it — {counts}. Send more or press Done." for counts in got]
        assert acks[-1].buttons == ["Done"]
        assert await count(w, Checkin) == 0
        w.press(ENG, acks[0], "Done")  # any acknowledgement's Done finishes it
        [sent] = await w.expect(ENG)
        assert sent.text == f"Check-in for {second.number} sent to your supervisor."
        [checkin] = await checkins(w, second)
        assert checkin.kind is CheckinKind.PROGRESS and checkin.client_at is None
        assert checkin.text == "Replaced the fuse.\nBoard after repair"
        assert [a.sha256 for a in await attachments(w, checkin.id)] == [
            hashlib.sha256(png(1)).hexdigest(), hashlib.sha256(png(2)).hexdigest()]
        ack = await ack_of(w, checkin.id)
        assert ack.due_at == checkin.server_at + timedelta(minutes=30)
        sup = await w.expect(SUP, 3)
        assert sup[2].text == "\n".join([
            f"Li Lei于 {checkin.server_at.astimezone(w.app.tz):%H:%M} 汇报进度",
            f"{second.number} · X100 · 1 River Road", "Replaced the fuse.", "Board after repair", "照片：2 张"])
        assert sup[2].buttons == ["确认收到"]
        assert (await load(w, second)).status is TicketStatus.PAUSED  # a check-in changes no state

        # The dialog is over: Done again is stale, a photo is unexpected.
        w.press(ENG, acks[-1], "Done")
        w.send_photo(ENG)
        replies = await w.expect(ENG, 2)
        assert [r.text for r in replies] == [
            "That button is out of date.", "I wasn't expecting a photo. To report progress, send /checkin first."]
        assert await count(w, Checkin) == 1


async def test_done_with_nothing_and_cancel_change_nothing(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await team(w, second_engineer=True)
        t = await ticket(w, TicketStatus.ON_SITE)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "汇报进度")
        [ask] = await w.expect(ENG)
        assert ask.text.startswith(f"工单 {t.number} 进度汇报")
        w.press_data(ENG, ask.id, f"done:{t.id}")
        [reply] = await w.expect(ENG)
        assert reply.text == "点击“完成”前，请至少发送一条说明或一张照片。"
        w.say(ENG, "检查电源")
        [got] = await w.expect(ENG)
        assert got.text == "已收到 0 张照片、1 条说明。可继续发送，或点击“完成”。"
        # Another engineer forging Done: they have no such dialog.
        w.say(ENG2, "/tickets")
        [theirs] = await w.expect(ENG2)
        w.press_data(ENG2, theirs.id, f"done:{t.id}")
        [reply] = await w.expect(ENG2)
        assert reply.text == "该按钮已过期。"
        w.say(ENG, "/cancel")
        [reply] = await w.expect(ENG)
        assert reply.text == "已取消，未做任何更改。"
        w.press(ENG, got, "完成")
        [reply] = await w.expect(ENG)
        assert reply.text == "该按钮已过期。"
        assert await count(w, Checkin) == 0
        assert await w.quiet(SUP) == []
        # A check-in on a ticket that is not being worked on: refused with the state.
        before = await ticket(w, TicketStatus.ACCEPTED)
        w.press_data(ENG, card.id, f"chk:{before.id}")
        [reply] = await w.expect(ENG)
        assert reply.text == f"只有在处理中才能汇报 {before.number} 的进度；该工单当前为“已接单”。"


async def test_checkin_command_goes_straight_in_with_one_ticket_and_cancel_in_arrival(tmp_path: Path,
                                                                                      channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        w.say(ENG, "/checkin")
        [ask] = await w.expect(ENG)
        assert ask.text.startswith(f"Progress check-in for {t.number}:")
        w.send_photo(ENG, seed=5)
        await w.expect(ENG)
        w.say(ENG, "/cancel")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cancelled. Nothing was changed."
        assert await count(w, Checkin) == 0 and await count(w, Attachment) == 0

        # /checkin NUMBER picks the ticket; the plain-text fallback of Done works like the button.
        w.say(ENG, f"/checkin {t.number.lower()}")
        await w.expect(ENG)
        w.say(ENG, "All good")
        await w.expect(ENG)
        w.say(ENG, f"/_done_{t.id}")
        [sent] = await w.expect(ENG)
        assert sent.text == f"Check-in for {t.number} sent to your supervisor."
        [checkin] = await checkins(w, t)
        assert checkin.text == "All good"
        w.say(ENG, "/checkin FS-1999-000001")
        [reply] = await w.expect(ENG)
        assert reply.text == "No ticket FS-1999-000001."

        arriving = await ticket(w, TicketStatus.EN_ROUTE)
        card = await card_of(w, ENG, arriving)
        w.press(ENG, card, "Arrived")
        await w.expect(ENG)
        w.send_photo(ENG)
        await w.expect(ENG)
        w.say(ENG, "/cancel")
        await w.expect(ENG)
        if w.driver.platform == "telegram":  # the location keyboard is gone (WeCom shows none)
            assert w.tg.emu.reply_keyboard(ENG) is None
        assert (await load(w, arriving)).status is TicketStatus.EN_ROUTE
        assert await count(w, Checkin) == 1 and await count(w, Attachment) == 0


async def test_an_eleventh_photo_is_refused_and_the_ten_are_kept(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        w.say(ENG, f"/checkin {t.number}")
        await w.expect(ENG)
        for seed in range(10):
            w.send_photo(ENG, seed=seed)
        await w.expect(ENG, 10)
        w.send_photo(ENG, seed=10)
        [refused] = await w.expect(ENG)
        assert refused.text == ("That is enough photos: at most 10 in one check-in. "
                                "Send the rest with the next one.")
        w.press(ENG, w.messages(ENG)[-2], "Done")
        await w.settle()
        [checkin] = await checkins(w, t)
        assert len(await attachments(w, checkin.id)) == 10
