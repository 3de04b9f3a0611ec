"""A stage for playing people on WeCom against the real bot: the local WeCom emulator (members in
the company app, customers in WeChat customer service), the bot with its WeCom adapters on a real
database, and helpers to act and to wait — the WeCom counterpart of :class:`bot.stage.Stage`.

The application clock follows the emulator's clock (real time plus whatever the emulator was
advanced by), so a test can jump two days ahead on both sides at once (the 48 h window); or, given
a clock of its own (a test's FixedClock), the emulator follows the bot's.

    async with WecomStage(tmp_path) as s:
        await s.join("wangwei", Role.SUPERVISOR, "Wang Wei")
        await s.say("wangwei", "/help")
        [reply] = await s.expect("wangwei")
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.app import App, Clock, build_app
from bot.channels.wecom.client import WecomClient
from bot.config import parse_config
from bot.runtime import Runtime, build_runtime, close, serve
from bot.stage import ALL_DAY
from bot.wecom_emulator import WeComEmulator
from models.enums import Channel, Role
from models.invites import create_invite, team_by_name
from models.migrate import upgrade


class EmulatorClock(Clock):
    """The WeCom emulator's clock as the bot's: advancing one advances both."""

    def __init__(self, emu: WeComEmulator):
        self.emu = emu

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.emu.world.now(), timezone.utc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _MemoryStore:
    async def get(self, name: str) -> str | None:
        return getattr(self, "_v", {}).get(name)

    async def put(self, name: str, value: str, expires_at: object = None) -> None:
        self.__dict__.setdefault("_v", {})[name] = value


class WecomStage:
    def __init__(self, tmp_path: Path, *, db_url: str | None = None, language: str = "en",
                 extra_config: str = "", clock: Clock | None = None, chat_interval: float | None = None,
                 oauth_url: str = ""):
        """``clock``: the bot's clock, which the emulator then follows (a test's FixedClock); by
        default the bot follows the emulator's clock instead.  ``chat_interval``: the seconds the
        sender keeps between two messages to one chat instead of the adapters' own (0: none, as the
        Telegram stage's ``chat_interval = "0s"``); the per-member windows WeCom enforces stay.
        ``oauth_url``: ``wecom.oauth_url`` (staff invites become OAuth links, PROTOCOL.md §7(b)); its
        host is made the app's trusted domain, served by the bot's listener (as a reverse proxy would)."""
        self.oauth_url = oauth_url
        self.tmp_path = tmp_path
        self.chat_interval = chat_interval
        self.db_url = db_url or f"sqlite+aiosqlite:///{tmp_path / 'wecom.db'}"
        self.language = language
        self.extra_config = extra_config
        self.port = _free_port()
        self.emu = WeComEmulator(callback_url=f"http://127.0.0.1:{self.port}/wecom/callback")
        if clock is not None:
            self.emu.follow_clock(lambda: clock.now().timestamp())
        self.clock: Clock = clock or EmulatorClock(self.emu)
        self.seen: dict[str, int] = {}
        self.rt: Runtime | None = None
        self.app: App
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> WecomStage:
        await self.emu.start()
        s = self.emu.settings()
        kf_link = await self._contact_way(s)
        config = parse_config(
            f'[bot]\nlanguage = "{self.language}"\n[database]\nurl = "{self.db_url}"\n'
            f'[wecom]\nenabled = true\ncorp_id = "{s["corp_id"]}"\nagent_id = {s["agent_id"]}\n'
            f'secret = "{s["secret"]}"\ntoken = "{s["token"]}"\naes_key = "{s["encoding_aes_key"]}"\n'
            f'api_base = "{s["base_url"]}"\ncallback_url = "{s["callback_url"]}"\n'
            f'callback_listen = "127.0.0.1:{self.port}"\nkf_open_kfid = "{s["open_kfid"]}"\nkf_link = "{kf_link}"\n'
            f'oauth_url = "{self.oauth_url}"\n'
            f'[storage]\nmedia_dir = "{self.tmp_path / "media"}"\n' + self.extra_config
            + ("" if "[bot.working_hours]" in self.extra_config else ALL_DAY),
            environ={})
        if self.oauth_url:  # what the admin console's 可信域名 holds, and the proxy in front of the bot
            self.emu.set_trusted_domain(urlsplit(self.oauth_url).netloc, upstream=f"http://127.0.0.1:{self.port}")
        self.app = build_app(config, self.clock)
        await upgrade(self.app.db)
        await self.start_bot()
        return self

    async def _contact_way(self, s: dict[str, Any]) -> str:
        """What an admin does once: a contact-way link of the customer-service account."""
        client = WecomClient(base_url=s["base_url"], corp_id=s["corp_id"], secret=s["secret"],
                             store=_MemoryStore(), token_name="setup")
        try:
            data = await client.call("/cgi-bin/kf/add_contact_way", {"open_kfid": s["open_kfid"], "scene": "ticket"})
        finally:
            await client.close()
        return data["url"]

    async def start_bot(self) -> None:
        self.rt = build_runtime(self.app)
        if self.chat_interval is not None:  # read by the sender when a chat's first message goes
            for adapter in self.rt.adapters.values():
                adapter.pacing = replace(adapter.pacing, chat_interval=self.chat_interval)
        self._task = asyncio.create_task(serve(self.rt))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while loop.time() < deadline:  # wait for the callback server, then the console's URL check
            if self._task.done():
                self._task.result()
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            result = await self.emu.verify_url(timeout=1.0)
            if not result.get("ok"):
                raise RuntimeError(f"the bot failed WeCom's URL check: {result}")
            return
        raise TimeoutError("the bot's WeCom callback server never started")

    async def stop_bot(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await close(self.rt)
            self._task = None

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        await self.app.close()
        await self.emu.stop()

    # -- people -----------------------------------------------------------------------------
    async def invite(self, role: Role, name: str, team: str | None = "North", **kw: Any) -> str:
        now = self.app.clock.now()
        async with self.app.db.write() as session:
            team_row = await team_by_name(session, team, create=True) if team else None
            return await create_invite(session, role=role, name=name, now=now, ttl=timedelta(days=1),
                                       team_id=team_row.id if team_row else None, **kw)

    async def join(self, userid: str, role: Role, name: str, *, team: str | None = "North") -> str:
        self.emu.add_member(userid, name)
        await self.say(userid, f"/start {await self.invite(role, name, team)}")
        await self.settle()
        self.seen[userid] = len(self.messages(userid))
        return userid

    async def join_customer(self, external_userid: str, ticket_id: int, customer_id: int, name: str) -> str:
        token = await self.invite(Role.CUSTOMER, name, None, customer_id=customer_id, ticket_id=ticket_id)
        await self.emu.customer_open_link(self.app.join_link(token, customer=True), external_userid=external_userid)
        await self.settle()
        self.seen[external_userid] = len(self.messages(external_userid))
        return external_userid

    # -- acting -----------------------------------------------------------------------------
    async def say(self, userid: str, text: str) -> None:
        if userid.startswith("wm"):
            await self.emu.customer_text(userid, text)
        else:
            await self.emu.user_text(userid, text)

    async def press(self, userid: str, message: dict, label: str) -> None:
        """Press the button labelled ``label`` (a card button, or a customer's menu item)."""
        if userid.startswith("wm"):
            item = next(i for i in message["msgmenu"]["list"] if i["click"]["content"] == label)
            await self.emu.customer_tap(userid, item["click"]["id"])
            return
        card = message["template_card"]
        button = next(b for b in card["button_list"] if b["text"] == label)
        await self.emu.card_click(userid, card["task_id"], button["key"])

    async def photo(self, userid: str, data: bytes) -> None:
        await self.emu.user_image(userid, data, filename="photo.png")

    async def location(self, userid: str, lat: float, lon: float) -> None:
        await self.emu.user_location(userid, lat, lon, "site")

    # -- observing --------------------------------------------------------------------------
    def messages(self, userid: str) -> list[dict]:
        if userid.startswith("wm"):
            return self.emu.kf_messages_to(userid)
        return self.emu.messages_to(userid)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every stored update is handled and every due message delivered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await asyncio.sleep(0.05)
        kf = self.rt.adapters.get(Channel.WECOM_KF)
        if kf is not None:  # customer-service messages are pulled after the callback's 200
            await asyncio.wait_for(kf.idle.wait(), max(0.1, deadline - loop.time()))
        while self.rt.intake._tasks:  # noqa: SLF001
            if loop.time() > deadline:
                raise TimeoutError("updates still being handled")
            await asyncio.sleep(0.02)
        await self.rt.sender.drain(timeout=max(0.1, deadline - loop.time()))

    async def expect(self, userid: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        start = self.seen.get(userid, 0)
        while len(self.messages(userid)) < start + count:
            if loop.time() > deadline:
                raise TimeoutError(f"{userid} got {len(self.messages(userid)) - start} of {count} messages: "
                                   f"{[text_of(m) for m in self.messages(userid)[start:]]}")
            await asyncio.sleep(0.02)
        self.seen[userid] = start + count
        return self.messages(userid)[start:start + count]

    async def quiet(self, userid: str) -> list[dict]:
        await self.settle()
        start = self.seen.get(userid, 0)
        extra = self.messages(userid)[start:]
        self.seen[userid] = start + len(extra)
        return extra


def text_of(message: dict) -> str:
    """The words a person sees in one WeCom or 微信客服 message."""
    kind = message.get("msgtype")
    if kind == "text":
        return message["text"]["content"]
    if kind == "template_card":
        card = message["template_card"]
        return "\n".join(p for p in ((card.get("main_title") or {}).get("title", ""), card.get("sub_title_text", "")) if p)
    if kind == "msgmenu":
        return message["msgmenu"].get("head_content", "")
    return f"[{kind}]"


def labels(message: dict) -> list[str]:
    if message.get("msgtype") == "template_card":
        return [b["text"] for b in message["template_card"].get("button_list", [])]
    if message.get("msgtype") == "msgmenu":
        return [i["click"]["content"] for i in message["msgmenu"]["list"] if i.get("type") == "click"]
    return []
