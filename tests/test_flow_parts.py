"""Parts requests end to end: the engineer's dialog (**Parts** on the card or ``/parts NUMBER``) with
bad quantities re-asked, the supervisor's **Approve** / **Reject** (with a reason), the engineer told,
the timeline, the one-tap **Pause: waiting for parts**; who may ask and who may decide; both languages."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from models.enums import Action, PartsStatus, Role, ServiceType, TicketStatus
from models.tickets import Ticket
from models.work import PartsRequest
from tests.support.cast import pid
from tests.support.chat import last_id
from tests.support.tickets import events, get, move, new_ticket
from tests.support.world import T0, World, world

SUP, DSP, ENG, ENG2, OTHER_SUP = 300, 301, 302, 303, 304


async def assigned(w: World, *actions: Action, **kw) -> Ticket:  # noqa: ANN003
    """A ticket dispatched to ENG and moved on by ``actions`` (steps owned by other flows)."""
    ticket = await new_ticket(w, **kw)
    await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
    await move(w, ticket, *actions, actor_uid=ENG)
    return ticket


async def requests(w: World) -> list[PartsRequest]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(PartsRequest).order_by(PartsRequest.id))).all())


# Also on PostgreSQL (``db_url``), one of the handful of end-to-end scenarios CI runs on both databases.
async def test_request_approve_then_pause_with_one_tap(tmp_path: Path, channel: str, db_url: str) -> None:
    async with world(tmp_path, channel, db_url=db_url) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(OTHER_SUP, Role.SUPERVISOR, "Sun Li", team="South")
        ticket = await assigned(w, Action.ACCEPT, Action.DEPART, Action.ARRIVE)
        eng, sup = await pid(w, ENG), await pid(w, SUP)

        w.say(ENG, "/tickets")
        [listing] = await w.expect(ENG)
        w.press_data(ENG, listing.id, f"card:{ticket.id}")  # the list's button to the card
        [card] = await w.expect(ENG)
        assert card.buttons == ["Check in", "Parts", "Pause", "Resolve"]
        w.press(ENG, card, "Parts")
        [ask] = await w.expect(ENG)
        assert ask.text == f"Parts for {ticket.number}: which part do you need? Send its name or part number."
        w.send_photo(ENG)  # not a part name
        w.say(ENG, "Cooling fan module")
        replies = await w.expect(ENG, 2)
        assert [r.text for r in replies] == ["Please send the part's name or part number as text.",
                                             "How many of \"Cooling fan module\"? Send a whole number."]
        for bad in ("0", "-1", "two", "1000000000", "2.5"):
            w.say(ENG, bad)
            [again] = await w.expect(ENG)
            assert again.text == f"\"{bad}\" is not a quantity. Send a whole number from 1 to 999."
        assert await requests(w) == []
        w.say(ENG, "2")
        [note_ask] = await w.expect(ENG)
        assert note_ask.text == ("Any note for your supervisor (urgency, supplier, where to deliver)? "
                                 "Send it, or press No note.")
        assert note_ask.buttons == ["No note"]
        w.say(ENG, "Customer line is down, please rush")
        [sent] = await w.expect(ENG)
        assert sent.text == (
            f"Parts request sent to your supervisor: 2 × Cooling fan module for {ticket.number}. "
            "I'll tell you their decision.\n"
            "If the work must wait for the parts, pause the ticket with the button below.")
        assert sent.buttons == w.shown(["Pause: waiting for parts"])
        # The stale No note button after the request was sent: nothing more is stored.
        w.press(ENG, note_ask, "No note")
        [stale] = await w.expect(ENG)
        assert stale.text == "That button is out of date."
        [request] = await requests(w)
        assert (request.ticket_id, request.requested_by_id, request.part, request.quantity, request.note,
                request.status) == (ticket.id, eng, "Cooling fan module", 2, "Customer line is down, please rush",
                                    PartsStatus.PENDING)

        [to_sup] = await w.expect(SUP)
        assert to_sup.text == (f"Li Lei asks for parts on {ticket.number}:\n"
                               f"{ticket.number} · X200 · 1 Harbour Rd\n2 × Cooling fan module\n"
                               "Note: Customer line is down, please rush")
        assert to_sup.buttons == ["Approve", "Reject"]

        # Nobody else may decide: the engineer and the dispatcher by role, another team's
        # supervisor by team; a made-up request does not exist.
        w.press_data(ENG, sent.id, f"pra:{request.id}")
        w.press_data(DSP, last_id(w, DSP), f"prr:{request.id}")
        w.press_data(OTHER_SUP, last_id(w, OTHER_SUP), f"pra:{request.id}")
        w.press_data(SUP, to_sup.id, "pra:999")
        assert [m.text for m in await w.expect(ENG)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(DSP)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(OTHER_SUP)] == ["That ticket is not (or no longer) available to you."]
        assert [m.text for m in await w.expect(SUP)] == ["That parts request does not exist."]
        assert (await requests(w))[0].status is PartsStatus.PENDING

        w.press(SUP, to_sup, "Approve")
        await w.settle()
        assert w.current(SUP, to_sup).text.endswith("Note: Customer line is down, please rush\n"
                                                    "Approved by Wang Wei at 10:30")
        assert w.current(SUP, to_sup).buttons == []
        [told] = await w.expect(ENG)
        assert told.text == (f"Wang Wei approved your parts request for {ticket.number}: 2 × Cooling fan module.\n"
                             "If the work must wait for the parts, pause the ticket with the button below.")
        assert told.buttons == w.shown(["Pause: waiting for parts"])
        [request] = await requests(w)
        assert (request.status, request.decided_by_id, request.decided_at) == (PartsStatus.APPROVED, sup, T0)
        w.press_data(SUP, to_sup.id, f"prr:{request.id}")  # deciding twice
        [twice] = await w.expect(SUP)
        assert twice.text == f"This parts request for {ticket.number} was already approved by Wang Wei at 10:30."

        # One tap pauses the ticket for parts, through the card's own pause handling.
        w.press(ENG, told, "Pause: waiting for parts")
        [paused] = await w.expect(ENG)
        assert "Paused: waiting for parts" in paused.text
        assert paused.buttons == ["Check in", "Parts", "Resume"]
        [sup_told] = await w.expect(SUP)
        assert sup_told.text == f"Li Lei paused ticket {ticket.number}: waiting for parts."
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.pause_reason) == (TicketStatus.PAUSED, "parts")
        # The same button on the earlier confirmation: a paused ticket cannot pause again.
        w.press(ENG, sent, "Pause: waiting for parts")
        [refused] = await w.expect(ENG)
        assert refused.text == "Cannot pause this ticket: it is paused (on-site)."
        assert [e.action for e in await events(w, ticket)].count(Action.PAUSE) == 1

        w.say(SUP, f"/ticket {ticket.number}")
        [view] = await w.expect(SUP)
        assert view.text.endswith(
            "2026-03-02 10:30  Li Lei asked for parts: 2 × Cooling fan module\n"
            "2026-03-02 10:30  Wang Wei approved the parts: 2 × Cooling fan module\n"
            "2026-03-02 10:30  Li Lei paused the work (waiting for parts)")


async def test_reject_with_a_reason_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(ENG2, Role.ENGINEER, "赵敏")
        # Already paused (waiting for the customer): the confirmation offers no pause button.
        ticket = await assigned(w, Action.ACCEPT, Action.DEPART, Action.ARRIVE)
        await move(w, ticket, Action.PAUSE, actor_uid=ENG, pause_reason="customer")

        # Another engineer of the team cannot ask for parts on a ticket that is not theirs.
        w.say(ENG2, f"/parts {ticket.number}")
        w.press_data(ENG2, last_id(w, ENG2), f"prt:{ticket.id}")
        assert [m.text for m in await w.expect(ENG2, 2)] == [f"没有工单 {ticket.number}。",
                                                             "您无权查看该工单（或已不再由您负责）。"]

        w.say(ENG, f"/parts {ticket.number}")
        [ask] = await w.expect(ENG)
        assert ask.text == f"工单 {ticket.number} 申请备件：需要什么备件？请发送备件名称或料号。"
        w.say(ENG, "主板")
        await w.expect(ENG)
        for bad in ("零", "-3", "0"):
            w.say(ENG, bad)
            [again] = await w.expect(ENG)
            assert again.text == f"“{bad}”不是有效数量。请发送 1 到 999 之间的整数。"
        w.say(ENG, "３")  # full-width digits count too
        [note_ask] = await w.expect(ENG)
        assert note_ask.buttons == ["无备注"]
        w.press(ENG, note_ask, "无备注")
        [sent] = await w.expect(ENG)
        assert sent.text == f"备件申请已发送给主管：{ticket.number} 需要 主板 × 3。主管处理后会通知您。"
        assert sent.buttons == []
        [to_sup] = await w.expect(SUP)
        assert to_sup.text == (f"李雷为工单 {ticket.number} 申请备件：\n{ticket.number} · X200 · 1 Harbour Rd\n主板 × 3")
        assert to_sup.buttons == ["批准", "驳回"]

        w.press(SUP, to_sup, "驳回")
        [reason_ask] = await w.expect(SUP)
        assert reason_ask.text == f"为什么驳回 {ticket.number} 的 主板 × 3？请发送原因（或发送 /cancel）。"
        w.send_photo(SUP)
        [again] = await w.expect(SUP)
        assert again.text == "请以文字发送驳回原因（或发送 /cancel）。"
        assert (await requests(w))[0].status is PartsStatus.PENDING
        w.say(SUP, "库存不足，请改用 B 型主板")
        [done] = await w.expect(SUP)
        assert done.text == f"已驳回：{ticket.number} 的 主板 × 3，已通知工程师。"
        assert w.current(SUP, to_sup).text.endswith("王伟已于 10:30 驳回：库存不足，请改用 B 型主板")
        assert w.current(SUP, to_sup).buttons == []
        [told] = await w.expect(ENG)
        assert told.text == (f"王伟驳回了您为工单 {ticket.number} 申请的备件：主板 × 3。\n"
                             "原因：库存不足，请改用 B 型主板")
        assert told.buttons == []
        [request] = await requests(w)
        assert (request.status, request.decided_by_id, request.note) == (PartsStatus.REJECTED, await pid(w, SUP), None)
        last = (await events(w, ticket))[-1]
        assert (last.kind, last.details["reason"], last.details["request_id"]) == \
            ("parts_rejected", "库存不足，请改用 B 型主板", request.id)
        w.press_data(SUP, to_sup.id, f"pra:{request.id}")  # the stale button, after the rejection
        [late] = await w.expect(SUP)
        assert late.text == f"工单 {ticket.number} 的这项备件申请已由王伟于 10:30 驳回。"
        assert (await requests(w))[0].status is PartsStatus.REJECTED

        w.say(ENG, f"/ticket {ticket.number}")
        [view] = await w.expect(ENG)
        assert view.text.endswith(
            "2026-03-02 10:30  李雷申请备件：主板 × 3\n"
            "2026-03-02 10:30  王伟驳回备件：主板 × 3，原因：库存不足，请改用 B 型主板")


async def test_parts_only_while_working_and_cancel_leaves_nothing(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        w.say(ENG, "/parts")
        [none] = await w.expect(ENG)
        assert none.text == "None of your tickets is being worked on right now, so there is nothing to ask parts for."
        accepted = await assigned(w, Action.ACCEPT)
        w.say(ENG, f"/parts {accepted.number}")
        w.press_data(ENG, last_id(w, ENG), f"prt:{accepted.id}")
        assert [m.text for m in await w.expect(ENG, 2)] == [
            f"You can ask for parts on {accepted.number} only while working on it; it is accepted."] * 2
        w.say(SUP, f"/parts {accepted.number}")
        [role] = await w.expect(SUP)
        assert role.text == "You can't do that with your role."

        # A phone ticket is worked from "accepted"; the only one, so /parts picks it by itself.
        phone = await assigned(w, Action.ACCEPT, service=ServiceType.PHONE, phone="+8613800000009")
        w.say(ENG, "/parts")
        [ask] = await w.expect(ENG)
        assert ask.text.startswith(f"Parts for {phone.number}:")
        w.say(ENG, "Power supply")
        await w.expect(ENG)
        w.say(ENG, "/cancel")
        [cancelled] = await w.expect(ENG)
        assert cancelled.text == "Cancelled. Nothing was changed."
        w.say(ENG, "1")
        [lost] = await w.expect(ENG)
        assert lost.text == "I'm not sure what you mean. Send /help to see what you can do."
        assert await requests(w) == []
        assert [e.kind for e in await events(w, phone) if e.kind.startswith("parts")] == []
        await move(w, accepted, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        w.say(ENG, "/parts")
        [pick] = await w.expect(ENG)
        assert pick.text == "Which ticket are the parts for?"
        assert pick.buttons == [accepted.number, phone.number]
