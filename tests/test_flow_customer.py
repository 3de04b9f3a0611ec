"""The customer's side end to end: ``/status``, sign-off in chat (Confirm → rating → comment or
No comment → closed), pushes to engineer and supervisor; both languages; other customers, bad
ratings and second presses change nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from handlers.cards import signoff_request
from handlers.notify import notify_customer
from models.enums import Action, FeedbackSource, Role, SignoffMethod, TicketStatus
from models.tickets import Ticket
from models.transitions import apply_action
from models.work import Feedback, Signoff
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import as_person, events, get, move, new_ticket
from tests.support.world import T0, World, world

SUP, ENG, CUST, CUST2, DSP = 300, 301, 302, 303, 304
REPORT = {"findings": "Loose display cable", "actions_taken": "Reseated and secured the cable",
          "parts_replaced": "", "result": "Display stable"}


async def resolved(w: World, ticket: Ticket) -> None:
    """Dispatch, accept, travel, arrive, resolve (the other flows' steps), then the engineer's
    sign-off request reaches the customer."""
    await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
    await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
    await move(w, ticket, Action.RESOLVE, actor_uid=ENG, **REPORT)

    async def request(ctx, s) -> None:  # noqa: ANN001
        row = await s.get(Ticket, ticket.id)
        await notify_customer(ctx, row, signoff_request(row), purpose="signoff_request")
    await as_person(w, ENG, request)


def report_parts(w: World) -> int:
    """Messages the service report comes in: a document with its caption (Telegram), or a file
    message and then the text (WeCom, 微信客服)."""
    return 1 if w.driver.platform == "telegram" else 2


async def counts(w: World, ticket: Ticket) -> tuple[int, int]:
    async with w.app.db.read() as s:
        return (await s.scalar(select(func.count()).select_from(Signoff).where(Signoff.ticket_id == ticket.id)),
                await s.scalar(select(func.count()).select_from(Feedback).where(Feedback.ticket_id == ticket.id)))


# Also on PostgreSQL (``db_url``), one of the handful of end-to-end scenarios CI runs on both databases.
async def test_status_then_sign_off_with_rating_and_comment(tmp_path: Path, channel: str, db_url: str) -> None:
    async with world(tmp_path, channel, db_url=db_url) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await new_ticket(w)
        other = await new_ticket(w, customer="Beta Co", phone="+8613800000002", model="Z9")
        await join_customer(w, CUST, ticket, "Mr Lin")
        await join_customer(w, CUST2, other, "Ms Ma")

        w.say(CUST, "/status")
        [reply] = await w.expect(CUST)
        assert reply.text == f"Your open tickets:\n{ticket.number} · X200: new"
        await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
        await move(w, ticket, Action.ACCEPT, actor_uid=ENG)
        async with w.app.db.write() as s:
            apply_action(s, await s.get(Ticket, ticket.id), Action.DEPART, now=T0, eta_at=T0 + timedelta(minutes=45))
        w.say(CUST, "/status")
        [reply] = await w.expect(CUST)
        assert reply.text == (f"Your open tickets:\n{ticket.number} · X200: on the way\n  engineer: Li Lei\n"
                              "  expected arrival: 11:15")
        await move(w, ticket, Action.ARRIVE, actor_uid=ENG)
        await move(w, ticket, Action.RESOLVE, actor_uid=ENG, **REPORT)

        async def request(ctx, s) -> None:  # noqa: ANN001
            row = await s.get(Ticket, ticket.id)
            await notify_customer(ctx, row, signoff_request(row), purpose="signoff_request")
        await as_person(w, ENG, request)
        [req] = await w.expect(CUST)
        assert req.buttons == ["Confirm", "Not fixed"]

        # Another customer cannot confirm or rate it; a rating before confirming is refused.
        w.press_data(CUST2, last_id(w, CUST2), f"cfm:{ticket.id}")
        w.press_data(CUST2, last_id(w, CUST2), f"rate:{ticket.id}:5")
        assert [m.text for m in await w.expect(CUST2, 2)] == ["That ticket is not (or no longer) available to you."] * 2
        w.press_data(CUST, req.id, f"rate:{ticket.id}:5")
        [reply] = await w.expect(CUST)
        assert reply.text == f"Please confirm {ticket.number} first, then rate it."
        assert await counts(w, ticket) == (0, 0)

        w.press(CUST, req, "Confirm")
        [ask] = await w.expect(CUST)
        assert ask.text == (f"Thank you for confirming {ticket.number}. How satisfied are you with the service? "
                            "1 = very unsatisfied, 5 = very satisfied.")
        assert ask.buttons == ["1", "2", "3", "4", "5"]
        if w.driver.platform == "telegram":  # 微信客服 cannot edit a message: the report stays as sent
            confirmed = w.current(CUST, req)
            assert confirmed.text.startswith(f"Service report for ticket {ticket.number}. Please check it:")
            assert confirmed.text.endswith("Confirmed by you at 2026-03-02 10:30.")
            assert confirmed.buttons == []
        async with w.app.db.read() as s:
            signoff = await s.scalar(select(Signoff).where(Signoff.ticket_id == ticket.id))
        assert (signoff.method, signoff.confirmed_by_id, signoff.at) == (SignoffMethod.CHAT, await pid(w, CUST), T0)
        assert (await get(w, Ticket, ticket.id)).status is TicketStatus.SIGNED_OFF

        # Confirm again; a rating of 9; a forged rating; then a real one.
        w.press_data(CUST, req.id, f"cfm:{ticket.id}")
        w.press_data(CUST, ask.id, f"rate:{ticket.id}:9")
        w.press_data(CUST, ask.id, f"rate:{ticket.id}")
        assert [m.text for m in await w.expect(CUST, 3)] == [
            f"{ticket.number} is already signed off. Thank you!", "Ratings go from 1 to 5.", "Ratings go from 1 to 5."]
        assert await counts(w, ticket) == (1, 0)
        w.press(CUST, ask, "4")
        [comment_ask] = await w.expect(CUST)
        assert comment_ask.text == "Anything you'd like to tell us? Write a comment, or press No comment."
        assert comment_ask.buttons == ["No comment"]
        if w.driver.platform == "telegram":
            assert w.current(CUST, ask).text == f"Your rating for {ticket.number}: 4/5."
        w.press_data(CUST, ask.id, f"rate:{ticket.id}:5")
        [reply] = await w.expect(CUST)
        assert reply.text == f"You already rated {ticket.number} (4/5)."
        assert await w.quiet(ENG) == [] and await w.quiet(SUP) == []

        w.say(CUST, "Quick and friendly, thanks!")
        if w.driver.platform == "telegram":
            [thanks] = await w.expect(CUST)
            received = w.current(CUST, comment_ask)
        else:  # no edits in 微信客服: the question's update comes as a message of its own, first
            received, thanks = await w.expect(CUST, 2)
        assert thanks.text == f"Thank you for your feedback! Ticket {ticket.number} is now closed."
        assert received.text == "Comment received." and received.buttons == []
        notice = (f"{ticket.number} was signed off by the customer (Mr Lin): rating 4/5.\n"
                  "Comment: Quick and friendly, thanks!")
        assert [m.text for m in await w.expect(ENG)] == [notice]
        assert [m.text for m in await w.expect(SUP)] == [notice]
        # The signed service report as a PDF, to the customer and the supervisor (tests/test_service_report.py).
        report = f"Service report of ticket {ticket.number} (PDF)."
        assert report in [m.text for m in await w.expect(CUST, report_parts(w))]
        assert report in [m.text for m in await w.expect(SUP, report_parts(w))]
        async with w.app.db.read() as s:
            [feedback] = (await s.scalars(select(Feedback).where(Feedback.ticket_id == ticket.id))).all()
        assert (feedback.source, feedback.rating, feedback.comment, feedback.person_id) == \
            (FeedbackSource.SIGNOFF, 4, "Quick and friendly, thanks!", await pid(w, CUST))
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.closed_at) == (TicketStatus.CLOSED, T0)
        logged = await events(w, ticket)
        assert [e.action for e in logged if e.kind == "transition"][-2:] == [Action.SIGN_OFF, Action.CLOSE]
        assert [e.details["rating"] for e in logged if e.kind == "rated"] == [4]  # the rating is in the log

        # Afterwards: no open tickets; a late No comment changes nothing.
        w.press_data(CUST, comment_ask.id, f"nocmt:{ticket.id}")
        w.say(CUST, "/status")
        assert [m.text for m in await w.expect(CUST, 2)] == [
            f"{ticket.number} is already closed. Thank you!", "You have no open service tickets."]
        assert await w.quiet(ENG) == []


async def test_sign_off_without_comment_in_chinese_and_what_customers_may_not_do(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(DSP, Role.DISPATCHER, "陈静")
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "林先生", lang="zh-hans")

        # Staff commands are not for customers; staff cannot confirm for the customer.
        w.say(CUST, f"/dispatch {ticket.number}")
        w.say(CUST, f"/ticket {ticket.number}")
        assert [m.text for m in await w.expect(CUST, 2)] == ["您的角色不能执行此操作。"] * 2
        w.press_data(DSP, last_id(w, DSP), f"cfm:{ticket.id}")
        [reply] = await w.expect(DSP)
        assert reply.text == "您的角色不能执行此操作。"
        # Nothing to confirm while the work is under way.
        w.press_data(CUST, last_id(w, CUST), f"cfm:{ticket.id}")
        [reply] = await w.expect(CUST)
        assert reply.text == f"{ticket.number} 当前为“新建”，暂时没有需要确认的内容。"
        assert await w.quiet(SUP) == []

        await resolved(w, ticket)
        [req] = await w.expect(CUST)
        w.press(CUST, req, "确认")
        [ask] = await w.expect(CUST)
        assert ask.text.startswith(f"感谢您确认 {ticket.number}。")
        w.press(CUST, ask, "5")
        [comment_ask] = await w.expect(CUST)
        assert comment_ask.buttons == ["不评论"]
        w.send_photo(CUST)  # not a comment: asked again, with the button
        [again] = await w.expect(CUST)
        assert again.text == "请以文字写下您的意见，或点击“不评论”。" and again.buttons == ["不评论"]
        w.press(CUST, again, "不评论")
        if w.driver.platform == "telegram":
            [thanks] = await w.expect(CUST)
            updated = [w.current(CUST, message) for message in (comment_ask, again)]
        else:  # no edits in 微信客服: each question's update comes as a message of its own, first
            *updated, thanks = await w.expect(CUST, 3)
        assert thanks.text == f"感谢您的反馈！工单 {ticket.number} 已关闭。"
        assert [(m.text, m.buttons) for m in updated] == [("不评论。", [])] * 2
        notice = f"{ticket.number} 已由客户（林先生）签收：评分 5/5。"
        assert [m.text for m in await w.expect(ENG)] == [notice]
        assert [m.text for m in await w.expect(SUP)] == [notice]
        report = f"工单 {ticket.number} 的服务单（PDF）。"
        assert report in [m.text for m in await w.expect(CUST, report_parts(w))]
        assert report in [m.text for m in await w.expect(SUP, report_parts(w))]
        async with w.app.db.read() as s:
            feedback = await s.scalar(select(Feedback).where(Feedback.ticket_id == ticket.id))
        assert (feedback.rating, feedback.comment) == (5, None)
        assert (await get(w, Ticket, ticket.id)).status is TicketStatus.CLOSED

        # The dialog is over: text is not taken as a comment any more.
        w.say(CUST, "还有一句")
        [reply] = await w.expect(CUST)
        assert reply.text == "我没看懂。发送 /help 查看可用命令。"
        assert await counts(w, ticket) == (1, 1)
