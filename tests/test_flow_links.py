"""A ticket's customer link issued again from chat, end to end on every channel: **Customer link**
on the ticket page and ``/customer_link NUMBER [NAME]`` for the desk; the contact's earlier link
then says it was replaced and nothing else happens; another person at the customer gets a link of
their own and follows the ticket too (pushes, the service report); the first to confirm rates it.
Wrong roles, other teams' and closed tickets, forged buttons and group chats get one line and
change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.cards import signoff_request
from handlers.notify import notify_customer
from models.enums import Action, Role
from models.invites import hash_token
from models.people import Invite, Person
from models.runtime import OutboxMessage
from models.tickets import Ticket
from models.work import Feedback
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import REPORT, as_person, events, move, new_ticket
from tests.support.world import World, world

SUP, DSP, MGR, ENG, CUST, CUST2, SUP_S = 310, 311, 312, 313, 314, 315, 316
ZH = "zh-hans"  # what a Chinese Telegram client reports
REPLACED = {"en": "This link has been replaced by a newer one. Ask the service desk for the new link.",
            ZH: "此链接已被新链接取代，请联系客服索取新的链接。"}


async def invites(w: World) -> list[Invite]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(Invite).where(Invite.role == Role.CUSTOMER).order_by(Invite.id))).all())


async def customers(w: World) -> int:
    async with w.app.db.read() as s:
        return await s.scalar(select(func.count()).select_from(Person).where(Person.role == Role.CUSTOMER))


async def first_link(w: World, ticket: Ticket) -> str:
    """The link /new (or the import) made for the ticket's contact."""
    return await w.invite(Role.CUSTOMER, "Acme Ltd", team=None, customer_id=ticket.customer_id, ticket_id=ticket.id)


@pytest.mark.parametrize("lang", ["en", ZH])
async def test_a_lost_link_is_issued_again_and_the_old_one_says_it_was_replaced(tmp_path: Path, channel: str,
                                                                                  lang: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        ticket = await new_ticket(w)
        n, old = ticket.number, await first_link(w, ticket)

        w.say(SUP, f"/ticket {n}")
        [page] = await w.expect(SUP)
        assert "Customer link" in page.buttons
        w.press(SUP, page, "Customer link")
        photo, reply = await w.expect(SUP, 2)
        lines = reply.text.splitlines()
        assert lines[0] == (f"Customer link to {n} for Acme Ltd, valid until 2026-04-01 10:30. Send it to them only: "
                            "each link lets one person follow the ticket.")
        token = w.link_token(lines[1])  # the channel's customer link (WeCom: 微信客服's, with the signed invite)
        assert lines[-3:] == ["The earlier link for Acme Ltd no longer works.",
                              "Nobody at the customer follows it in chat yet.",
                              f"For another person at the customer: /customer_link {n} THEIR NAME"]
        assert photo.photo and reply.buttons == []
        await w.settle()  # delivered, the message forgets its secret (only the hash stays)
        async with w.app.db.read() as s:
            payloads = (await s.scalars(select(OutboxMessage.payload)
                                        .where(OutboxMessage.ref == f"custlink:{ticket.id}"))).all()
        assert payloads and all(p.get("forgotten") and token not in str(p) for p in payloads)

        # The old link is refused in the customer's language (微信客服 does not say it: the bot's).
        w.open_link(CUST, old, name="Lin", lang=lang, customer=True)
        [refused] = await w.expect(CUST)
        assert refused.text == REPLACED[lang if w.driver.client_language else "en"]
        assert await customers(w) == 0
        old_row, new_row = await invites(w)
        assert old_row.token_hash == hash_token(old) and old_row.used_at is None and old_row.revoked_at is not None
        assert new_row.token_hash == hash_token(token) and new_row.name == "Acme Ltd"

        # The new one works, once.
        w.open_link(CUST, token, name="Lin", lang=lang, customer=True)
        welcome, _help = await w.expect(CUST, 2)
        assert n in welcome.text
        kinds = [(e.kind, e.actor_id) for e in await events(w, ticket)]
        assert kinds == [("registered", None), ("customer_link_reissued", await pid(w, SUP)),
                         ("customer_joined", await pid(w, CUST))]
        w.say(SUP, f"/ticket {n}")
        [page] = await w.expect(SUP)
        assert "issued a customer link for Acme Ltd again; the earlier one no longer works" in page.text


async def test_another_contact_gets_a_link_of_their_own_and_the_first_to_confirm_rates(tmp_path: Path,
                                                                                    channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "陈静", lang="zh-CN")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")

        w.say(DSP, f"/customer_link {n} Ms  Ma")
        _photo, reply = await w.expect(DSP, 2)
        lines = reply.text.splitlines()
        assert lines[0] == f"工单 {n} 给Ms Ma的客户链接，有效期至 2026-04-01 10:30。请只发给对方本人：每个链接只供一人关注工单。"
        assert lines[-2:] == ["已在聊天中关注：Mr Lin。", f"客户方其他联系人也要关注：/customer_link {n} 联系人姓名"]
        token = w.link_token(lines[1])
        w.say(DSP, f"/customer_link {n} Ms Ma")  # issued again for her: only her earlier link stops working
        _photo, again = await w.expect(DSP, 2)
        assert "Ms Ma原来的链接已失效。" in again.text.splitlines()
        w.open_link(CUST2, token, name="Ma", customer=True)
        [refused] = await w.expect(CUST2)
        assert refused.text == REPLACED["en"]
        w.open_link(CUST2, w.link_token(again.text.splitlines()[1]), name="Ma", customer=True)
        await w.expect(CUST2, 2)  # welcome, help
        lin, ma = await pid(w, CUST), await pid(w, CUST2)
        async with w.app.db.read() as s:
            assert (await s.get(Person, ma)).customer_id == ticket.customer_id

        # Both follow the ticket: each gets the status push and the service report.
        await move(w, ticket, Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG,
                   assignee_id=await pid(w, ENG))
        await move(w, ticket, Action.RESOLVE, actor_uid=ENG, **REPORT)

        async def resolved(ctx, s) -> None:  # noqa: ANN001
            row = await s.get(Ticket, ticket.id)
            await notify_customer(ctx, row, signoff_request(row), purpose="signoff_request")
        await as_person(w, ENG, resolved)
        [report_lin] = await w.expect(CUST)
        [report_ma] = await w.expect(CUST2)
        assert report_lin.text == report_ma.text and report_ma.text.startswith(f"Service report for ticket {n}.")

        # Ms Ma confirms first: she rates; Mr Lin is told, and cannot rate or close it for her.
        w.press(CUST2, report_ma, "Confirm")
        [ask] = await w.expect(CUST2)
        assert ask.buttons == ["1", "2", "3", "4", "5"]
        w.press(CUST, report_lin, "Confirm")
        w.press_data(CUST, last_id(w, CUST), f"rate:{ticket.id}:1")
        w.press_data(CUST, last_id(w, CUST), f"nocmt:{ticket.id}")
        assert [m.text for m in await w.expect(CUST, 3)] == [
            f"{n} is already signed off. Thank you!",
            *[f"Ms Ma has confirmed {n} for your company; the rating is theirs to give. Thank you!"] * 2]
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Feedback)) == 0
        w.press(CUST2, ask, "4")
        [comment_ask] = await w.expect(CUST2)
        w.press(CUST2, comment_ask, "No comment")
        await w.quiet(CUST2)
        async with w.app.db.read() as s:
            feedback = await s.scalar(select(Feedback))
        assert (feedback.person_id, feedback.rating) == (ma, 4) and lin != ma


