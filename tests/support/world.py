"""The end-to-end World: the real bot on a real database behind one channel's emulator, and the
people in it, played with neutral verbs so one scenario runs on every channel.

    async with World(tmp_path, channel) as w:      # channel: "aiogram", "ptb", "wecom" (the conftest fixture)
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        w.say(SUP, "/help")
        [reply] = await w.expect(SUP)              # tests.support.channels.Message
        assert reply.text.startswith("You are a supervisor") and reply.buttons == []

People are ints; each channel's :class:`~tests.support.channels.Driver` maps them to its user ids
and its messages to :class:`~tests.support.channels.Message` (``text``, ``buttons``, ``photo``).
What only Telegram has is at ``w.tg`` (the :class:`~tests.support.telegram.TelegramWorld`: the
emulator, raw Bot API dicts) and keeps a test on the Telegram channels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.app import App, Clock, FixedClock
from bot.runtime import Runtime
from bot.stage import png
from models.enums import Channel, Role
from models.invites import create_invite, team_by_name
from tests.support.channels import CHANNELS, Driver, Message, driver_class

__all__ = ["CHANNELS", "T0", "Message", "World", "png", "world"]

#: 10:30 in Shanghai (the default team time zone) on Monday 2 March 2026, so message times are exact.
T0 = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)


class World:
    def __init__(self, tmp_path: Path, channel: str = "aiogram", *, db_url: str | None = None,
                 language: str = "en", extra_config: str = "", clock: Clock | None = None, **options: Any):
        """``channel``: the driver to run on (:data:`~tests.support.channels.CHANNELS`);
        ``options``: the driver's own settings (Telegram: ``telegram_extra``, ``database_extra``)."""
        self.channel, self.tmp_path, self.language = channel, tmp_path, language
        self.driver: Driver = driver_class(channel)(tmp_path, db_url=db_url, language=language,
                                                    extra_config=extra_config, clock=clock, **options)
        self.clock: Clock = self.driver.clock

    async def __aenter__(self) -> World:
        await self.driver.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.driver.stop(*exc)

    @property
    def app(self) -> App:
        return self.driver.app

    @property
    def rt(self) -> Runtime:
        """The running bot (intake, sender, scheduler), whatever the channel."""
        return self.driver.rt

    @property
    def tg(self) -> Any:  # noqa: ANN401 (a TelegramWorld)
        """The Telegram side (emulator, Bot API dicts, forged callback data): only on Telegram."""
        tg = getattr(self.driver, "tg", None)
        if tg is None:
            raise NotImplementedError(f"Telegram-only: this step needs the Telegram emulator, not {self.channel}")
        return tg

    async def stop_bot(self) -> None:
        await self.driver.stop_bot()

    async def start_bot(self) -> None:
        await self.driver.start_bot()

    # -- people ----------------------------------------------------------------------------------
    def address(self, person: int) -> str:
        """The person's user id on the channel (``ChannelIdentity.external_user_id``)."""
        return self.driver.address(person)

    def chat_channel(self, person: int) -> Channel:
        """The channel the person's chat is on."""
        return self.driver.chat_channel(person)

    def session_key(self, person: int) -> str:
        """The key of the person's dialog in their private chat (``ConversationState``)."""
        return self.driver.session_key(person)

    def link_token(self, link: str) -> str:
        """The invite token in a customer's ticket link as the bot hands it out on this channel."""
        return self.driver.link_token(link)

    def shown(self, labels: list[str]) -> list[str]:
        """Button labels of one message as the channel shows them (WeCom cuts a lone long one)."""
        return self.driver.shown(labels)

    def shows(self, message: Message, label: str) -> bool:
        """Whether ``message`` shows the button ``label`` (perhaps cut, as the channel shows it)."""
        return self.driver.shown_label(message, label) is not None

    async def invite(self, role: Role, name: str, team: str | None = "North", **kw: Any) -> str:
        """An invite token (``kw``: ``customer_id``, ``ticket_id`` for a ticket link)."""
        async with self.app.db.write() as session:
            team_row = await team_by_name(session, team, create=True) if team else None
            return await create_invite(session, role=role, name=name, now=self.clock.now(), ttl=timedelta(days=1),
                                       team_id=team_row.id if team_row else None, **kw)

    async def join(self, person: int, role: Role, name: str, *, team: str | None = "North",
                   lang: str | None = None) -> int:
        """The person joins by an invite; the welcome is marked seen."""
        await self.redeem(person, await self.invite(role, name, team), name=name, lang=lang)
        return person

    async def redeem(self, person: int, token: str, *, name: str, lang: str | None = None,
                     customer: bool = False) -> None:
        """The person opens an invite (``customer``: a ticket link); the answer is marked seen."""
        self.open_link(person, token, name=name, lang=lang or self.language, customer=customer)
        await self.settle()
        if lang and lang != self.language and not self.driver.client_language:
            # The app does not tell the bot its language: the person says so.
            self.say(person, "/lang zh" if lang.lower().startswith("zh") else "/lang en")
            await self.settle()
        self.mark_seen(person)

    def open_link(self, person: int, token: str, *, name: str | None = None, lang: str | None = None,
                  customer: bool = False) -> None:
        """The person opens an invite link (``customer``: a ticket's customer link) carrying
        ``token``, as ``name`` with their app in ``lang`` where the channel tells the bot those."""
        self.driver.open_link(person, token, name=name, lang=lang, customer=customer)

    # -- acting ----------------------------------------------------------------------------------
    def say(self, person: int, text: str, **extra: Any) -> None:
        """The person sends ``text`` (``extra``: the channel's own details, e.g. Telegram's
        ``language_code``)."""
        self.driver.say(person, text, **extra)

    def press(self, person: int, message: Message, label: str, **extra: Any) -> Any:  # noqa: ANN401
        """The person presses the button labelled ``label`` under ``message``."""
        return self.driver.press(person, message, label, **extra)

    def press_data(self, person: int, message: Message | Any, data: str, **extra: Any) -> Any:  # noqa: ANN401
        """A press of a button carrying ``data`` under ``message``, shown or not (stale or forged)."""
        return self.driver.press_data(person, message, data, **extra)

    def send_photo(self, person: int, seed: int = 0, *, caption: str | None = None, sent_at: datetime | None = None,
                   **extra: Any) -> None:
        """The person sends a photo (a small PNG, distinct per ``seed``), with a ``caption``;
        ``sent_at``: the time the phone puts on it (a photo sent late)."""
        self.driver.send_photo(person, png(seed), caption=caption, sent_at=sent_at, **extra)

    def send_location(self, person: int, lat: float, lon: float, **extra: Any) -> None:
        self.driver.send_location(person, lat, lon, **extra)

    # -- observing -------------------------------------------------------------------------------
    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until everything done so far is handled and every due message delivered."""
        await self.driver.settle(timeout)

    async def expect(self, person: int, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """The person's next ``count`` bot messages (waits for them)."""
        start = self.driver.seen.get(person, 0)
        messages = await self.driver.wait_for(person, start + count, timeout)
        self.driver.seen[person] = start + count
        return messages[start:start + count]

    async def quiet(self, person: int) -> list[Message]:
        """Settle, then any bot messages the person got that were not expected yet."""
        await self.settle()
        start = self.driver.seen.get(person, 0)
        extra = self.driver.messages(person)[start:]
        self.driver.seen[person] = start + len(extra)
        return extra

    def mark_seen(self, person: int) -> None:
        """Count everything the person got so far as expected."""
        self.driver.seen[person] = len(self.driver.messages(person))

    def messages(self, person: int) -> list[Message]:
        """Every bot message in the person's chat, oldest first, as it looks now."""
        return self.driver.messages(person)

    def current(self, person: int, message: Message) -> Message:
        """``message`` as it looks now (after edits)."""
        return next(m for m in self.driver.messages(person) if m.id == message.id)

    def photo_bytes(self, message: Message) -> bytes:
        return self.driver.photo_bytes(message)

    async def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
        """Wait until ``predicate()`` is true (checked every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.02)

    def menu(self, person: int) -> set[str]:
        """The commands in the person's chat menu."""
        return self.driver.menu(person)


def world(tmp_path: Path, channel: str = "aiogram", language: str = "en", **kw: Any) -> World:
    """A world whose clock stands still at :data:`T0`."""
    return World(tmp_path, channel, language=language, clock=FixedClock(T0), **kw)
