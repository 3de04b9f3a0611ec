"""Joining, help, language and cancel — end to end through the emulator with the real bot on each
channel; both languages; strangers and bad tokens change nothing.  A customer link opened by
someone it is not for (staff, or the contact of another customer record) is refused and stays
valid for the real customer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.enums import Role
from models.invites import create_invite, hash_token
from models.people import ChannelIdentity, Invite, Person
from models.runtime import InboundEvent
from tests.support.cast import join_customer, pid
from tests.support.tickets import events, get, new_ticket
from tests.support.world import World, world


async def test_stranger_is_told_to_ask_the_supervisor(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        w.say(500, "/start")
        [reply] = await w.expect(500)
        assert reply.text == "I don't know you yet. Ask your supervisor for an invite link."
        w.say(500, "/tickets please")
        w.say(500, "hello")
        replies = await w.expect(500, 2)
        assert all("invite link" in r.text for r in replies)
        w.open_link(500, "not-a-real-token", lang="zh-hans")
        [reply] = await w.expect(500)
        # In the language of the stranger's Telegram app; WeCom does not say it: the bot's.
        assert reply.text == ("此链接无效，请向主管索取新的链接。" if w.driver.client_language
                              else "This link is not valid. Ask your supervisor for a new one.")
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Person)) == 0


async def test_staff_join_by_invite_once(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        token = await w.invite(Role.ENGINEER, "Li Lei")
        w.open_link(200, token, name="Lei", lang="en")
        welcome, help_text = await w.expect(200, 2)
        assert welcome.text == "Welcome, Li Lei! You joined as engineer (North)."
        assert help_text.text.startswith("You are an engineer. Commands:")
        assert "/help — what you can do" in help_text.text
        await w.settle()
        assert w.menu(200) >= {"help", "lang", "cancel"}

        # The same link again, by someone else: refused, nothing changes.
        w.open_link(201, token)
        [reply] = await w.expect(201)
        assert reply.text == "This link has already been used. Ask your supervisor for a new one."
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(ChannelIdentity)) == 1


async def test_language_switch_and_help_per_role(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await w.join(300, Role.SUPERVISOR, "Wang Wei")
        w.say(300, "/lang zh")
        [reply] = await w.expect(300)
        assert reply.text == "语言已设为中文。"
        w.say(300, "/help")
        [reply] = await w.expect(300)
        assert reply.text.startswith("您是主管。可用命令：")
        w.say(300, "/lang fr")
        [reply] = await w.expect(300)
        assert reply.text == "请选择语言：/lang zh 或 /lang en。"
        w.say(300, "/lang en")
        [reply] = await w.expect(300)
        assert reply.text == "Language set to English."


async def test_cancel_unknown_command_and_unexpected_input(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await w.join(400, Role.ENGINEER, "Zhao")
        w.say(400, "/cancel")
        [reply] = await w.expect(400)
        assert reply.text == "Cancelled. Nothing was changed."
        w.say(400, "/frobnicate")
        [reply] = await w.expect(400)
        assert reply.text == "Unknown command /frobnicate. Send /help to see what you can do."
        w.send_photo(400)
        [reply] = await w.expect(400)
        assert reply.text == "I wasn't expecting a photo. To report progress, send /checkin first."
        w.send_location(400, 31.2, 121.5)
        [reply] = await w.expect(400)
        assert reply.text == "I wasn't expecting a location right now."


async def test_each_update_is_recorded_once(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await w.join(600, Role.ENGINEER, "Qian")
        w.say(600, "/help")
        await w.expect(600)
        async with w.app.db.read() as s:
            ids = (await s.scalars(select(InboundEvent.external_id))).all()
        assert len(ids) == len(set(ids)) == 2


# -- customer links opened by someone who has already joined ------------------------------------
CUST, CUST2, STAFF = 700, 701, 702
ZH = "zh-hans"  # what a Chinese Telegram client reports


async def customer_link(w: World, ticket, name: str) -> str:  # noqa: ANN001
    """The ticket's customer link, as /new makes it (the token the deep link carries)."""
    async with w.app.db.write() as s:
        return await create_invite(s, role=Role.CUSTOMER, name=name, now=w.clock.now(), ttl=timedelta(days=1),
                                   customer_id=ticket.customer_id, ticket_id=ticket.id, team_id=ticket.team_id)


async def invite_row(w: World, token: str) -> Invite:
    async with w.app.db.read() as s:
        return await s.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))


async def joined_events(w: World, ticket) -> list[int | None]:  # noqa: ANN001
    """Who joined through the ticket's link, by person id, in order (its timeline)."""
    return [e.actor_id for e in await events(w, ticket) if e.kind == "customer_joined"]


OTHER_CUSTOMER = {"en": "This link is for another customer's ticket; it stays valid for them. "
                        "Your own tickets: /status.",
                  ZH: "此链接属于其他客户的工单，仍为对方保留。查看您自己的工单：/status。"}
WELCOME = {"en": "Hello {name}. You will get updates on ticket {number} here.",
           ZH: "{name}，您好。工单 {number} 的进展将在这里通知您。"}


