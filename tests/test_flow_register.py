"""The ``/new`` registration dialog end to end (emulator + the real bot on each channel + SQLite), in English
and Chinese: every step, each bad answer refused with its reason and nothing stored, ``/cancel``
and **Cancel**, stale and forged buttons, who may not register, picking a known customer, and what
Confirm leaves behind — the ticket row, its SLA clocks, the customer's link as text and as a QR
code PNG sent with sendPhoto (then forgotten: no link in the outbox, no PNG kept), and the
**Dispatch** button.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import segno
from sqlalchemy import func, select

from handlers.register_done import QR_BORDER, QR_ERROR, QR_SCALE
from models.customers import Customer
from models.enums import OutboxStatus, Role, ServiceType, TicketStatus
from models.people import Invite, Team
from models.runtime import ConversationState, OutboxMessage
from models.tickets import Ticket, TicketEvent
from tests.support.cast import join_customer, pid
from tests.support.tickets import new_ticket
from tests.support.world import T0, Message, World, world

SUP, DSP, ENG, CUST, FOREIGN_DSP = 200, 201, 202, 203, 204
LINK_PREFIX = "https://t.me/FieldbotDemoBot?start="


async def say(w: World, uid: int, text: str) -> Message:
    w.say(uid, text)
    [reply] = await w.expect(uid)
    return reply


async def press(w: World, uid: int, message: Message, label: str) -> Message:
    w.press(uid, message, label)
    [reply] = await w.expect(uid)
    return reply


async def counts(w: World) -> tuple[int, int, int]:
    """(tickets, customers, invites for customers): what a registration would add."""
    async with w.app.db.read() as s:
        return (await s.scalar(select(func.count(Ticket.id))),
                await s.scalar(select(func.count(Customer.id))),
                await s.scalar(select(func.count(Invite.id)).where(Invite.role == Role.CUSTOMER)))


async def dialog_step(w: World, uid: int) -> str | None:
    async with w.app.db.read() as s:
        state = await s.get(ConversationState, w.session_key(uid))  # the private chat's dialog
        return state.step if state and state.flow == "register" else None


async def only_ticket(w: World) -> Ticket:
    async with w.app.db.read() as s:
        [ticket] = (await s.scalars(select(Ticket))).all()
        return ticket


async def to_summary(w: World, uid: int, *, customer: str = "Globex", contact: str = "skip",
                     phone: str | None = "+86 138-0013-8000",
                     address: str = "8 River St", model: str = "Z9", serial: str = "SN-1",
                     purchased: str = "2025-06-01", fault: str = "No power", severity: str = "3",
                     service: str = "remote", billable: str = "no") -> Message:
    """Answer every question by typing (a known customer's phone is skipped: ``phone=None``)."""
    await say(w, uid, "/new")
    for answer in (customer, contact, phone, address, model, serial, purchased, fault, severity, service, billable):
        if answer is not None:
            reply = await say(w, uid, answer)
    return reply


async def test_whole_dialog_in_english(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        nothing = await counts(w)

        ask = await say(w, DSP, "/new")
        assert ask.text.startswith("New ticket. Who is the customer?")
        ask = await say(w, DSP, "Acme Ltd")  # nobody known yet: a new customer
        assert ask.text == ("New customer: Acme Ltd.\nWho is the contact person at Acme Ltd? Send their name, or tap "
                            "Skip if you do not know.")
        assert ask.buttons == ["Skip"]
        ask = await say(w, DSP, "Ms Zhou")
        assert ask.text == "Contact phone number for Acme Ltd?"

        bad = await say(w, DSP, "12ab")
        assert bad.text == ("\"12ab\" is not a phone number: use digits, e.g. +86 138 0013 8000.\n"
                            "Contact phone number for Acme Ltd?")
        assert await dialog_step(w, DSP) == "phone" and await counts(w) == nothing
        assert (await say(w, DSP, "+86 138-0013-8000")).text == "Address of the site?"
        assert (await say(w, DSP, "1 Harbour Rd, Shanghai")).text == "Product model?"
        serial_ask = await say(w, DSP, "X200")
        assert serial_ask.text == "Serial number? (Tap No serial if there is none.)"
        assert serial_ask.buttons == ["No serial"]
        date_ask = await say(w, DSP, "SN-0042")
        assert date_ask.buttons == ["Unknown"]

        bad = await say(w, DSP, "2025-13-01")
        assert bad.text.startswith("\"2025-13-01\" is not a date: write it as YYYY-MM-DD")
        bad = await say(w, DSP, "2026-03-03")  # T0 is 2026-03-02 in Shanghai
        assert bad.text.startswith("2026-03-03 is in the future: a purchase date cannot be.")
        assert await dialog_step(w, DSP) == "purchased"
        fault_ask = await say(w, DSP, "2025-06-01")
        assert fault_ask.text == ("Purchased 2025-06-01: in warranty (until 2026-06-01).\n"
                                  "What is the fault? Describe the symptom as the customer tells it.")

        w.send_photo(DSP)
        [bad] = await w.expect(DSP)
        assert bad.text.startswith("Please type the answer as text.\nWhat is the fault?")
        severity_ask = await say(w, DSP, "Display flickers, then goes dark")
        assert severity_ask.buttons == ["1 – system down", "2 – risk of going down",
                                        "3 – partly degraded", "4 – intermittent or indirect"]
        bad = await say(w, DSP, "7")
        assert bad.text == "\"7\" is not a severity: choose 1, 2, 3 or 4.\nHow severe is it?"
        assert await dialog_step(w, DSP) == "severity"
        service_ask = await press(w, DSP, severity_ask, "2 – risk of going down")
        assert service_ask.buttons == ["phone", "remote", "on-site"]
        billable_ask = await press(w, DSP, service_ask, "on-site")
        bad = await say(w, DSP, "maybe")
        assert bad.text.startswith("\"maybe\" is not an answer here")
        summary = await press(w, DSP, billable_ask, "Billable")
        assert summary.text == (
            "Please check the new ticket:\n"
            "Customer: Acme Ltd (new)\nContact: Ms Zhou\nPhone: +8613800138000\nAddress: 1 Harbour Rd, Shanghai\n"
            "Product: X200, serial SN-0042\nPurchased 2025-06-01: in warranty (until 2026-06-01).\n"
            "Fault: Display flickers, then goes dark\nSeverity: 2 – risk of going down\n"
            "Service: on-site\nBillable: yes")
        assert summary.buttons == ["Confirm", "Cancel"]
        assert (await say(w, DSP, "ok")).text.startswith("Please tap Confirm or Cancel below.")
        assert await counts(w) == nothing

        w.press(DSP, summary, "Confirm")
        photo, done = await w.expect(DSP, 2)
        ticket = await only_ticket(w)
        assert done.text.startswith(f"Ticket {ticket.number} registered.\nCustomer: Acme Ltd (new)\n")
        assert "The customer's link (valid until 2026-04-01 10:30)" in done.text
        link = done.text.splitlines()[-1]
        token = w.link_token(link)  # the channel's customer link (WeCom: 微信客服's, the invite signed in it)
        if w.driver.platform == "telegram":
            assert link == LINK_PREFIX + token
        assert done.buttons == ["Dispatch"]
        assert w.current(DSP, summary).text.startswith(f"Confirmed: registered as {ticket.number}.")
        assert w.current(DSP, summary).buttons == []

        # The QR code: a PNG sent with sendPhoto whose modules are exactly those of the link.
        assert [m.photo for m in w.messages(DSP)].count(True) == 1
        png = w.photo_bytes(photo)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        expected = io.BytesIO()
        segno.make(link, error=QR_ERROR, micro=False).save(expected, kind="png", scale=QR_SCALE, border=QR_BORDER)
        assert png == expected.getvalue()
        # Delivered, the message forgets its secret: no link in the outbox, no QR in the media store
        # (only the invite's hash stays in the database).
        await w.settle()
        async with w.app.db.read() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.ref == f"registered:{ticket.id}"))).all()
            payloads = [json.dumps(p) for p in (await s.scalars(select(OutboxMessage.payload))).all()]
        assert [(r.status, r.payload) for r in rows] == [
            (OutboxStatus.SENT, {"text": "", "secret": True, "forgotten": True})]
        assert not any(token in p for p in payloads)
        qr_digest = hashlib.sha256(png).hexdigest()
        assert not [f for f in (tmp_path / "media").rglob("*.png") if f.stem == qr_digest]

        # The ticket row: every registered field, warranty computed, clocks started, team and author.
        async with w.app.db.read() as s:
            north = await s.scalar(select(Team.id).where(Team.name == "North"))
            customer = await s.get(Customer, ticket.customer_id)
            kinds = (await s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id))).all()
            invite = await s.scalar(select(Invite).where(Invite.ticket_id == ticket.id))
        assert (customer.name, customer.phone) == ("Acme Ltd", "+8613800138000")
        assert (ticket.contact_name, ticket.contact_phone, ticket.address) == (
            "Ms Zhou", "+8613800138000", "1 Harbour Rd, Shanghai")
        assert (customer.contact_name, invite.name) == ("Ms Zhou", "Ms Zhou")
        assert (ticket.product_model, ticket.serial, ticket.purchase_date, ticket.in_warranty) == (
            "X200", "SN-0042", date(2025, 6, 1), True)
        assert (ticket.fault_symptom, ticket.severity, ticket.service_type, ticket.billable) == (
            "Display flickers, then goes dark", 2, ServiceType.ONSITE, True)
        assert (ticket.status, ticket.team_id, ticket.created_by_id) == (TicketStatus.NEW, north, await pid(w, DSP))
        assert ticket.respond_due_at is not None and ticket.resolve_due_at is not None
        assert ticket.created_at == T0 and kinds == ["registered"]
        assert (invite.role, invite.customer_id, invite.expires_at) == (Role.CUSTOMER, customer.id, T0 + timedelta(days=30))
        assert await dialog_step(w, DSP) is None

        # Dispatch from the same message, and the link works for the customer.
        picker = await press(w, DSP, done, "Dispatch")
        assert picker.text == f"Dispatch {ticket.number} (X200, 1 Harbour Rd, Shanghai) to which engineer?"
        assert picker.buttons == w.shown(["Li Lei · 0 open"])
        w.open_link(CUST, token, name="Mr Lin", lang="en", customer=True)
        welcome = (await w.expect(CUST))[0]
        assert welcome.text == f"Hello Ms Zhou. You will get updates on ticket {ticket.number} here."


