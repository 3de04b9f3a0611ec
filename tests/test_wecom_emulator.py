"""The WeCom emulator (bot.wecom_emulator), driven with plain aiohttp as the adapter will drive it,
and a tiny aiohttp "bot" that checks every callback's signature and decrypts it with the crypto module."""

from __future__ import annotations

import asyncio
import base64
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.wecom.crypto import WeComCrypto, WeComCryptoError
from bot.wecom_emulator import WeComEmulator, run_wecom_emulator


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80\x20\x20")) + chunk(b"IEND", b""))


class FakeBot:
    """The bot's callback endpoint: verifies, decrypts, records; behaviour set per test."""

    def __init__(self, crypto: WeComCrypto) -> None:
        self.crypto = crypto
        self.received: list[str] = []  # plaintexts, every attempt that got through the checks
        self.attempts: list[dict[str, str]] = []
        self.fail_first = 0
        self.sleep_first = 0
        self.sleep = 0.0
        self.reply: Callable[[str], str] | None = None
        self.get_suffix = ""
        self.get_delay = 0.0
        self.refused: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            if request.method == "GET":
                plain = self.crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
                await asyncio.sleep(self.get_delay)
                return web.Response(text=plain + self.get_suffix)
            plain = self.crypto.decrypt_callback(await request.read(), q["msg_signature"], q["timestamp"], q["nonce"])
        except WeComCryptoError as exc:
            self.refused.append(type(exc).__name__)
            return web.Response(status=403)
        self.attempts.append({"nonce": q["nonce"], "plain": plain})
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        if self.sleep_first > 0:
            self.sleep_first -= 1
            await asyncio.sleep(self.sleep)
        self.received.append(plain)
        return web.Response(text=self.reply(plain) if self.reply else "")


class Client:
    """What the adapter does over HTTP: token cache, JSON calls."""

    def __init__(self, session: aiohttp.ClientSession, emu: WeComEmulator) -> None:
        self.session, self.emu = session, emu
        self.settings = emu.settings()
        self.base = self.settings["base_url"] + "/cgi-bin/"
        self.access_token: str | None = None

    async def gettoken(self, secret: str | None = None, corpid: str | None = None) -> dict[str, Any]:
        params = {"corpid": corpid or self.settings["corp_id"], "corpsecret": secret or self.settings["secret"]}
        async with self.session.get(self.base + "gettoken", params=params) as resp:
            assert resp.status == 200
            return await resp.json()

    async def token(self) -> str:
        if self.access_token is None:
            self.access_token = (await self.gettoken())["access_token"]
        return self.access_token

    async def call(self, path: str, body: dict[str, Any] | None = None, method: str = "POST", **query: Any) -> dict:
        params = {"access_token": await self.token(), **{k: str(v) for k, v in query.items()}}
        async with self.session.request(method, self.base + path, params=params, json=body) as resp:
            assert resp.status == 200 and resp.content_type == "application/json"
            return await resp.json()

    async def send(self, msgtype: str, content: dict[str, Any], touser: str = "zhangsan", **extra: Any) -> dict:
        body = {"touser": touser, "msgtype": msgtype, "agentid": self.settings["agent_id"], msgtype: content, **extra}
        return await self.call("message/send", body)

    async def upload(self, data: bytes, kind: str = "image", filename: str = "a.png") -> dict:
        form = aiohttp.FormData()
        form.add_field("media", data, filename=filename, content_type="application/octet-stream")
        params = {"access_token": await self.token(), "type": kind}
        async with self.session.post(self.base + "media/upload", params=params, data=form) as resp:
            return await resp.json()


