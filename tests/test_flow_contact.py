"""``/new`` asks for the contact person (after the customer), end to end on every channel: the name
is stored on the ticket and used where the contact is — the customer's greeting, the engineer's
dispatch card, the ticket page; skipped ("skip", "跳过" or the button), nobody is named: the customer
is greeted without a name and the card shows the phone alone — never the company as the contact.
A known customer's contact on record is one tap; a name over 120 characters is refused.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from models.customers import Customer
from models.enums import Role
from models.people import Invite
from models.tickets import Ticket
from tests.support.cast import CUST, DSP, ENG
from tests.support.tickets import new_ticket
from tests.support.world import Message, World, world


async def say(w: World, uid: int, text: str) -> Message:
    w.say(uid, text)
    [reply] = await w.expect(uid)
    return reply


async def register(w: World, uid: int, customer: str, contact: str, *, phone: str | None = "+86 138 0013 8000",
                   billable: str = "no") -> tuple[Ticket, Message]:
    """``/new`` answered by typing (``phone=None``: a known customer, picked by the search's first
    button); returns the ticket and the confirmation with the customer's link."""
    await say(w, uid, "/new")
    ask = await say(w, uid, customer)
    if phone is None:
        ask = await press(w, uid, ask, ask.buttons[0])
    assert "contact" in ask.text or "联系人" in ask.text, ask.text
    await say(w, uid, contact)
    for answer in (phone, "1 Harbour Rd", "X200", "SN-1", "2025-06-01", "No power", "2", "onsite"):
        if answer is not None:
            await say(w, uid, answer)
    summary = await say(w, uid, billable)
    w.press(uid, summary, summary.buttons[0])  # Confirm / 确认
    _photo, done = await w.expect(uid, 2)
    async with w.app.db.read() as s:
        return await s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1)), done


async def press(w: World, uid: int, message: Message, label: str) -> Message:
    w.press(uid, message, label)
    [reply] = await w.expect(uid)
    return reply


async def dispatch_card(w: World, ticket: Ticket, done: Message) -> Message:
    """Dispatch from the registration's own message to Li Lei; the card he gets."""
    picker = await press(w, DSP, done, done.buttons[0])
    await press(w, DSP, picker, picker.buttons[0])
    [card] = await w.expect(ENG)
    return card


async def test_the_contact_is_greeted_and_shown_to_the_engineer(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket, done = await register(w, DSP, "Chen Precision Ltd", "Ms Zhou")
        assert "Contact: Ms Zhou" in done.text.splitlines()
        assert ticket.contact_name == "Ms Zhou"

        card = await dispatch_card(w, ticket, done)
        assert "Contact: Ms Zhou, +8613800138000" in card.text.splitlines()
        page = await say(w, DSP, f"/ticket {ticket.number}")
        assert "contact: Ms Zhou" in page.text.splitlines()
        w.open_link(CUST, w.link_token(done.text.splitlines()[-1]), name="Zhou", lang="en", customer=True)
        welcome = (await w.expect(CUST))[0]
        assert welcome.text == f"Hello Ms Zhou. You will get updates on ticket {ticket.number} here."


async def test_skipped_contact_greets_without_a_name_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(ENG, Role.ENGINEER, "李雷")
        ticket, done = await register(w, DSP, "陈氏精密有限公司", "跳过", billable="免费")
        assert "联系人：未提供" in done.text.splitlines()
        async with w.app.db.read() as s:
            customer = await s.get(Customer, ticket.customer_id)
            invite = await s.scalar(select(Invite).where(Invite.ticket_id == ticket.id))
        assert (ticket.contact_name, customer.contact_name) == (None, None)
        assert invite.name == "陈氏精密有限公司"  # what staff see of whoever opens the link

        card = await dispatch_card(w, ticket, done)
        assert "联系电话：+8613800138000（未提供联系人姓名）" in card.text.splitlines()
        assert "陈氏精密有限公司" not in card.text
        page = await say(w, DSP, f"/ticket {ticket.number}")
        assert "联系人：未提供" in page.text.splitlines()
        w.open_link(CUST, w.link_token(done.text.splitlines()[-1]), name="Chen", lang="zh-hans", customer=True)
        welcome = (await w.expect(CUST))[0]
        assert welcome.text == f"您好。工单 {ticket.number} 的进展将在这里通知您。"
        await w.quiet(CUST)
        w.say(CUST, "/start")
        back = (await w.expect(CUST))[0]
        assert back.text == "欢迎回来。"


async def test_a_known_customers_contact_is_one_tap_and_a_long_name_is_refused(tmp_path: Path,
                                                                               channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await new_ticket(w, customer="Acme Ltd", phone="+8613800000001")
        first, _ = await register(w, DSP, "Acme Ltd", "Mr Wu", phone=None)  # the contact goes on record
        assert first.contact_name == "Mr Wu"

        await say(w, DSP, "/new")
        matches = await say(w, DSP, "acme")
        ask = await press(w, DSP, matches, "Acme Ltd · +8613800000001")
        assert ask.buttons == ["Mr Wu", "Skip"]
        refused = await say(w, DSP, "W" * 121)
        assert refused.text.startswith("That is too long (at most 120 characters).\nWho is the contact person")
        address_ask = await press(w, DSP, refused, "Mr Wu")
        assert address_ask.text == "Address of the site?"
        async with w.app.db.read() as s:
            customers = (await s.scalars(select(Customer))).all()
        assert [(c.name, c.contact_name) for c in customers] == [("Acme Ltd", "Mr Wu")]
