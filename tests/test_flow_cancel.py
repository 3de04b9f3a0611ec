"""Cancelling a ticket end to end (emulator + the real bot on each channel + SQLite): the ticket page's
**Cancel ticket** asking the reason, ``/cancel_ticket NUMBER REASON`` in one go; the engineer and the
customer told in their own language, the reason on the timeline, the SLA clocks and the open
acknowledgement's chase stopped; ``/cancel`` still only leaves the dialog; people who may not,
other teams, forged buttons and tickets that cannot be cancelled change nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import FixedClock
from models.enums import Action, Role, TicketStatus
from models.still import applies, still
from models.tickets import Ticket
from models.work import Acknowledgement
from scheduler import ack
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import checkin, events, get, load, move, new_ticket
from tests.support.world import T0, World

SUP, DSP, ENG, MGR, CUST = 500, 501, 502, 503, 504
SOUTH_SUP = 510


def world(tmp_path: Path, channel: str, language: str = "en") -> World:
    """The scheduler is off: the test runs the acknowledgement chase itself, at a moment it picks."""
    return World(tmp_path, channel, language=language, clock=FixedClock(T0),
                 extra_config="[scheduler]\nenabled = false\n")


async def test_cancel_from_the_ticket_page_tells_engineer_and_customer(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei", lang="zh-CN")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")
        await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
        await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        await checkin(w, ENG, ticket)  # an arrival check-in waiting for the supervisor's acknowledgement
        await w.quiet(SUP)
        await w.quiet(ENG)
        async with w.app.db.read() as s:
            [open_ack] = (await s.scalars(select(Acknowledgement))).all()
            assert await applies(s, still(ack=open_ack.id))  # a reminder held for the morning would go out

        w.say(SUP, f"/ticket {n}")
        [view] = await w.expect(SUP)
        assert view.buttons[:3] == ["Reassign", "Edit", "Cancel ticket"]  # (more may follow)
        w.press(SUP, view, "Cancel ticket")
        [ask] = await w.expect(SUP)
        assert ask.text == (f"Cancel {n} (on site)? Send the reason (the engineer and the customer will be told it), "
                            "or /cancel to keep the ticket.")
        # No reason (a photo), then /cancel: the dialog ends, the ticket is as it was.
        w.send_photo(SUP)
        w.say(SUP, "/cancel")
        assert [m.text for m in await w.expect(SUP, 2)] == [
            f"A reason is needed to cancel {n}. Please type it (or /cancel to keep the ticket).",
            "Cancelled. Nothing was changed."]
        assert (await load(w, ticket)).status is TicketStatus.ON_SITE

        w.clock.at = T0 + timedelta(minutes=20)
        w.press(SUP, view, "Cancel ticket")
        await w.expect(SUP)
        w.say(SUP, "Customer replaced the unit under a separate contract")
        [done] = await w.expect(SUP)
        assert done.text == (f"{n} is cancelled. Reason: Customer replaced the unit under a sepa…\n"  # an echo: cut
                             "Li Lei has been told.\nThe customer has been told.")
        [told] = await w.expect(ENG)
        assert told.text == (f"工单 {n}（X200，1 Harbour Rd）已由Wang Wei取消。"
                             "原因：Customer replaced the unit under a separate contract。无需再处理。")
        [customer] = await w.expect(CUST)
        assert customer.text == (f"Your service ticket {n} (X200) has been cancelled. Reason: Customer replaced the "
                                 "unit under a separate contract. If you still need help, just contact us.")

        row = await load(w, ticket)
        assert (row.status, row.cancel_reason, row.cancelled_at) == (
            TicketStatus.CANCELLED, "Customer replaced the unit under a separate contract", T0 + timedelta(minutes=20))
        assert row.sla_next_at is None and row.dispatch_next_at is None
        last = (await events(w, ticket))[-1]
        assert (last.action, last.actor_id, last.details["reason"]) == (
            Action.CANCEL, await pid(w, SUP), "Customer replaced the unit under a separate contract")

        # The page: the reason on the timeline, no more buttons; the old Cancel ticket refused.
        w.say(SUP, f"/ticket {n}")
        [view] = await w.expect(SUP)
        assert ("2026-03-02 10:50  Wang Wei cancelled the ticket — reason: Customer replaced the unit under a "
                "separate contract") in view.text
        assert view.buttons == []
        w.press_data(SUP, view.id, f"tcn:{ticket.id}")
        assert [m.text for m in await w.expect(SUP)] == [f"{n} is cancelled: only an open ticket can be cancelled."]

        # The check-in's acknowledgement is no longer chased (a reminder held for the morning is
        # dropped), nor listed as waiting.
        assert await ack.run(w.app, T0 + timedelta(hours=3)) == 0
        async with w.app.db.read() as s:
            [open_ack] = (await s.scalars(select(Acknowledgement))).all()
            assert not await applies(s, still(ack=open_ack.id))
        assert open_ack.acked_at is None and open_ack.next_reminder_at is None
        w.say(SUP, "/pending")
        assert [m.text for m in await w.expect(SUP)] == ["No check-ins are waiting for your acknowledgement."]
        # The engineer's card no longer works.
        w.press_data(ENG, last_id(w, ENG), f"rsv:{ticket.id}")
        assert [m.text for m in await w.expect(ENG)] == ["上门服务工单当前为“已取消”，不能解决。"]
        assert await w.quiet(CUST) == [] and await w.quiet(SUP) == []


async def test_cancel_command_in_chinese_and_who_may_not(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(MGR, Role.MANAGER, "周宇")
        await w.join(SOUTH_SUP, Role.SUPERVISOR, "高飞", team="South")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "林先生", lang="zh-CN")

        # Engineers and customers may not; another team's supervisor does not see it; forged buttons.
        w.say(ENG, f"/cancel_ticket {n} 重复登记")
        w.press_data(ENG, last_id(w, ENG), f"tcn:{ticket.id}")
        w.say(CUST, f"/cancel_ticket {n} 不需要了")
        assert [m.text for m in await w.expect(ENG, 2)] == ["您的角色不能执行此操作。"] * 2
        assert [m.text for m in await w.expect(CUST)] == ["您的角色不能执行此操作。"]
        w.say(SOUTH_SUP, f"/cancel_ticket {n} 重复登记")
        w.press_data(SOUTH_SUP, last_id(w, SOUTH_SUP), f"tcn:{ticket.id}")
        assert [m.text for m in await w.expect(SOUTH_SUP, 2)] == [f"没有工单 {n}。", "您无权查看该工单（或已不再由您负责）。"]
        w.press_data(DSP, last_id(w, DSP), "tcn:999999")
        w.say(DSP, "/cancel_ticket")
        w.say(DSP, f"/cancel_ticket {n} " + "长" * 501)
        assert [m.text for m in await w.expect(DSP, 3)] == [
            "您无权查看该工单（或已不再由您负责）。", "哪张工单？请提供工单号，例如 FS-2026-000123。",
            "原因请控制在 500 个字符以内。"]
        assert (await load(w, ticket)).status is TicketStatus.NEW

        # The dispatcher cancels a new ticket in one go: no engineer to tell, the customer is.
        w.say(DSP, f"/cancel_ticket {n} 客户重复报修")
        [done] = await w.expect(DSP)
        assert done.text == f"工单 {n} 已取消。原因：客户重复报修\n已通知客户。"
        [customer] = await w.expect(CUST)
        assert customer.text == f"您的服务工单 {n}（X200）已取消。原因：客户重复报修。如仍需服务，请随时联系我们。"
        assert await w.quiet(ENG) == []
        # A second time, by the manager: refused, nothing changes.
        w.say(MGR, f"/cancel_ticket {n} 再取消一次")
        assert [m.text for m in await w.expect(MGR)] == [f"工单 {n} 当前为“已取消”，只有未结工单才能取消。"]
        assert [e.action for e in await events(w, ticket) if e.kind == "transition"] == [Action.CANCEL]

        # The manager cancels another one (dispatched); nobody joined through its link: said so.
        other = await new_ticket(w, customer="Beta Co", phone="+8613800000002", address="2 Pier St")
        await move(w, other, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
        await w.quiet(ENG)
        w.say(MGR, f"/cancel_ticket {other.number} 客户已自行解决")
        [done] = await w.expect(MGR)
        assert done.text == (f"工单 {other.number} 已取消。原因：客户已自行解决\n已通知李雷。\n"
                             "未能通知客户（尚无人通过工单链接加入），已记入处理记录。")
        [told] = await w.expect(ENG)
        assert told.text.startswith(f"工单 {other.number}（X200，2 Pier St）已由周宇取消。")
        assert [e.kind for e in await events(w, other)][-1] == "customer_not_reached"
        assert (await get(w, Ticket, other.id)).status is TicketStatus.CANCELLED
