"""Complaints end to end: ``/complain`` (which ticket, text, optional photo), the alert to the
supervisor and the team's manager at once — also at night — the customer's confirmation, the
desk's **Answer** (``cpa``) reaching the customer, the timeline; who may complain about what and
who may answer; both languages."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from bot.app import FixedClock
from models.enums import Action, Role
from models.runtime import OutboxMessage
from models.tickets import Ticket
from models.work import Attachment, Complaint
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import events, move, new_ticket
from tests.support.world import T0, World, world

SUP, MGR, DSP, ENG, CUST, CUST2, OTHER_SUP = 400, 401, 402, 403, 404, 405, 406
#: 23:30 on a Monday in Shanghai: outside working hours, when ordinary pushes wait for the morning.
NIGHT = datetime(2026, 3, 2, 15, 30, tzinfo=timezone.utc)
MORNING = datetime(2026, 3, 3, 0, 30, tzinfo=timezone.utc)  # 08:30 the next day
WORKDAYS = "[bot.working_hours]\n" + "".join(f'{d} = "08:30-22:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))


async def assigned(w: World, **kw) -> Ticket:  # noqa: ANN003
    ticket = await new_ticket(w, **kw)
    await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
    await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
    return ticket


async def complaints(w: World) -> list[Complaint]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(Complaint).order_by(Complaint.id))).all())


async def outbox(w: World, purpose: str) -> list[OutboxMessage]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage).where(OutboxMessage.purpose == purpose)
                                     .order_by(OutboxMessage.id))).all())


async def test_complaint_with_photo_alerts_supervisor_and_manager_at_night(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, clock=FixedClock(NIGHT), extra_config=WORKDAYS) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(MGR, Role.MANAGER, "Zhou Yu")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(OTHER_SUP, Role.SUPERVISOR, "Sun Li", team="South")
        ticket = await assigned(w)
        newer = await new_ticket(w, model="Z9", address="9 Bay St")
        beta = await new_ticket(w, customer="Beta Co", phone="+8613800000002")
        await join_customer(w, CUST, ticket, "Mr Lin")
        await join_customer(w, CUST2, beta, "Ms Ma")
        eng, cust = await pid(w, ENG), await pid(w, CUST)

        # Someone else's ticket: not by number, not by a forged button.
        w.say(CUST2, f"/complain {ticket.number}")
        w.press_data(CUST2, last_id(w, CUST2), f"cpt:{ticket.id}")
        assert [m.text for m in await w.expect(CUST2, 2)] == [
            f"No ticket {ticket.number}.", "That ticket is not (or no longer) available to you."]

        w.say(CUST, "/complain")
        [pick] = await w.expect(CUST)
        assert pick.text == "Which ticket is your complaint about?"
        assert pick.buttons == [f"{newer.number} · Z9", f"{ticket.number} · X200"]  # newest first
        w.press(CUST, pick, f"{ticket.number} · X200")
        [ask] = await w.expect(CUST)
        assert ask.text == (f"Complaint about ticket {ticket.number}: please tell us what went wrong. You can "
                            "add a photo (a photo with a caption works too). Send /cancel to stop.")
        w.send_location(CUST, 31.2, 121.4)  # not a complaint
        w.send_photo(CUST, seed=5)
        replies = await w.expect(CUST, 2)
        assert [r.text for r in replies] == ["Please describe the problem in words (you can add a photo).",
                                             "Got 1 photo. Now please describe the problem in words."]
        assert await complaints(w) == []
        w.say(CUST, "The cabinet was left open and the fault is back.")
        [confirmed] = await w.expect(CUST)
        assert confirmed.text == (f"Your complaint about ticket {ticket.number} is recorded and has been passed "
                                  "to the service supervisor and manager. You will get their answer here.")

        # Both alerted at once although it is night: the photo, then the text with Answer.
        alert_text = (f"Complaint from Mr Lin about ticket {ticket.number}:\n{ticket.number} · X200 · 1 Harbour Rd\n"
                      "Engineer: Li Lei\nThe cabinet was left open and the fault is back.\nPhotos: 1")
        for uid in (SUP, MGR):
            photo, alert = await w.expect(uid, 2)
            assert photo.photo
            assert alert.text == alert_text and alert.buttons == ["Answer"]
        assert await w.quiet(ENG) == []
        assert {row.not_before for row in await outbox(w, "complaint")} == {NIGHT}
        [complaint] = await complaints(w)
        assert (complaint.ticket_id, complaint.engineer_id, complaint.customer_person_id, complaint.text,
                complaint.answered_at) == (ticket.id, eng, cust, "The cabinet was left open and the fault is back.",
                                           None)
        async with w.app.db.read() as s:
            photos = (await s.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id))).all()
        assert [(a.ticket_id, a.checkin_id, a.sha256 is not None) for a in photos] == [(ticket.id, None, True)]

        # The engineer may not answer; another team's supervisor cannot see it.
        w.press_data(ENG, last_id(w, ENG), f"cpa:{complaint.id}")
        w.press_data(OTHER_SUP, last_id(w, OTHER_SUP), f"cpa:{complaint.id}")
        w.press_data(CUST, last_id(w, CUST), f"cpa:{complaint.id}")
        assert [m.text for m in await w.expect(ENG)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(OTHER_SUP)] == ["That ticket is not (or no longer) available to you."]
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]

        alert = w.messages(SUP)[-1]
        w.press(SUP, alert, "Answer")
        [answer_ask] = await w.expect(SUP)
        assert answer_ask.text == (f"Your answer to Mr Lin's complaint about {ticket.number}? "
                                   "It will be sent to them as you write it (or /cancel).")
        w.send_photo(SUP)
        [again] = await w.expect(SUP)
        assert again.text == "Please send your answer as text (or /cancel)."
        w.say(SUP, "Sorry, Mr Lin. An engineer will come back tomorrow morning at no charge.")
        [sent] = await w.expect(SUP)
        # Told the truth: the customer gets it in the morning (the same push as below).
        assert sent.text == (f"Your answer was sent to Mr Lin (ticket {ticket.number}).\n"
                             "Outside working hours: Mr Lin will get it at 08:30 tomorrow.")
        assert w.current(SUP, alert).text == alert_text + "\nAnswered by Wang Wei at 23:30"
        assert w.current(SUP, alert).buttons == []
        [complaint] = await complaints(w)
        assert (complaint.answered_at, complaint.answered_by_id, complaint.answer) == (
            NIGHT, await pid(w, SUP), "Sorry, Mr Lin. An engineer will come back tomorrow morning at no charge.")
        # The answer is an ordinary push: at night it waits for the morning.
        assert [row.not_before for row in await outbox(w, "complaint_answer")] == [MORNING]
        assert await w.quiet(CUST) == []

        manager_alert = w.messages(MGR)[-1]
        w.press(MGR, manager_alert, "Answer")
        [late] = await w.expect(MGR)
        assert late.text == f"The complaint about {ticket.number} was already answered by Wang Wei at 23:30."

        w.say(SUP, f"/ticket {ticket.number}")
        [view] = await w.expect(SUP)
        assert view.text.endswith("2026-03-02 23:30  Mr Lin made a complaint with 1 photo\n"
                                  "2026-03-02 23:30  Wang Wei answered the complaint")


async def test_complaint_without_photo_answered_by_the_desk_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(MGR, Role.MANAGER, "周宇")
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(ENG, Role.ENGINEER, "李雷")
        ticket = await assigned(w)
        await join_customer(w, CUST, ticket, "林先生", lang="zh-CN")

        w.say(ENG, "/complain")
        [role] = await w.expect(ENG)
        assert role.text == "您的角色不能执行此操作。"

        w.say(CUST, "/complain")  # only one ticket: no question which
        [ask] = await w.expect(CUST)
        assert ask.text == (f"投诉工单 {ticket.number}：请告诉我们出了什么问题。可以附一张照片（带文字说明的照片也可以）。"
                            "发送 /cancel 可取消。")
        w.say(CUST, "工程师迟到了两个小时")
        [photo_ask] = await w.expect(CUST)
        assert photo_ask.text == "需要附照片吗？请直接发送，或点击“不附照片，直接提交”。"
        assert photo_ask.buttons == ["不附照片，直接提交"]
        w.say(CUST, "还有")
        [again] = await w.expect(CUST)
        assert again.text == "请发送照片，或点击“不附照片，直接提交”。"
        w.press(CUST, photo_ask, "不附照片，直接提交")
        [confirmed] = await w.expect(CUST)
        assert confirmed.text == f"您对工单 {ticket.number} 的投诉已记录，并已立即转给服务主管和经理。答复会在这里发给您。"
        for uid in (SUP, MGR):
            [alert] = await w.expect(uid)
            assert alert.text == (f"林先生投诉工单 {ticket.number}：\n{ticket.number} · X200 · 1 Harbour Rd\n"
                                  "工程师：李雷\n工程师迟到了两个小时")
            assert alert.buttons == ["答复"]
        w.press(CUST, photo_ask, "不附照片，直接提交")  # pressed again: recorded once
        [stale] = await w.expect(CUST)
        assert stale.text == "该按钮已过期。"
        [complaint] = await complaints(w)
        assert complaint.text == "工程师迟到了两个小时"

        # The dispatcher answers from the board's button (the same cpa data).
        w.press_data(DSP, last_id(w, DSP), f"cpa:{complaint.id}")
        [answer_ask] = await w.expect(DSP)
        assert answer_ask.text == f"请输入您对林先生关于 {ticket.number} 的投诉的答复，将原文发送给客户（或发送 /cancel）。"
        w.say(DSP, "非常抱歉，我们已提醒工程师，并为您减免本次上门费。")
        [sent] = await w.expect(DSP)
        assert sent.text == f"您的答复已发送给林先生（工单 {ticket.number}）。"
        [answer] = await w.expect(CUST)
        assert answer.text == (f"关于工单 {ticket.number} 的投诉，陈静答复如下：\n"
                               "非常抱歉，我们已提醒工程师，并为您减免本次上门费。")
        [complaint] = await complaints(w)
        assert (complaint.answered_by_id, complaint.answered_at) == (await pid(w, DSP), T0)

        # A photo with a caption is a whole complaint in one message (WeChat has no captions: the
        # photo, then the words).
        w.say(CUST, f"/complain {ticket.number}")
        await w.expect(CUST)
        if w.driver.platform == "telegram":
            w.send_photo(CUST, seed=2, caption="柜门没有关好")
        else:
            w.send_photo(CUST, seed=2)
            [words_ask] = await w.expect(CUST)
            assert words_ask.text == "已收到 1 张照片。请再用文字描述一下问题。"
            w.say(CUST, "柜门没有关好")
        [confirmed] = await w.expect(CUST)
        assert confirmed.text.startswith(f"您对工单 {ticket.number} 的投诉已记录")
        photo, alert = await w.expect(SUP, 2)
        assert photo.photo and alert.text.endswith("柜门没有关好\n照片：1 张")
        assert [m.text for m in await w.expect(MGR, 2)][1] == alert.text
        second = (await complaints(w))[-1]
        assert (second.text, second.answered_at) == ("柜门没有关好", None)
        assert [e.kind for e in await events(w, ticket) if e.kind.startswith("complaint")] == [
            "complaint_made", "complaint_answered", "complaint_made"]

        # A team with nobody to alert: the customer is not promised an alert, the timeline says so.
        east = await new_ticket(w, team="East", customer="Gamma Co", phone="+8613800000003")
        await join_customer(w, CUST2, east, "马女士", lang="zh-CN")
        w.say(CUST2, "/complain")
        await w.expect(CUST2)
        w.say(CUST2, "一直没人联系我")
        [photo_ask] = await w.expect(CUST2)
        w.press(CUST2, photo_ask, "不附照片，直接提交")
        [confirmed] = await w.expect(CUST2)
        assert confirmed.text == f"您对工单 {east.number} 的投诉已记录，服务团队会在这里答复您。"
        assert [e.kind for e in await events(w, east)][-2:] == ["complaint_made", "complaint_unalerted"]
        assert await w.quiet(SUP) == [] and await w.quiet(MGR) == []