async def test_who_may_not_and_what_cannot_get_a_link(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(MGR, Role.MANAGER, "Zhou Min", lang="zh-CN")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(SUP_S, Role.SUPERVISOR, "Sun Li", team="South")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")
        before = len(await invites(w))

        w.say(ENG, f"/customer_link {n}")
        w.say(CUST, f"/customer_link {n}")
        w.press_data(ENG, last_id(w, ENG), f"cln:{ticket.id}")
        assert [m.text for m in await w.expect(ENG, 2)] == ["You can't do that with your role."] * 2
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]
        w.say(SUP_S, f"/customer_link {n}")  # another team's ticket: not even its existence
        w.press_data(SUP_S, last_id(w, SUP_S), f"cln:{ticket.id}")
        w.press_data(SUP, last_id(w, SUP), "cln:abc")
        w.say(SUP, "/customer_link")
        w.say(SUP, f"/customer_link {n} {'x' * 121}")
        assert [m.text for m in await w.expect(SUP_S, 2)] == [f"No ticket {n}.",
                                                              "That ticket is not (or no longer) available to you."]
        assert [m.text for m in await w.expect(SUP, 3)] == [
            "That button is out of date.", "Which ticket? Give its number, e.g. FS-2026-000123.",
            "contact is too long (at most 120 characters)."]

        # A cancelled ticket gets no link, and its page no button.
        await move(w, ticket, Action.CANCEL, reason="duplicate")
        w.say(MGR, f"/customer_link {n}")
        w.press_data(SUP, last_id(w, SUP), f"cln:{ticket.id}")
        assert [m.text for m in await w.expect(MGR)] == [f"工单 {n} 已取消，不再生成客户链接。"]
        assert [m.text for m in await w.expect(SUP)] == [f"{n} is cancelled: it gets no more customer links."]
        w.say(MGR, f"/ticket {n}")
        [page] = await w.expect(MGR)
        assert "客户链接" not in page.buttons
        assert len(await invites(w)) == before
        assert [e.kind for e in await events(w, ticket) if e.kind.startswith("customer_link")] == []


@pytest.mark.telegram  # group chats are Telegram's
async def test_a_link_is_never_issued_in_a_group(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, telegram_extra="group_per_minute = 600\n") as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        ticket = await new_ticket(w)
        group = -510
        w.tg.emu.add_chat(group, title="North team", type="supergroup")
        w.say(SUP, f"/customer_link {ticket.number}", chat_id=group)
        await w.settle()
        assert [m.text for m in w.messages(group)] == [
            "That works only in a private chat with me: it can show customer details."]
        assert await invites(w) == []
