"""WeCom in the tests: the :class:`~tests.support.channels.Driver` through which the neutral World
plays people on WeCom — the real bot with its WeCom adapters (``bot/channels/wecom/``) against the
local WeCom emulator, staged by :class:`bot.stage_wecom.WecomStage` (the demo's stage).

* **Staff** (engineers, supervisors, dispatchers, managers) are members of the company's self-built
  app: person ``n`` is userid ``u<n>``.  They join by sending ``/start TOKEN`` to the app, type text,
  send photos and locations, and press template-card buttons (``button_interaction``: a fresh
  single-use response code per click, so the bot edits the card in place).
* **Customers** are WeChat users in 微信客服: person ``n`` is external_userid ``wm<n>customer``,
  once they opened a ticket link (``customer=True``).  Opening it is an ``enter_session`` event with
  the signed ``scene_param`` (the bot answers with the welcome code); like the demo's customer they
  then tap "Got it" on the welcome, which opens the 48 h / 5-message window the bot writes in.  From
  then on all they do goes through 微信客服: messages, and menu taps for buttons.

A button that is not there to press (a forged press, a stale one on a card already greyed out) is
typed as its command (``/_cfm_12``), as anyone can in WeCom.  What WeCom cannot do is refused with
``NotImplementedError`` naming it, so a scenario that needs it stays on Telegram
(``@pytest.mark.telegram``) or branches on ``w.driver.platform``: a photo's caption, the client's
details (Telegram's ``reply_to``…).  A person's commands (:meth:`menu`) are those their latest help
lists: WeCom has one app menu for everyone, and the bot sends each person their role's list.

Actions are delivered one after another in the order they were made (each is an HTTP callback the
bot answers once it stored the update).  The sender keeps no gap between two messages to one member
(as the Telegram stage's ``chat_interval = "0s"``); WeCom's per-member limits stay.  :meth:`stop`
fails the test on anything the emulator found wrong with what the bot sent (``violations``) or threw
away (``dropped``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.app import App, Clock
from bot.runtime import Runtime
from bot.stage_wecom import WecomStage
from models.enums import Channel
from tests.support.channels import Driver, Message
from tests.support.wecom_view import GOT_IT, customer_view, joined, media_id, member_view

Action = Callable[[], Awaitable[Any]]
#: A line of the help's list of commands (``/tickets — your tickets``).
HELP_LINE = re.compile(r"^/([a-z_]+) — ")


class WecomDriver(Driver):
    name = platform = "wecom"
    client_language = False

    def __init__(self, tmp_path: Path, *, db_url: str | None, language: str, extra_config: str,
                 clock: Clock | None, **options: Any) -> None:
        """``options``: none on WeCom (``telegram_extra`` and ``database_extra`` are Telegram's)."""
        if options:
            raise TypeError(f"the WeCom driver takes no {sorted(options)}")
        self.stage = WecomStage(tmp_path, db_url=db_url, language=language, extra_config=extra_config, clock=clock,
                                chat_interval=0.0)
        self.emu = self.stage.emu
        self.clock = self.stage.clock
        self.seen: dict[int, int] = {}
        self.customers: set[int] = set()
        self._actions: asyncio.Queue[Action] = asyncio.Queue()
        self._failures: list[BaseException] = []
        self._pump: asyncio.Task | None = None

    # -- the bot's life ------------------------------------------------------------------------
    async def start(self) -> None:
        await self.stage.__aenter__()
        self.app: App = self.stage.app
        self._pump = asyncio.create_task(self._run_actions(), name="wecom-driver-actions")

    async def stop(self, *exc: object) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self.stage.__aexit__(*exc)
        if not exc or exc[0] is None:
            assert self.emu.violations == [], f"what WeCom found wrong with what the bot sent: {self.emu.violations}"
            assert self.emu.dropped == [], f"messages WeCom accepted but dropped: {self.emu.dropped}"

    async def stop_bot(self) -> None:
        await self.stage.stop_bot()

    async def start_bot(self) -> None:
        await self.stage.start_bot()

    @property
    def rt(self) -> Runtime:
        return self.stage.rt

    # -- people ----------------------------------------------------------------------------------
    def address(self, person: int) -> str:
        return f"wm{person}customer" if person in self.customers else f"u{person}"

    def chat_channel(self, person: int) -> Channel:
        return Channel.WECOM_KF if person in self.customers else Channel.WECOM

    def session_key(self, person: int) -> str:
        user = self.address(person)
        return f"kf:{user}:{user}" if person in self.customers else f"wc:{user}:{user}"

    def link_token(self, link: str) -> str:
        """The invite in the 微信客服 link's signed ``scene_param`` (what WeChat echoes back)."""
        scene = parse_qs(urlsplit(link).query).get("scene_param", [""])[0]
        token = scene.rpartition(".")[0]
        assert token and self.stage.app.join_link(token, customer=True) == link, f"not a 微信客服 ticket link: {link!r}"
        return token

    def open_link(self, person: int, token: str, *, name: str | None, lang: str | None, customer: bool) -> None:
        if not customer:  # a staff invite is sent to the app (a customer types it in their chat)
            if person not in self.customers:
                self.emu.add_member(self.address(person), name)
            self.say(person, f"/start {token}")
            return
        self.customers.add(person)
        link, user = self.stage.app.join_link(token, customer=True), self.address(person)

        async def open_and_tap() -> None:
            await self.emu.customer_open_link(link, external_userid=user, nickname=name or "客户")
            await self.stage.settle()
            if any(GOT_IT in customer_view(m).data.values() for m in self.emu.kf_messages_to(user)):
                await self.emu.customer_tap(user, GOT_IT)
        self._do(open_and_tap)

    # -- acting ----------------------------------------------------------------------------------
    def say(self, person: int, text: str, **extra: Any) -> None:
        _no_extra(extra)
        user = self.address(person)
        if person in self.customers:
            self._do(lambda: self.emu.customer_text(user, text))
        else:
            self._do(lambda: self.emu.user_text(user, text))

    def press(self, person: int, message: Message, label: str, **extra: Any) -> None:
        """Press the button labelled ``label`` (a label WeCom shows cut, ``Acknowled…``, is found by
        its whole text) — one the message shows now, as on Telegram."""
        _no_extra(extra)
        data = message.button_data(label if label in message.data else self.shown_label(message, label) or label)
        now = self._current(person, message.id)
        if now is None or data not in now.data.values():
            raise LookupError(f"no button {label!r} on that message now; it shows {now.buttons if now else None}")
        self._press(person, now, data)

    def shown(self, labels: list[str]) -> list[str]:
        """WeCom's rule for a card (10 characters a button): one long label is cut with "…"
        (several are numbered, which :mod:`tests.support.wecom_view` reads back)."""
        if len(labels) == 1 and len(labels[0]) > 10:
            return [labels[0][:9] + "…"]
        return list(labels)

    def shown_label(self, message: Message, label: str) -> str | None:
        """``label``, or its cut form (a lone card button over 10 characters: ``Acknowled…``)."""
        if label in message.buttons:
            return label
        return next((cut for cut in message.buttons if cut.endswith("…") and label.startswith(cut[:-1])), None)

    def press_data(self, person: int, message: Message | Any, data: str, **extra: Any) -> None:  # noqa: ANN401
        """Press the button carrying ``data`` under ``message`` if it shows one now (a card button,
        a menu item); if not — a forged or stale press — the person types the button's command
        (``/_cfm_12``), which anyone can type in WeCom and which the bot takes as that press."""
        _no_extra(extra)
        now = self._current(person, message.id if isinstance(message, Message) else message)
        self._press(person, now, data)

    def _current(self, person: int, message_id: Any) -> Message | None:  # noqa: ANN401
        return next((m for m in self.messages(person) if m.id == message_id), None)

    def _press(self, person: int, message: Message | None, data: str) -> None:
        user, kind = self.address(person), message.raw.get("msgtype") if message else None
        if kind == "msgmenu" and data in message.data.values():
            self._do(lambda: self.emu.customer_tap(user, data))
        elif kind == "template_card" and data in self.emu.card_state(message.id, user)["clickable_keys"]:
            self._do(lambda: self.emu.card_click(user, message.id, data))
        elif "_" in data or not data or any(c.isspace() for c in data):
            raise NotImplementedError(f"Telegram-only: button data {data!r} cannot be typed as a command")
        else:
            self.say(person, "/_" + data.replace(":", "_"))

    def send_photo(self, person: int, data: bytes, *, caption: str | None = None, sent_at: datetime | None = None,
                   **extra: Any) -> None:
        _no_extra(extra)
        if caption is not None:
            raise NotImplementedError("Telegram-only: a WeCom or WeChat photo carries no caption")
        user, at = self.address(person), sent_at.timestamp() if sent_at else None
        if person in self.customers:
            if at is not None:
                raise NotImplementedError("a WeChat customer's photo carries the time it reached WeCom")
            self._do(lambda: self.emu.customer_image(user, data, filename="photo.png"))
        else:
            self._do(lambda: self.emu.user_image(user, data, filename="photo.png", create_time=at))

    def send_location(self, person: int, lat: float, lon: float, **extra: Any) -> None:
        _no_extra(extra)
        user = self.address(person)
        if person in self.customers:
            self._do(lambda: self.emu.customer_location(user, lat, lon, "site"))
        else:
            self._do(lambda: self.emu.user_location(user, lat, lon, "site"))

    def _do(self, action: Action) -> None:
        """Deliver ``action`` after every earlier one (each returns once the bot stored it)."""
        self._actions.put_nowait(action)

    async def _run_actions(self) -> None:
        while True:
            action = await self._actions.get()
            try:
                await action()
            except Exception as exc:  # surfaced by the next settle / wait
                self._failures.append(exc)
            finally:
                self._actions.task_done()

    def _raise_failure(self) -> None:
        if self._failures:
            failure, self._failures[:] = self._failures[0], []
            raise failure

    # -- observing -------------------------------------------------------------------------------
    async def settle(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self._actions.join(), timeout)
        except TimeoutError:
            raise TimeoutError(f"WeCom actions still being delivered after {timeout}s") from None
        self._raise_failure()
        await self.stage.settle(max(0.1, deadline - loop.time()))

    def messages(self, person: int) -> list[Message]:
        user = self.address(person)
        if person in self.customers:
            return [customer_view(m) for m in self.emu.kf_messages_to(user)]
        return joined([member_view(self.emu, user, m) for m in self.emu.messages_to(user)])

    async def wait_for(self, person: int, count: int, timeout: float) -> list[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # A message may go out in parts (a long text, then the card with its buttons: joined()):
        # not read while the bot is still sending to this chat.
        while len(shown := self.messages(person)) < count or self._sending_to(person):
            self._raise_failure()
            if loop.time() > deadline:
                raise TimeoutError(f"{self.address(person)} got {len(shown)} of {count} messages: "
                                   f"{[m.text for m in shown[self.seen.get(person, 0):]]}")
            await asyncio.sleep(0.02)
        return shown

    def _sending_to(self, person: int) -> bool:
        return (self.chat_channel(person), self.address(person)) in self.rt.sender._sending

    def photo_bytes(self, message: Message) -> bytes:
        data = self.emu.media_bytes(media_id(message))
        if data is None:
            raise LookupError(f"no media {media_id(message)!r}")
        return data

    def menu(self, person: int) -> set[str]:
        """WeCom has no per-person command menu (one app menu for everyone): the person's commands
        are the list in their latest help (sent on joining, and on ``/help``)."""
        for message in reversed(self.messages(person)):
            listed = {m[1] for line in message.text.split("\n") if (m := HELP_LINE.match(line))}
            if listed:
                return listed
        raise LookupError(f"no list of commands in {self.address(person)}'s chat")


def _no_extra(extra: dict[str, Any]) -> None:
    if extra:
        raise NotImplementedError(f"Telegram-only: the client's details {sorted(extra)} (WeCom sends none)")