@pytest.fixture
async def world():
    emu = WeComEmulator(retry_delay=0.01)
    await emu.start()
    bot = FakeBot(WeComCrypto(emu.token, emu.encoding_aes_key, emu.world.corp_id))
    app = web.Application()
    app.router.add_route("*", "/wecom/cb", bot.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    emu.set_callback(f"http://127.0.0.1:{runner.addresses[0][1]}/wecom/cb")
    for uid in ("zhangsan", "lisi"):
        emu.add_member(uid)
    async with aiohttp.ClientSession() as session:
        yield emu, bot, Client(session, emu)
    await runner.cleanup()
    await emu.stop()


def card(task_id: str = "ack-FS2026000123-r7", buttons: int = 2, **extra: Any) -> dict[str, Any]:
    return {"card_type": "button_interaction", "main_title": {"title": "日报待确认 FS-2026-000123"},
            "task_id": task_id, **extra,
            "button_list": [{"text": f"按钮{i}", "style": 1, "key": f"k{i}"} for i in range(buttons)]}


def fields(plain: str) -> dict[str, str]:
    return {child.tag: (child.text or "") for child in ET.fromstring(plain)}


# -- token -----------------------------------------------------------------------------------

async def test_token_lifecycle(world) -> None:
    emu, _, client = world
    wrong = await client.gettoken(secret="nope")
    assert wrong["errcode"] == 40001
    assert wrong["errmsg"].endswith("from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=40001")
    assert (await client.gettoken(corpid="wwother"))["errcode"] == 40013
    first = await client.gettoken()
    assert first["errcode"] == 0 and first["expires_in"] == 7200 and len(first["access_token"]) >= 190
    assert (await client.gettoken())["access_token"] == first["access_token"]  # same while valid
    assert (await client.send("text", {"content": "hi"}))["errcode"] == 0
    emu.invalidate_token()
    assert (await client.send("text", {"content": "hi"}))["errcode"] == 40014
    client.access_token = None
    assert (await client.send("text", {"content": "hi"}))["errcode"] == 0
    emu.expire()
    assert (await client.send("text", {"content": "hi"}))["errcode"] == 42001
    client.access_token = None
    await client.token()
    emu.advance_clock(7201)
    assert (await client.send("text", {"content": "hi"}))["errcode"] == 42001
    async with client.session.post(client.base + "message/send", json={}) as resp:
        assert (await resp.json())["errcode"] == 41001


# -- message/send ----------------------------------------------------------------------------

async def test_send_text_markdown_image_and_targets(world) -> None:
    emu, _, client = world
    ok = await client.send("text", {"content": "工单 FS-2026-000123 已派给你"}, touser="ZhangSan|ghost")
    assert ok["errcode"] == 0 and ok["invaliduser"] == "ghost" and isinstance(ok["msgid"], str)
    assert (await client.send("markdown", {"content": "**急** 现场"}))["errcode"] == 0
    long = await client.send("text", {"content": "长" * 1000})  # 3000 bytes
    uploaded = await client.upload(tiny_png())
    assert uploaded["errcode"] == 0 and isinstance(uploaded["created_at"], str)
    assert (await client.send("image", {"media_id": uploaded["media_id"]}))["errcode"] == 0
    shown = emu.messages_to("zhangsan")
    assert [m["msgtype"] for m in shown] == ["text", "markdown", "text", "image"]
    assert len(shown[2]["text"]["content"].encode()) == 2046  # cut at 2048 bytes, between characters
    assert [v["kind"] for v in emu.violations] == ["text_truncated"] and emu.violations[0]["msgid"] == long["msgid"]
    assert (await client.send("text", {"content": "x"}, touser="ghost"))["errcode"] == 81013
    assert (await client.send("text", {"content": "x"}, touser=""))["errcode"] == 82001
    assert (await client.send("news", {"articles": []}))["errcode"] == 40008
    assert (await client.send("text", {"content": ""}))["errcode"] == 44004
    assert (await client.send("image", {"media_id": "nope"}))["errcode"] == 40007
    no_agent = {"touser": "lisi", "msgtype": "text", "text": {"content": "x"}}
    assert (await client.call("message/send", no_agent))["errcode"] == 41011
    assert (await client.send("text", {"content": "x"}, agentid=1))["errcode"] == 40056
    assert (await client.send("text", {"content": "x"}, touser="@all"))["errcode"] == 0
    assert len(emu.messages_to("lisi")) == 1


async def test_card_rules(world) -> None:
    emu, _, client = world
    sent = await client.send("template_card", card())
    assert sent["errcode"] == 0 and sent["msgid"] and sent["response_code"]
    assert (await client.send("template_card", card()))["errcode"] == 42014  # task_id reused
    assert (await client.send("template_card", card("bad id!")))["errcode"] == 42014
    assert (await client.send("template_card", card("t-7", buttons=7)))["errcode"] == 40058
    dup = card("t-dup")
    dup["button_list"][1]["key"] = "k0"
    assert (await client.send("template_card", dup))["errcode"] == 42039
    assert (await client.send("template_card", {**card("t-type"), "card_type": "nope"}))["errcode"] == 42031
    state = emu.card_state("ack-FS2026000123-r7", "zhangsan")
    assert state["clickable_keys"] == ["k0", "k1"] and not state["disabled"]


async def test_silent_per_member_limits(world) -> None:
    emu, _, client = world
    answers = [await client.send("text", {"content": f"n{i}"}) for i in range(31)]
    assert all(a["errcode"] == 0 for a in answers)  # no error: WeCom drops silently
    assert len(emu.messages_to("zhangsan")) == 30
    [drop] = emu.dropped
    assert drop["reason"] == "per_member_minute_limit" and drop["msgid"] == answers[-1]["msgid"]
    emu.advance_clock(61)
    for i in range(969):  # 30 a minute for the rest of the hour: 999 delivered in all
        if i % 30 == 0:
            emu.advance_clock(60)
        await client.send("text", {"content": f"m{i}"})
    assert len(emu.messages_to("zhangsan")) == 999 and len(emu.dropped) == 1
    emu.advance_clock(60)
    await client.send("text", {"content": "one more"})
    await client.send("text", {"content": "over the hour"})
    assert [d["reason"] for d in emu.dropped] == ["per_member_minute_limit", "per_member_hour_limit"]


# -- cards: click round trip ------------------------------------------------------------------

async def test_card_click_and_update_template_card(world) -> None:
    emu, bot, client = world
    sent = await client.send("template_card", card())
    record = await emu.card_click("zhangsan", "ack-FS2026000123-r7", "k1")
    assert record["delivered"] and len(record["attempts"]) == 1
    event = fields(bot.received[-1])
    assert (event["Event"], event["EventKey"], event["TaskId"], event["CardType"]) == \
        ("template_card_event", "k1", "ack-FS2026000123-r7", "button_interaction")
    assert event["ResponseCode"] == record["response_code"] != sent["response_code"]
    update = {"userids": ["zhangsan"], "agentid": 1000002, "response_code": event["ResponseCode"],
              "button": {"replace_name": "已确认"}}
    assert (await client.call("message/update_template_card", update))["errcode"] == 0
    state = emu.card_state("ack-FS2026000123-r7", "zhangsan")
    assert state["disabled"] and state["clickable_keys"] == []
    assert state["buttons"] == [{"key": None, "text": "已确认", "style": 1, "type": 0, "disabled": True}]
    assert (await client.call("message/update_template_card", update))["errcode"] == 60140  # single use
    with pytest.raises(ValueError):
        await emu.card_click("zhangsan", "ack-FS2026000123-r7", "k0")
    with pytest.raises(LookupError):
        await emu.card_click("lisi", "ack-FS2026000123-r7", "k0")
    # the send-time code, after 72 h
    await client.send("template_card", card("t-2"))
    late = (await client.send("template_card", card("t-3")))["response_code"]
    emu.advance_clock(72 * 3600 + 1)
    client.access_token = None
    assert (await client.call("message/update_template_card", {**update, "response_code": late}))["errcode"] == 60140
    # a full-card update with replace_text greys the buttons
    fresh = (await client.send("template_card", card("t-4")))["response_code"]
    full = {"userids": ["zhangsan"], "agentid": 1000002, "response_code": fresh,
            "template_card": {**card("t-4"), "replace_text": "已提交"}}
    assert (await client.call("message/update_template_card", full))["errcode"] == 0
    assert emu.card_state("t-4", "zhangsan")["replace_name"] == "已提交"


async def test_passive_replies(world) -> None:
    emu, bot, client = world
    await client.send("template_card", card())
    crypto = bot.crypto

    def update_button(plain: str) -> str:
        f = fields(plain)
        return crypto.encrypt_reply(
            f"<xml><ToUserName><![CDATA[{f['FromUserName']}]]></ToUserName><FromUserName><![CDATA[{f['ToUserName']}]]>"
            f"</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[update_button]]></MsgType>"
            f"<Button><ReplaceName><![CDATA[已退回]]></ReplaceName></Button></xml>")

    bot.reply = update_button
    await emu.card_click("zhangsan", "ack-FS2026000123-r7", "k0")
    assert emu.card_state("ack-FS2026000123-r7", "zhangsan")["replace_name"] == "已退回"
    assert emu.violations == []
    bot.reply = lambda plain: "success"
    await emu.user_text("zhangsan", "hi")
    assert emu.violations == []
    bot.reply = lambda plain: crypto.encrypt_reply(
        "<xml><ToUserName><![CDATA[zhangsan]]></ToUserName><FromUserName><![CDATA[ww5823bf96d3bd56c7]]>"
        "</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content></xml>")
    await emu.user_text("zhangsan", "hi")
    assert [v["kind"] for v in emu.violations] == ["passive_reply"]
    assert emu.messages_to("zhangsan")[-1]["text"]["content"] == "收到"
    bot.reply = lambda plain: "OK\n"
    await emu.enter_agent("zhangsan")
    assert emu.violations[-1]["kind"] == "passive_reply_unreadable"


# -- callbacks --------------------------------------------------------------------------------

async def test_device_side_plaintexts(world) -> None:
    emu, bot, client = world
    await emu.user_text("zhangsan", "a ]]> b")
    await emu.user_location("zhangsan", 23.134521, 113.358803, "位置信息")
    await emu.user_location_event("zhangsan", 23.137466, 113.352425, 119.38504)
    await emu.enter_agent("zhangsan")
    photo = await emu.user_image("zhangsan", tiny_png())
    text, loc, report, enter, image = (fields(p) for p in bot.received)
    assert text["Content"] == "a ]]> b" and text["AgentID"] == "1000002" and text["FromUserName"] == "zhangsan"
    assert "<Location_X>23.134521</Location_X>" in bot.received[1] and loc["AppType"] == "wxwork"
    assert report["Event"] == "LOCATION" and report["Precision"] == "119.385040"
    assert enter["Event"] == "enter_agent" and enter["EventKey"] == ""
    assert image["MediaId"] == photo["media_id"]
    async with client.session.get(image["PicUrl"]) as resp:
        assert await resp.read() == tiny_png()
    with pytest.raises(ValueError):
        await emu.user_image("zhangsan", b"GIF89a not a jpg or png")
    assert bot.refused == []


async def test_redelivery_on_errors_and_timeouts(world) -> None:
    emu, bot, _ = world
    bot.fail_first = 2
    record = await emu.user_text("zhangsan", "retry me")
    assert record["delivered"] and [a["status"] for a in record["attempts"]] == [500, 500, 200]
    assert len({a["nonce"] for a in bot.attempts}) == 3 and {a["plain"] for a in bot.attempts} == {record["plaintext"]}
    emu.callback_timeout = 0.2
    bot.sleep_first, bot.sleep = 1, 0.5
    record = await emu.user_text("zhangsan", "slow")
    assert [a["status"] for a in record["attempts"]] == [None, 200] and "0.2s" in record["attempts"][0]["error"]
    bot.fail_first = 10
    record = await emu.user_text("zhangsan", "never")
    assert not record["delivered"] and len(record["attempts"]) == 4 and emu.counters["callbacks_given_up"] == 1


async def test_verify_url(world) -> None:
    emu, bot, _ = world
    result = await emu.verify_url()
    assert result["ok"] and result["elapsed"] < 1 and result["body"] == result["expected"]
    bot.get_suffix = "\n"
    assert not (await emu.verify_url())["ok"]
    bot.get_suffix, bot.get_delay = "", 1.2
    assert not (await emu.verify_url())["ok"]
    assert [v["kind"] for v in emu.violations] == ["verify_url_failed"] * 2


# -- media, menus, recall ---------------------------------------------------------------------

async def test_media_upload_and_get(world) -> None:
    emu, _, client = world
    media_id = (await client.upload(tiny_png()))["media_id"]
    params = {"access_token": await client.token(), "media_id": media_id}
    async with client.session.get(client.base + "media/get", params=params) as resp:
        assert resp.content_type == "image/png" and await resp.read() == tiny_png()
        assert resp.headers["Content-disposition"] == f'attachment; filename="{media_id}.png"'
    async with client.session.get(client.base + "media/get", params=params, headers={"Range": "bytes=0-7"}) as resp:
        assert resp.status == 206 and await resp.read() == tiny_png()[:8]
    emu.advance_clock(3 * 24 * 3600 + 1)
    client.access_token = None
    params["access_token"] = await client.token()
    async with client.session.get(client.base + "media/get", params=params) as resp:
        assert resp.status == 200 and (await resp.json())["errcode"] == 40007
    assert (await client.upload(tiny_png(), kind="sticker"))["errcode"] == 40004
    assert (await client.upload(b"abc"))["errcode"] == 40006
    assert (await client.upload(b"GIF89a-not-allowed"))["errcode"] == 40005
    assert (await client.upload(b"%PDF-1.7 report", kind="file", filename="r.pdf"))["errcode"] == 0


async def test_menus(world) -> None:
    emu, bot, client = world
    menu = {"button": [{"type": "click", "name": "我的工单", "key": "cmd:mytickets"},
                       {"name": "现场", "sub_button": [
                           {"type": "location_select", "name": "到达签到", "key": "cmd:checkin"},
                           {"type": "pic_sysphoto", "name": "拍照", "key": "cmd:photo"}]},
                       {"type": "view", "name": "帮助", "url": "https://fieldbot.example.com/help"}]}
    assert (await client.call("menu/create", menu, agentid=1000002))["errcode"] == 0
    assert (await client.call("menu/get", None, "GET", agentid=1000002))["button"] == menu["button"]
    assert (await client.call("menu/create", {"button": menu["button"] * 2}, agentid=1000002))["errcode"] == 40016
    long_name = {"button": [{"type": "click", "name": "一二三四五六", "key": "k"}]}  # 18 bytes
    assert (await client.call("menu/create", long_name, agentid=1000002))["errcode"] == 40018
    six = {"button": [{"name": "m", "sub_button": [{"type": "click", "name": "s", "key": f"k{i}"} for i in range(6)]}]}
    assert (await client.call("menu/create", six, agentid=1000002))["errcode"] == 40023
    await emu.menu_click("zhangsan", "cmd:mytickets")
    await emu.menu_location_select("zhangsan", "cmd:checkin", 23.0, 113.0, "广州市海珠区", "wo de poi")
    assert fields(bot.received[0])["EventKey"] == "cmd:mytickets"
    assert "<SendLocationInfo><Location_X><![CDATA[23.000000]]>" in bot.received[1]
    with pytest.raises(LookupError):
        await emu.menu_click("zhangsan", "cmd:nope")
    assert (await client.call("menu/delete", None, "GET", agentid=1000002))["errcode"] == 0
    assert (await client.call("menu/get", None, "GET", agentid=1000002))["errcode"] == 46003


async def test_recall(world) -> None:
    emu, _, client = world
    first = await client.send("text", {"content": "oops"})
    assert (await client.call("message/recall", {"msgid": first["msgid"]}))["errcode"] == 0
    assert emu.messages_to("zhangsan") == []
    assert (await client.call("message/recall", {"msgid": first["msgid"]}))["errcode"] == 40058
    later = await client.send("text", {"content": "old"})
    emu.advance_clock(24 * 3600 + 1)
    client.access_token = None
    assert (await client.call("message/recall", {"msgid": later["msgid"]}))["errcode"] == 42052


# -- 微信客服 ----------------------------------------------------------------------------------

async def test_kf_window(world) -> None:
    emu, bot, client = world
    kfid = emu.settings()["open_kfid"]
    link = await client.call("kf/add_contact_way", {"open_kfid": kfid, "scene": "ticket"})
    opened = await emu.customer_open_link(link["url"] + "&scene_param=t%3DFS-2026-000123%26s%3D9f2c")
    ext = opened["external_userid"]
    callback = fields(bot.received[-1])
    assert callback["Event"] == "kf_msg_or_event" and "FromUserName" not in callback and "AgentID" not in callback
    synced = await client.call("kf/sync_msg", {"token": callback["Token"], "open_kfid": kfid})
    [event] = synced["msg_list"]
    assert event["event"]["scene_param"] == "t=FS-2026-000123&s=9f2c" and synced["has_more"] == 0
    msg = {"touser": ext, "open_kfid": kfid, "msgtype": "text", "text": {"content": "进度"}}
    assert (await client.call("kf/send_msg", msg))["errcode"] == 95002  # no customer message yet
    welcome = {"code": event["event"]["welcome_code"], "msgtype": "msgmenu", "msgmenu": {
        "head_content": "FS-2026-000123", "list": [{"type": "click", "click": {"id": "sub:1", "content": "订阅进度"}}]}}
    assert (await client.call("kf/send_msg_on_event", welcome))["errcode"] == 0
    assert (await client.call("kf/send_msg_on_event", welcome))["errcode"] == 42022
    await emu.customer_tap(ext, "sub:1")
    results = [(await client.call("kf/send_msg", msg))["errcode"] for _ in range(6)]
    assert results == [0, 0, 0, 0, 0, 95001]
    await emu.customer_text(ext, "好的")
    assert (await client.call("kf/send_msg", msg))["errcode"] == 0
    emu.advance_clock(48 * 3600 + 1)
    client.access_token = None
    assert (await client.call("kf/send_msg", msg))["errcode"] == 95002
    await emu.customer_text(ext, "还在吗")
    trans = {"open_kfid": kfid, "external_userid": ext, "service_state": 3, "servicer_userid": "lisi"}
    assert (await client.call("kf/service_state/trans", trans))["errcode"] == 0
    assert (await client.call("kf/send_msg", msg))["errcode"] == 95018
    assert (await client.call("kf/service_state/trans", {**trans, "service_state": 1}))["errcode"] == 95016
    assert len(emu.kf_messages_to(ext)) == 7  # the welcome, five pushes, one after the reply
    assert (await client.call("kf/sync_msg", {"token": "ENCforged", "open_kfid": kfid}))["errcode"] == 95007
    page = await client.call("kf/sync_msg", {"open_kfid": kfid, "limit": 2})
    rest = await client.call("kf/sync_msg", {"open_kfid": kfid, "cursor": page["next_cursor"]})
    assert page["has_more"] == 1 and len(page["msg_list"]) == 2 and rest["has_more"] == 0
    assert [m["text"].get("menu_id") for m in rest["msg_list"]] == [None, None]  # 好的, 还在吗 (the tap was #2)
    people = await client.call("kf/customer/batchget", {"external_userid_list": [ext, "wmghost"]})
    assert [c["external_userid"] for c in people["customer_list"]] == [ext]
    assert people["invalid_external_userid"] == ["wmghost"]


# -- switches, OAuth, control API, standalone -------------------------------------------------

async def test_global_switches(world) -> None:
    emu, _, client = world
    await client.token()
    emu.fail_next(2, errcode=45009, path="message/send")
    assert [(await client.send("text", {"content": "x"}))["errcode"] for _ in range(3)] == [45009, 45009, 0]
    emu.fail_next(errcode=-1, when="after")
    assert (await client.send("text", {"content": "delivered anyway"}))["errcode"] == -1
    assert emu.messages_to("zhangsan")[-1]["text"]["content"] == "delivered anyway"
    emu.fail_next(drop=True)
    with pytest.raises(aiohttp.ClientError):
        await client.send("text", {"content": "x"})
    emu.fail_next(delay=0.3)
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.1):
            await client.send("text", {"content": "slow"})
    emu.ip_allowlist(["203.0.113.7"])
    refused = await client.send("text", {"content": "x"})
    assert refused["errcode"] == 60020 and "from ip: 127.0.0.1" in refused["errmsg"]
    assert (await client.gettoken())["errcode"] == 0
    emu.ip_allowlist(None)
    assert (await client.send("text", {"content": "x"}))["errcode"] == 0


