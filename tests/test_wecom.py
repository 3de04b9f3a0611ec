"""WeCom end to end: the real bot with its WeCom adapters against the local WeCom emulator —
staff in the company app (encrypted callbacks, template cards edited in place with single-use
codes, photos, locations, command words without the slash), customers in WeChat customer service
(a signed link, the welcome code, msgmenu taps, the 48 h window), and the callback's defences
(bad signatures, another corp, replays, malformed bodies, re-deliveries after a slow answer)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.stage import png
from bot.stage_wecom import WecomStage, labels, text_of
from bot.wecom_emulator.crypto import DeviceCrypto, new_key
from models.enums import InboxStatus, OutboxStatus, Role, ServiceType, TicketStatus
from models.invites import team_by_name
from models.registry import Registration, register_ticket
from models.runtime import ChannelState, InboundEvent, OutboxMessage
from models.tickets import Ticket

SUP, ENG, CUST = "wangwei", "lilei", "wmCUSTOMERlin"


async def ticket(s: WecomStage) -> Ticket:
    async with s.app.db.write() as db:
        team = await team_by_name(db, "North", create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address="1 Harbour Rd", model="X200",
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=team.id,
                           contact="Mr Lin")
        return await register_ticket(db, reg, now=s.app.clock.now(), today=s.app.today(),
                                     warranty=timedelta(days=365))


async def last_with(s: WecomStage, who: str, label: str) -> dict:
    await s.settle()
    return next(m for m in reversed(s.messages(who)) if label in labels(m))


async def inbox_count(s: WecomStage) -> int:
    async with s.app.db.read() as db:
        return await db.scalar(select(func.count()).select_from(InboundEvent))


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_the_whole_day_on_wecom(tmp_path: Path, language: str) -> None:
    zh = language == "zh-CN"
    async with WecomStage(tmp_path, language=language) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await s.join(ENG, Role.ENGINEER, "Li Lei")
        t = await ticket(s)
        await s.join_customer(CUST, t.id, t.customer_id, "Mr Lin")
        [welcome] = s.messages(CUST)
        assert text_of(welcome) == (f"Mr Lin，您好。工单 {t.number} 的进展将在这里通知您。" if zh
                                    else f"Hello Mr Lin. You will get updates on ticket {t.number} here.")
        await s.press(CUST, welcome, "收到" if zh else "Got it")  # the tap opens the 48 h window

        await s.say(SUP, f"dispatch {t.number}")  # a command word without the slash
        [picker] = await s.expect(SUP)
        await s.press(SUP, picker, labels(picker)[0])
        [dispatched] = await s.expect(SUP)
        assert t.number in text_of(dispatched) and "Li Lei" in text_of(dispatched)
        [card] = await s.expect(ENG)
        accept = "接单" if zh else "Accept"
        assert labels(card) == ([accept, "拒单"] if zh else [accept, "Decline"])
        await s.press(ENG, card, accept)
        await s.settle()
        # Edited in place with the click's single-use response code: no second Accept.
        state = s.emu.card_state(card["template_card"]["task_id"], ENG)
        assert accept not in [b["text"] for b in state["buttons"]]

        engineer_card = await last_with(s, ENG, "出发" if zh else "On my way")
        await s.press(ENG, engineer_card, "出发" if zh else "On my way")
        await s.say(ENG, "30")
        await s.press(ENG, await last_with(s, ENG, "已到达" if zh else "Arrived"), "已到达" if zh else "Arrived")
        await s.photo(ENG, png(3))
        await s.location(ENG, 31.2, 121.5)
        await s.settle()
        texts = [text_of(m) for m in s.messages(ENG)]
        assert (f"{t.number} 的到场签到已记录，并已发送给主管。" if zh
                else f"Arrival at {t.number} recorded and sent to your supervisor.") in texts
        assert any(m["msgtype"] == "image" for m in s.messages(SUP))  # the arrival photo, forwarded

        ack = await last_with(s, SUP, labels(next(m for m in reversed(s.messages(SUP)) if labels(m)))[0])
        await s.press(SUP, ack, labels(ack)[0])
        await s.settle()
        assert any(t.number in text_of(m) and ("确认" in text_of(m) or "acknowledged" in text_of(m))
                   for m in s.messages(ENG)[-2:])

        customer = [text_of(m) for m in s.messages(CUST)]
        # The welcome (answered with the 20 s welcome code), the commands (waited for the tap that
        # opened the window), accepted, on the way, arrived.
        assert len(customer) == 5 and all(t.number in c for c in customer[2:])
        assert all(labels(m) for m in s.messages(CUST))  # every push carries a tap target
        async with s.app.db.read() as db:
            row = await db.get(Ticket, t.id)
            assert row.status is TicketStatus.ON_SITE and row.arrived_at is not None
            failed = await db.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status == OutboxStatus.FAILED))
        assert failed == 0
        assert s.emu.violations == [] and s.emu.dropped == []


async def test_a_customer_outside_the_window_is_not_written_to(tmp_path: Path) -> None:
    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        t = await ticket(s)
        await s.join_customer(CUST, t.id, t.customer_id, "Mr Lin")
        await s.press(CUST, s.messages(CUST)[0], "Got it")  # the window opens…
        await s.settle()
        seen = len(s.messages(CUST))
        s.emu.advance_clock(49 * 3600)  # …and closes two days later (the bot's clock moves too)
        from handlers.context import push
        from handlers.messages import Msg
        from models.people import ChannelIdentity

        async with s.app.db.write() as db:  # a status push the customer cannot get now
            person = await db.scalar(select(ChannelIdentity.person_id).where(ChannelIdentity.external_user_id == CUST))
            reached = await push(db, s.app, person, Msg("start.welcome_back", {"name": "Mr Lin"}),
                                 purpose="accepted", ticket_id=t.id, dedupe="closed-window", now=s.app.clock.now())
        assert reached is False  # counted as not reachable: the flows record it on the timeline
        await s.settle()
        assert len(s.messages(CUST)) == seen  # nothing sent into an error
        assert not [c for c in s.emu.api_calls() if c.get("errcode") in (95001, 95002)]


async def test_a_long_chinese_text_reaches_a_wechat_customer_whole(tmp_path: Path) -> None:
    """微信客服 takes 2048 bytes of text and 1024 bytes of menu head: a long Chinese text goes in
    whole pieces with the menu after it — nothing cut, nothing refused."""
    from handlers.channel import Button, Outbound
    from models.enums import Channel

    async with WecomStage(tmp_path, language="zh-CN") as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        t = await ticket(s)
        await s.join_customer(CUST, t.id, t.customer_id, "Mr Lin")
        await s.press(CUST, s.messages(CUST)[0], "收到")  # the window opens
        await s.settle()
        seen = len(s.emu.kf_messages_to(CUST))
        text = "\n".join(f"第{n}行：设备已检查，更换了主板上的电源模块，运行正常。" for n in range(60))  # ~4.9 KB
        await s.rt.adapters[Channel.WECOM_KF].send(CUST, Outbound(
            text=text, buttons=[[Button("确认", "ok")]], lang="zh-CN"))
        got = s.emu.kf_messages_to(CUST)[seen:]
        assert [m["msgtype"] for m in got] == ["text", "text", "msgmenu"]
        shown = [m["text"]["content"] for m in got[:-1]] + [got[-1]["msgmenu"]["head_content"]]
        assert "\n".join(shown) == text
        assert all(len(p.encode("utf-8")) <= 2048 for p in shown) and len(shown[-1].encode("utf-8")) <= 1024
        assert s.emu.violations == []


async def test_a_text_too_long_for_a_card_goes_before_it_whole(tmp_path: Path) -> None:
    """A ticket page with a long timeline and buttons: the whole text as text, then the card with
    the buttons (a card's text was cut at 1000 characters, and the newest lines lost)."""
    from handlers.channel import Button, Outbound
    from models.enums import Channel

    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        seen = len(s.messages(SUP))
        text = "Ticket FS-1\n" + "\n".join(f"11-{n:02d} 09:00 check-in: replaced valve {n}" for n in range(80))
        await s.rt.adapters[Channel.WECOM].send(SUP, Outbound(text=text, buttons=[[Button("Edit", "x:1")]]))
        got = s.messages(SUP)[seen:]
        assert [m["msgtype"] for m in got] == ["text", "text", "template_card"]
        assert "\n".join(m["text"]["content"] for m in got[:2]) == text
        assert labels(got[-1]) == ["Edit"] and got[-1]["template_card"]["main_title"]["title"] == "Ticket FS-1"
        short = Outbound(text="Ticket FS-2\nall fine", buttons=[[Button("Edit", "x:2")]])
        await s.rt.adapters[Channel.WECOM].send(SUP, short)
        [card] = s.messages(SUP)[seen + 3:]
        assert card["msgtype"] == "template_card" and text_of(card) == "Ticket FS-2\nall fine"


async def test_the_callback_refuses_forgeries_and_stores_re_deliveries_once(tmp_path: Path) -> None:
    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        url = s.emu.callback_url
        before = await inbox_count(s)
        stamp = str(int(time.time()))
        good = DeviceCrypto(s.emu.token, s.emu.encoding_aes_key, s.emu.world.corp_id)
        other_corp = DeviceCrypto(s.emu.token, s.emu.encoding_aes_key, "wwSomeOtherCorp")
        stranger_key = DeviceCrypto(s.emu.token, new_key(), s.emu.world.corp_id)
        plain = (f"<xml><ToUserName><![CDATA[{s.emu.world.corp_id}]]></ToUserName><FromUserName><![CDATA[{SUP}]]>"
                 f"</FromUserName><CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                 "<Content><![CDATA[/help]]></Content><MsgId>1</MsgId><AgentID>1000002</AgentID></xml>")

        def envelope(crypto: DeviceCrypto, text: str, timestamp: str = stamp, sign_ok: bool = True):
            encrypt = crypto.seal(text)
            signature = crypto.signature(timestamp, "7", encrypt) if sign_ok else "0" * 40
            body = f"<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            return {"msg_signature": signature, "timestamp": timestamp, "nonce": "7"}, body

        async with aiohttp.ClientSession() as http:
            async def post(params: dict, body: str) -> int:
                async with http.post(url, params=params, data=body.encode()) as resp:
                    return resp.status

            assert await post(*envelope(good, plain, sign_ok=False)) == 403  # bad signature
            assert await post(*envelope(other_corp, plain)) == 400  # another corp's message
            assert await post(*envelope(stranger_key, plain)) in (400, 403)  # wrong key
            assert await post(*envelope(good, plain, timestamp=str(int(time.time()) - 3600))) == 400  # a replay
            assert await post(*envelope(good, "<xml><!DOCTYPE x [<!ENTITY y 'z'>]><a>&y;</a></xml>")) == 400
            assert await post({"msg_signature": "x", "timestamp": stamp, "nonce": "7"}, "not xml") in (400, 403)
            assert await inbox_count(s) == before  # nothing stored
            # The real thing, delivered twice (WeCom re-delivers the same plaintext after a timeout).
            assert await post(*envelope(good, plain)) == 200
            assert await post(*envelope(good, plain)) == 200
        await s.settle()
        assert await inbox_count(s) == before + 1
        [answer] = await s.expect(SUP)
        assert text_of(answer).startswith("You are a supervisor.")
        assert s.rt.adapters[next(iter(s.rt.adapters))].refused >= 5


async def test_a_re_delivered_card_click_does_not_revive_its_used_code(tmp_path: Path) -> None:
    """The click's ResponseCode is kept before the click is stored; a re-delivery of that click
    (WeCom's retry, or a replay) must not put back a code the bot has already used to edit the card."""
    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await s.join(ENG, Role.ENGINEER, "Li Lei")
        t = await ticket(s)
        await s.say(SUP, f"dispatch {t.number}")
        [picker] = await s.expect(SUP)
        await s.press(SUP, picker, labels(picker)[0])
        await s.expect(SUP)
        [card] = await s.expect(ENG)
        await s.press(ENG, card, "Accept")
        await s.settle()
        task = card["template_card"]["task_id"]
        assert "Accept" not in [b["text"] for b in s.emu.card_state(task, ENG)["buttons"]]  # the code was used
        name = f"wecom:card:{task}:{ENG}"
        async with s.app.db.read() as db:
            assert await db.scalar(select(ChannelState.value).where(ChannelState.name == name)) is None
        click = next(d for d in reversed(s.emu.deliveries("template_card_event")) if d["userid"] == ENG)
        good = DeviceCrypto(s.emu.token, s.emu.encoding_aes_key, s.emu.world.corp_id)
        stamp, encrypt = str(int(time.time())), good.seal(click["plaintext"])
        body = f"<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        before = await inbox_count(s)
        async with aiohttp.ClientSession() as http, http.post(
                s.emu.callback_url, data=body.encode(),
                params={"msg_signature": good.signature(stamp, "9", encrypt), "timestamp": stamp, "nonce": "9"}) as resp:
            assert resp.status == 200
        await s.settle()
        assert await inbox_count(s) == before  # stored once
        async with s.app.db.read() as db:
            assert await db.scalar(select(ChannelState.value).where(ChannelState.name == name)) is None


async def test_a_slow_answer_is_re_delivered_and_handled_once(tmp_path: Path) -> None:
    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        s.emu.callback_timeout = 0.2  # WeCom gives 5 s; the first answer is made to miss it
        release = asyncio.Event()
        original = s.rt.intake.accept

        async def slow_accept(*args, **kw):  # noqa: ANN002, ANN003, ANN202
            result = await original(*args, **kw)
            if not release.is_set():
                release.set()
                await asyncio.sleep(0.5)  # stored, but the 200 comes too late
            return result

        s.rt.intake.accept = slow_accept  # type: ignore[method-assign]
        record = await s.emu.user_text(SUP, "/help")
        assert len(record["attempts"]) >= 2 and record["delivered"]
        await s.settle()
        assert len(await s.quiet(SUP)) == 1  # handled once
        async with s.app.db.read() as db:
            rows = (await db.scalars(select(InboundEvent.status).order_by(InboundEvent.id.desc()).limit(1))).all()
        assert rows == [InboxStatus.DONE]


async def test_an_expired_token_is_renewed_and_a_wrong_secret_is_explained(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        s.emu.expire()
        await s.say(SUP, "/help")
        [reply] = await s.expect(SUP)
        assert text_of(reply).startswith("You are a supervisor.")
        from bot.channels.wecom.client import WecomClient, WecomConfigError, explain

        class Memory:
            async def get(self, name): return None  # noqa: ANN001, ANN201, E704
            async def put(self, name, value, expires_at=None): return None  # noqa: ANN001, ANN201, E704

        client = WecomClient(base_url=s.emu.base_url, corp_id=s.emu.world.corp_id, secret="wrong",
                             store=Memory(), token_name="x")
        with pytest.raises(WecomConfigError) as caught:
            await client.call("/cgi-bin/menu/get", params={"agentid": 1000002}, method="GET")
        await client.close()
        assert caught.value.errcode == 40001
        assert explain(40001, "").startswith("WeCom refused the secret (40001)")
        assert "60020" in explain(60020, "not allow, from ip: 10.0.0.1, more info")


def test_per_member_pacing_keeps_under_wecoms_silent_limits() -> None:
    from bot.channels.wecom.app import WecomAdapter
    from bot.ratelimit import RecipientWindows

    assert WecomAdapter.pacing.per_recipient == ((25, 60.0), (900, 3600.0))
    now = [0.0]
    windows = RecipientWindows(WecomAdapter.pacing.per_recipient, clock=lambda: now[0])
    sent = 0
    for _ in range(40):  # 40 messages due at once to one member
        if windows.wait_for("lilei") == 0:
            windows._sent.setdefault("lilei", []).append(now[0])  # noqa: SLF001
            sent += 1
    assert sent == 25 and windows.wait_for("lilei") == pytest.approx(60.0)
    assert windows.wait_for("zhaomin") == 0  # per member
    now[0] = 60.0
    assert windows.wait_for("lilei") == 0


def test_scene_links_are_signed() -> None:
    from bot.channels.wecom.kf import sign_scene, verify_scene

    signed = sign_scene("s3cret", "TOKEN123")
    assert verify_scene("s3cret", signed) == "TOKEN123"
    assert verify_scene("s3cret", "TOKEN124." + signed.split(".")[1]) is None
    assert verify_scene("other", signed) is None and verify_scene("s3cret", "") is None
    assert len(signed.encode()) <= 128
    assert hashlib.sha256(base64.b64encode(b"x")).hexdigest()  # (imports used)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_demo_plays_the_day_on_wecom(lang: str, capsys) -> None:  # noqa: ANN001
    from bot.cli import main

    assert main(["demo", "--channel", "wecom", "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert ("Done: the job went" in out) if lang == "en" else ("完成：工单从登记到客户签收并关闭。" in out)
    assert ("WeChat customer service" in out) if lang == "en" else ("微信客服" in out)


async def test_one_person_on_telegram_and_wecom(tmp_path: Path) -> None:
    """/link on one app gives a one-time code; sent from the other app it adds that chat to the
    same person, and pushes go where they were last active."""
    from models.enums import Channel
    from models.invites import create_invite, join
    from models.people import ChannelIdentity, Person

    async with WecomStage(tmp_path) as s:
        await s.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await s.say(SUP, "link")
        [code] = await s.expect(SUP)
        token = text_of(code).split("/start ", 1)[1].split()[0]
        assert "/start" in text_of(code)
        now = s.app.clock.now()
        async with s.app.db.write() as db:  # the same code, sent from Telegram
            person, invite = await join(db, token, channel=Channel.TELEGRAM, external_user_id="777", chat_id="777",
                                        now=now)
            assert person.name == "Wang Wei" and invite.person_id == person.id
            identities = (await db.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == person.id))).all()
            assert {i.channel for i in identities} == {Channel.WECOM, Channel.TELEGRAM}
            assert await db.scalar(select(func.count()).select_from(Person)) == 1
            # A chat that already belongs to someone else cannot be taken over with a code.
            other = await create_invite(db, role=Role.SUPERVISOR, name="Wang Wei", now=now, ttl=timedelta(days=1),
                                        person_id=person.id)
        async with s.app.db.write() as db:
            s.emu.add_member("zhaomin", "Zhao Min")
        await s.join("zhaomin", Role.ENGINEER, "Zhao Min")
        await s.say("zhaomin", f"/start {other}")
        [refused] = await s.expect("zhaomin")
        assert text_of(refused) in ("You are already registered as engineer; this link is for a supervisor.",
                                    "This chat already belongs to someone else in Fieldbot; the code was not used.")


def test_text_is_cut_at_wecoms_byte_limit_and_cards_keep_to_its_rules() -> None:
    from bot.channels.wecom.cards import TEXT_BYTES, card_body, split_bytes
    from handlers.channel import Button, Outbound

    pieces = split_bytes("第一行\n" + "字" * 1000 + "\n" + "x" * 3000)
    assert all(len(p.encode("utf-8")) <= TEXT_BYTES for p in pieces)
    assert "".join(p.replace("\n", "") for p in pieces) == "第一行" + "字" * 1000 + "x" * 3000
    assert split_bytes("") == [""]
    card = card_body(Outbound(text="Short title\nline two", buttons=[[Button("Accept", "acc:1"),
                                                                         Button("Decline", "dec:1")]]), "fb-1")
    assert card["main_title"]["title"] == "Short title" and card["sub_title_text"] == "line two"
    assert [b["text"] for b in card["button_list"]] == ["Accept", "Decline"]
    long = card_body(Outbound(text="Pick", buttons=[[Button("Li Lei · 0 open", "dsp:1:2")],
                                                    [Button("Zhao Min · 2 open", "dsp:1:3")]]), "fb-2")
    assert [b["text"] for b in long["button_list"]] == ["1", "2"]
    assert long["sub_title_text"] == "1. Li Lei · 0 open\n2. Zhao Min · 2 open"
    one = card_body(Outbound(text="x" * 50, buttons=[[Button("Acknowledge", "ack:1")]]), "fb-3")
    assert one["button_list"][0]["text"] == "Acknowled…" and one["main_title"]["title"].endswith("…")
    assert one["sub_title_text"] == "x" * 50  # a cut title: the whole text below it