async def test_whole_dialog_in_chinese_with_buttons(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        ask = await say(w, SUP, "/new")
        assert ask.text.startswith("登记新工单。客户是谁？")
        ask = await say(w, SUP, "华东机电")
        assert ask.text == "新客户：华东机电。\n华东机电的联系人是谁？请发送姓名；不清楚请点“跳过”。"
        ask = await press(w, SUP, ask, "跳过")  # the desk does not know: nobody is named
        assert ask.text == "华东机电的联系电话？"
        bad = await say(w, SUP, "没有电话")
        assert bad.text == "“没有电话”不是有效的电话号码，请填写数字，例如 +86 138 0013 8000。\n华东机电的联系电话？"
        await say(w, SUP, "021-5555 0000")
        await say(w, SUP, "上海市浦东新区张江路 1 号")
        serial_ask = await say(w, SUP, "ZX-300")
        date_ask = await press(w, SUP, serial_ask, "无序列号")
        assert date_ask.text.startswith("购买日期（格式 YYYY-MM-DD）？")
        bad = await say(w, SUP, "去年")
        assert bad.text.startswith("“去年”不是日期，请写成 YYYY-MM-DD")
        bad = await say(w, SUP, "2027-01-01")
        assert bad.text.startswith("2027-01-01 是未来的日期，购买日期不能晚于今天。")
        fault_ask = await say(w, SUP, "2024年1月5日")
        assert fault_ask.text.startswith("购买日期 2024-01-05：保外（保修期于 2025-01-04 到期）。\n故障现象是什么？")
        empty = await say(w, SUP, "   ")  # Telegram keeps blank text; the step refuses it
        assert empty.text.startswith("请用文字回答。\n故障现象是什么？")
        severity_ask = await say(w, SUP, "整机无法启动")
        assert severity_ask.buttons == ["1 级 – 系统宕机/服务中断", "2 级 – 有宕机风险",
                                        "3 级 – 部分功能下降", "4 级 – 间歇性或间接影响"]
        service_ask = await press(w, SUP, severity_ask, "1 级 – 系统宕机/服务中断")
        assert service_ask.buttons == ["电话支持", "远程支持", "上门服务"]
        bad = await say(w, SUP, "快递")
        assert bad.text == "“快递”不是有效的服务方式，请选择电话支持、远程支持或上门服务。\n服务方式？"
        billable_ask = await say(w, SUP, "电话支持")
        summary = await press(w, SUP, billable_ask, "免费")
        assert summary.text == (
            "请核对新工单：\n客户：华东机电（新客户）\n联系人：未提供\n电话：02155550000\n地址：上海市浦东新区张江路 1 号\n"
            "产品：ZX-300，序列号 无\n购买日期 2024-01-05：保外（保修期于 2025-01-04 到期）。\n"
            "故障现象：整机无法启动\n故障级别：1 级 – 系统宕机/服务中断\n服务方式：电话支持\n是否收费：免费")
        w.press(SUP, summary, "确认")
        photo, done = await w.expect(SUP, 2)
        ticket = await only_ticket(w)
        assert done.text.startswith(f"工单 {ticket.number} 已登记。\n客户：华东机电（新客户）")
        assert "客户专属链接（有效期至 2026-04-01 10:30）" in done.text
        token = w.link_token(done.text.splitlines()[-1])
        if w.driver.platform == "telegram":
            assert done.text.splitlines()[-1] == LINK_PREFIX + token
        assert photo.photo and done.buttons == ["派单"]
        assert (ticket.serial, ticket.purchase_date, ticket.in_warranty) == (None, date(2024, 1, 5), False)
        assert (ticket.severity, ticket.service_type, ticket.billable) == (1, ServiceType.PHONE, False)
        assert (ticket.contact_name, ticket.contact_phone, ticket.fault_symptom) == (None, "02155550000", "整机无法启动")


async def test_unknown_purchase_date_and_a_known_customer_picked_from_a_search(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        known = await new_ticket(w, customer="Acme Ltd", phone="+8613800000001")
        await new_ticket(w, customer="Acme South", phone="+8613900000002", team="South")  # not visible
        before = await counts(w)

        await say(w, DSP, "/new")
        matches = await say(w, DSP, "acme")
        assert matches.text == ("Known customers matching \"acme\":\n"
                                "Tap the customer, or register a new one.")
        assert matches.buttons == ["Acme Ltd · +8613800000001", "New customer: acme"]
        by_phone = await say(w, DSP, "138 0000 0001")
        assert by_phone.buttons == w.shown(["Acme Ltd · +8613800000001"])  # no name: no "new customer"
        none = await say(w, DSP, "139 0000 0002")  # the South team's customer stays hidden
        assert none.text.startswith("No known customer has the phone number 139 0000 0002.")
        contact_ask = await press(w, DSP, by_phone, "Acme Ltd · +8613800000001")
        assert contact_ask.text.startswith("Customer: Acme Ltd, phone +8613800000001.\nWho is the contact person")
        assert contact_ask.buttons == ["Skip"]  # nobody on record
        assert (await say(w, DSP, "Mr Wu")).text == "Address of the site?"  # the phone is on record
        await say(w, DSP, "1 Harbour Rd")
        await say(w, DSP, "X200")
        await say(w, DSP, "SN-7")
        date_ask = w.messages(DSP)[-1]
        fault_ask = await press(w, DSP, date_ask, "Unknown")
        assert fault_ask.text.startswith("Purchase date unknown: warranty unknown.\nWhat is the fault?")
        await say(w, DSP, "Noise")
        await say(w, DSP, "4")
        await say(w, DSP, "phone")
        summary = await say(w, DSP, "yes")
        assert summary.text.splitlines()[1:3] == ["Customer: Acme Ltd (known)", "Contact: Mr Wu"]
        assert "Purchase date unknown: warranty unknown." in summary.text
        w.press(DSP, summary, "Confirm")
        await w.expect(DSP, 2)
        after = await counts(w)
        assert after == (before[0] + 1, before[1], before[2] + 1)  # no second customer row
        async with w.app.db.read() as s:
            ticket = await s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert (ticket.customer_id, ticket.contact_phone, ticket.in_warranty, ticket.purchase_date) == (
            known.customer_id, "+8613800000001", None, None)
        assert (ticket.severity, ticket.service_type, ticket.billable) == (4, ServiceType.PHONE, True)


@pytest.mark.telegram  # ~45 messages to one dispatcher in seconds: WeCom takes 30 a minute per member (the bot
# keeps to 25), so there the scenario would wait over a minute for its replies
async def test_cancel_and_stale_buttons_store_nothing(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        nothing = await counts(w)
        await say(w, DSP, "/new")
        await say(w, DSP, "Acme Ltd")
        await say(w, DSP, "Skip")
        await say(w, DSP, "+8613800000001")
        too_long = await say(w, DSP, "x" * 401)
        assert too_long.text == "That is too long (at most 400 characters).\nAddress of the site?"
        cancelled = await say(w, DSP, "/cancel")
        assert cancelled.text == "Cancelled. Nothing was changed."
        assert await dialog_step(w, DSP) is None and await counts(w) == nothing
        assert (await say(w, DSP, "1 Harbour Rd")).text.startswith("I'm not sure what you mean.")

        summary = await to_summary(w, DSP)
        assert summary.text.startswith("Please check the new ticket:\nCustomer: Globex (new)")
        dropped = await press(w, DSP, summary, "Cancel")
        assert dropped.text == "Registration cancelled. Nothing was stored."
        assert w.current(DSP, summary).text.startswith("Cancelled: not registered.\nCustomer: Globex")
        assert await counts(w) == nothing

        # The old summary's Confirm, pressed late (its keyboard still on a lagging phone), and a
        # Confirm from an earlier /new while a newer one waits at its summary: both refused.
        confirm = summary.button_data("Confirm")
        w.press_data(DSP, summary.id, confirm)
        [stale] = await w.expect(DSP)
        assert stale.text == "That button belongs to an earlier step or an earlier registration."
        newer = await to_summary(w, DSP, customer="Initech")
        w.press_data(DSP, newer.id, confirm)
        [stale] = await w.expect(DSP)
        assert stale.text == "That button belongs to an earlier step or an earlier registration."
        assert await counts(w) == nothing and await dialog_step(w, DSP) == "confirm"

        # A forged severity on a button is refused like a typed one (/new at the summary asks first).
        question = await say(w, DSP, "/new")
        assert question.buttons == ["Leave and run /new", "Continue the ticket registration"]
        await press(w, DSP, question, "Leave and run /new")
        await say(w, DSP, "Initech")
        await say(w, DSP, "跳过")
        for answer in ("+8613800000009", "2 Main St", "T1", "SN-2", "2025-01-01"):
            await say(w, DSP, answer)
        severity_ask = await say(w, DSP, "Smoke")
        rid = severity_ask.button_data("1 – system down").split(":")[1]
        w.press_data(DSP, severity_ask.id, f"reg:{rid}:v:7")
        [bad] = await w.expect(DSP)
        assert bad.text.startswith("\"7\" is not a severity: choose 1, 2, 3 or 4.\nHow severe is it?")
        w.send_photo(DSP)
        [bad] = await w.expect(DSP)
        assert bad.text == "Please type the answer as text.\nHow severe is it?"
        assert bad.buttons == severity_ask.buttons  # asked again, with its buttons
        assert await dialog_step(w, DSP) == "severity" and await counts(w) == nothing


async def test_engineers_and_customers_cannot_register(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(FOREIGN_DSP, Role.DISPATCHER, "孙琦", team="South")
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "林先生", lang="zh-CN")
        before = await counts(w)
        for uid in (ENG, CUST):
            refused = await say(w, uid, "/new")
            assert refused.text == "您的角色不能执行此操作。"
            assert await dialog_step(w, uid) is None
        # Not even with a button copied from a dispatcher's dialog.
        ask = await to_summary(w, DSP)
        w.press_data(ENG, w.messages(ENG)[-1].id, ask.button_data("确认"))
        [refused] = await w.expect(ENG)
        assert refused.text == "您的角色不能执行此操作。"
        # Another dispatcher's press only reaches their own (absent) dialog.
        w.press_data(FOREIGN_DSP, w.messages(FOREIGN_DSP)[-1].id, ask.button_data("确认"))
        [stale] = await w.expect(FOREIGN_DSP)
        assert stale.text == "此按钮属于之前的步骤或之前的登记，已失效。"
        assert await counts(w) == before and await dialog_step(w, DSP) == "confirm"
        dropped = await press(w, DSP, ask, "取消")
        assert dropped.text == "已取消登记，未保存任何内容。"
        assert w.current(DSP, ask).text.startswith("已取消：未登记。\n客户：Globex（新客户）")
        await say(w, DSP, "/new")
        await say(w, DSP, "Globex")
        assert (await say(w, DSP, "/cancel")).text == "已取消，未做任何更改。"
        assert await counts(w) == before and await dialog_step(w, DSP) is None
        assert "new" not in w.menu(ENG) and "new" in w.menu(DSP)