async def test_oauth_and_unknown_endpoint(world) -> None:
    emu, _, client = world
    code = emu.oauth_code(userid="ZhangSan")
    assert (await client.call("auth/getuserinfo", None, "GET", code=code))["userid"] == "zhangsan"
    assert (await client.call("auth/getuserinfo", None, "GET", code=code))["errcode"] == 40029
    assert (await client.call("appchat/create", {}))["errcode"] == 48002
    assert emu.violations[-1]["kind"] == "unknown_endpoint"
    assert (await client.call("message/send", None, "GET"))["errcode"] == 40058


async def test_control_api_over_http(world) -> None:
    emu, bot, client = world
    base = emu.base_url + "/_control/"
    async with client.session.get(base + "help") as resp:
        assert "card_click" in (await resp.json())["result"]
    async with client.session.post(base + "user_text", json={"userid": "lisi", "text": "via http"}) as resp:
        assert (await resp.json())["result"]["delivered"]
    photo = {"userid": "lisi", "data_base64": base64.b64encode(tiny_png()).decode()}
    async with client.session.post(base + "user_image", json=photo) as resp:
        assert (await resp.json())["ok"]
    await client.send("text", {"content": "to lisi"}, touser="lisi")
    async with client.session.get(base + "messages_to", params={"userid": "lisi"}) as resp:
        assert (await resp.json())["result"][0]["text"]["content"] == "to lisi"
    async with client.session.post(base + "card_click", json={"userid": "lisi", "task_id": "none", "key": "k"}) as resp:
        assert resp.status == 400
    wait = {"userid": "lisi", "count": 5, "timeout": 0.1}
    async with client.session.post(base + "wait_for_messages", json=wait) as resp:
        assert resp.status == 408
    assert "via http" in bot.received[0]