@pytest.mark.parametrize("lang", ["en", ZH])
async def test_a_customer_cannot_use_up_another_customers_link(tmp_path: Path, channel: str, lang: str) -> None:
    async with world(tmp_path, channel) as w:
        acme = await new_ticket(w)
        beta = await new_ticket(w, customer="Beta Co", phone="+8613800000002", model="Z9")
        assert acme.customer_id != beta.customer_id
        await join_customer(w, CUST, acme, "Mr Lin", lang=lang)
        lin = await pid(w, CUST)
        token = await customer_link(w, beta, "Ms Ma")

        # Acme's contact opens Beta's link (forwarded by mistake): refused, the link is not used.
        w.open_link(CUST, token, lang=lang, customer=True)
        [reply] = await w.expect(CUST)
        assert reply.text == OTHER_CUSTOMER[lang]
        invite = await invite_row(w, token)
        assert (invite.used_at, invite.used_by_id) == (None, None)
        assert await joined_events(w, beta) == []
        person = await get(w, Person, lin)
        assert person.customer_id == acme.customer_id
        w.say(CUST, "/status")
        [status] = await w.expect(CUST)
        assert beta.number not in status.text and acme.number in status.text

        # Beta's own contact then joins with it and follows Beta's ticket.
        w.open_link(CUST2, token, name="Ma", lang=lang, customer=True)
        welcome, _help = await w.expect(CUST2, 2)
        # In the language of Ms Ma's Telegram app; 微信客服 does not say it: the bot's.
        assert welcome.text == WELCOME[lang if w.driver.client_language else "en"].format(name="Ms Ma",
                                                                                          number=beta.number)
        ma = await pid(w, CUST2)
        assert (await get(w, Person, ma)).customer_id == beta.customer_id
        invite = await invite_row(w, token)
        assert invite.used_at is not None and invite.used_by_id == ma
        assert await joined_events(w, beta) == [ma]


@pytest.mark.parametrize("lang", ["en", ZH])
async def test_a_customer_follows_another_ticket_of_the_same_company(tmp_path: Path, channel: str, lang: str) -> None:
    async with world(tmp_path, channel) as w:
        first = await new_ticket(w)
        second = await new_ticket(w, model="Z9", address="2 Harbour Rd")  # same customer record
        assert first.customer_id == second.customer_id and first.id != second.id
        await join_customer(w, CUST, first, "Mr Lin", lang=lang)
        lin = await pid(w, CUST)
        token = await customer_link(w, second, "Mr Lin")

        w.open_link(CUST, token, lang=lang, customer=True)
        welcome, _help = await w.expect(CUST, 2)
        assert welcome.text == WELCOME[lang].format(name="Mr Lin", number=second.number)
        invite = await invite_row(w, token)  # used, by the person it was sent to
        assert invite.used_at is not None and invite.used_by_id == lin
        assert await joined_events(w, second) == [lin]
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Person).where(Person.role == Role.CUSTOMER)) == 1
        w.say(CUST, "/status")
        [status] = await w.expect(CUST)
        assert first.number in status.text and second.number in status.text


ROLE_CONFLICT = {"en": "You are already registered as {role}; this link is for a {invited}.",
                 ZH: "您已注册为{role}，此链接是给{invited}的。"}
ROLES = {"en": {"engineer": "engineer", "dispatcher": "dispatcher", "customer": "customer"},
         ZH: {"engineer": "工程师", "dispatcher": "客服专员", "customer": "客户"}}


# One Telegram account for staff and customer links; on WeCom a member opening the 微信客服 link in
# WeChat is another user to the bot (an external_userid, not their userid), and joins as a customer.
@pytest.mark.telegram
@pytest.mark.parametrize("lang", ["en", ZH])
async def test_staff_opening_a_customer_link_is_refused_and_the_link_kept(tmp_path: Path, channel: str,
                                                                          lang: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(STAFF, Role.ENGINEER, "Li Lei", lang=lang)
        await w.join(STAFF + 1, Role.DISPATCHER, "Chen", lang=lang)
        ticket = await new_ticket(w)
        token = await customer_link(w, ticket, "Mr Lin")
        names = ROLES[lang]
        for uid, role in ((STAFF, "engineer"), (STAFF + 1, "dispatcher")):  # e.g. the dispatcher trying it out
            w.open_link(uid, token, lang=lang, customer=True)
            [reply] = await w.expect(uid)
            assert reply.text == ROLE_CONFLICT[lang].format(role=names[role], invited=names["customer"])
            invite = await invite_row(w, token)
            assert (invite.used_at, invite.used_by_id) == (None, None)
            assert (await get(w, Person, await pid(w, uid))).role.value == role
        assert await joined_events(w, ticket) == []

        # A customer opening a staff invite is refused the same way, and that invite is kept too.
        w.open_link(CUST, token, name="Lin", lang=lang, customer=True)
        welcome, _help = await w.expect(CUST, 2)
        assert welcome.text == WELCOME[lang].format(name="Mr Lin", number=ticket.number)
        staff_token = await w.invite(Role.ENGINEER, "Zhou")
        w.open_link(CUST, staff_token)
        [reply] = await w.expect(CUST)
        assert reply.text == ROLE_CONFLICT[lang].format(role=names["customer"], invited=names["engineer"])
        assert (await invite_row(w, staff_token)).used_at is None