async def test_run_wecom_emulator_prints_its_settings(capsys) -> None:
    task = asyncio.create_task(run_wecom_emulator("127.0.0.1", 0))
    for _ in range(50):
        await asyncio.sleep(0.02)
        if "listening on" in capsys.readouterr().out:
            break
    else:
        pytest.fail("run_wecom_emulator printed nothing")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_duplicate_check_and_textcard(world) -> None:
    emu, _, client = world
    extra = {"enable_duplicate_check": 1, "duplicate_check_interval": 600}
    first = await client.send("text", {"content": "同样内容"}, **extra)
    again = await client.send("text", {"content": "同样内容"}, **extra)
    assert first["errcode"] == again["errcode"] == 0
    assert len(emu.messages_to("zhangsan")) == 1 and emu.dropped[0]["reason"] == "duplicate_check"
    emu.advance_clock(601)
    client.access_token = None
    assert (await client.send("text", {"content": "同样内容"}, **extra))["errcode"] == 0
    assert len(emu.messages_to("zhangsan")) == 2
    textcard = {"title": "工单", "description": "<div class=\"gray\">2026-11-22</div>", "url": "https://x",
                "btntxt": "查看详情内容"}
    assert (await client.send("textcard", textcard))["errcode"] == 0
    assert emu.messages_to("zhangsan")[-1]["textcard"]["btntxt"] == "查看详情"
    assert emu.violations[-1]["kind"] == "textcard_truncated"
    assert (await client.send("textcard", {"title": "t", "description": "d"}))["errcode"] == 41010


async def test_kf_codes_paging_and_menus(world) -> None:
    emu, _, client = world
    kfid = emu.open_kfid
    url = (await client.call("kf/add_contact_way", {"open_kfid": kfid}))["url"]
    assert (await client.call("kf/add_contact_way", {"open_kfid": "wkghost"}))["errcode"] == 95000
    assert (await client.call("kf/add_contact_way", {"open_kfid": kfid, "scene": "has space"}))["errcode"] == 40058
    opened = await emu.customer_open_link(url, external_userid="wmCustomer1")
    code = opened["event"]["welcome_code"]
    emu.advance_clock(21)
    client.access_token = None
    late = {"code": code, "msgtype": "text", "text": {"content": "hi"}}
    assert (await client.call("kf/send_msg_on_event", late))["errcode"] == 42003
    await emu.customer_text("wmCustomer1", "你好")
    reopened = await emu.customer_open_link(url, external_userid="wmCustomer1")
    assert "welcome_code" not in reopened["event"]  # the customer wrote within 48 h
    too_many = {"touser": "wmCustomer1", "open_kfid": kfid, "msgtype": "msgmenu",
                "msgmenu": {"list": [{"type": "click", "click": {"id": f"r{i}", "content": str(i)}}
                                     for i in range(11)]}}
    assert (await client.call("kf/send_msg", too_many))["errcode"] == 95008
    with pytest.raises(LookupError):
        await emu.customer_tap("wmCustomer1", "r1")  # never sent
    state = await client.call("kf/service_state/get", {"open_kfid": kfid, "external_userid": "wmCustomer1"})
    assert state["service_state"] == 0
    emu.kf_empty_sync_pages(1)
    empty = await client.call("kf/sync_msg", {"open_kfid": kfid})
    assert empty["msg_list"] == [] and empty["has_more"] == 1
    full = await client.call("kf/sync_msg", {"open_kfid": kfid, "cursor": empty["next_cursor"]})
    assert [m["msgtype"] for m in full["msg_list"]] == ["event", "text", "event"] and full["has_more"] == 0
    assert (await client.call("kf/sync_msg", {"open_kfid": kfid, "cursor": "garbage"}))["errcode"] == 40058
