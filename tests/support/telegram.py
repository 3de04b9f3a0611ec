"""Telegram in the tests: :class:`TelegramWorld`, the Bot API emulator with the real bot on either
runtime, Telegram-shaped (Bot API dicts; the emulator's internals at hand) for the tests of
Telegram itself; and the two :class:`~tests.support.channels.Driver` s through which the neutral
World plays people on it — aiogram and python-telegram-bot, the same emulator and flows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import Clock
from bot.runtime import Runtime
from bot.stage import RUNTIMES, TOKEN, Stage, button_data, button_labels, png
from models.enums import Channel
from tests.support.channels import Driver, Message

__all__ = ["RUNTIMES", "TOKEN", "AiogramDriver", "PtbDriver", "TelegramDriver", "TelegramWorld", "button_data",
           "button_labels", "png", "view"]


class TelegramWorld(Stage):
    """:class:`bot.stage.Stage` that also fails the test if the bot sent any request that does not
    match the Bot API spec.  Messages are Bot API dicts.

        async with TelegramWorld(tmp_path, runtime="ptb") as w:
            await w.join(100, Role.SUPERVISOR, "Wang")
            w.say(100, "/help")
            [reply] = await w.expect(100)
    """

    def address(self, uid: int) -> str:
        """The person's user id on the channel (``ChannelIdentity.external_user_id``)."""
        return str(uid)

    def chat_channel(self, uid: int) -> Channel:
        """The channel the person's chat is on (the World's helpers write there)."""
        return Channel.TELEGRAM

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        problems = self.emu.spec_mismatches()
        assert problems == [], f"requests that do not match the Bot API spec: {problems}"


def view(message: dict) -> Message:
    """A Bot API message as the neutral :class:`Message`."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return Message(id=message["message_id"], text=message.get("text") or message.get("caption") or "",
                   buttons=button_labels(message), photo="photo" in message,
                   data={b["text"]: b.get("callback_data", "") for row in rows for b in row}, raw=message)


class TelegramDriver(Driver):
    """Telegram through the Bot API emulator; a person's chat is the private chat with their uid."""

    platform = "telegram"
    runtime: str

    def __init__(self, tmp_path: Path, *, db_url: str | None, language: str, extra_config: str,
                 clock: Clock | None, **options: Any) -> None:
        self.tg = TelegramWorld(tmp_path, db_url=db_url, language=language, extra_config=extra_config, clock=clock,
                                runtime=self.runtime, **options)
        self.clock = self.tg.clock

    async def start(self) -> None:
        await self.tg.__aenter__()
        self.app = self.tg.app

    async def stop(self, *exc: object) -> None:
        await self.tg.__aexit__(*exc)

    async def stop_bot(self) -> None:
        await self.tg.stop_bot()

    async def start_bot(self) -> None:
        await self.tg.start_bot()

    @property
    def seen(self) -> dict[int, int]:
        return self.tg.seen

    @property
    def rt(self) -> Runtime:
        return self.tg.rt

    def address(self, person: int) -> str:
        return str(person)

    def chat_channel(self, person: int) -> Channel:
        return Channel.TELEGRAM

    def session_key(self, person: int) -> str:
        return f"tg:{person}:{person}"

    def link_token(self, link: str) -> str:
        base, _, token = link.partition("?start=")
        assert base.startswith("https://t.me/") and token, f"not a Telegram deep link: {link!r}"
        assert self.app.join_link(token, customer=True) == link, link
        return token

    def open_link(self, person: int, token: str, *, name: str | None, lang: str | None, customer: bool) -> None:
        # a t.me deep link opens the chat with "/start TOKEN", the client's profile attached
        profile = {k: v for k, v in (("first_name", name), ("language_code", lang)) if v}
        self.tg.say(person, f"/start {token}", **profile)

    def say(self, person: int, text: str, **extra: Any) -> None:
        self.tg.say(person, text, **extra)

    def press(self, person: int, message: Message, label: str, **extra: Any) -> str:
        return self.tg.press(person, message.raw, label, **extra)

    def press_data(self, person: int, message: Message | int, data: str, **extra: Any) -> str:
        return self.tg.press_data(person, message.id if isinstance(message, Message) else message, data, **extra)

    def send_photo(self, person: int, data: bytes, *, caption: str | None = None, sent_at: datetime | None = None,
                   **extra: Any) -> None:
        self.tg.injected += 1
        self.tg.emu.send_photo(person, data, caption=caption, date=sent_at, **extra)

    def send_location(self, person: int, lat: float, lon: float, **extra: Any) -> None:
        self.tg.location(person, lat, lon, **extra)

    async def settle(self, timeout: float = 10.0) -> None:
        await self.tg.settle(timeout)

    def messages(self, person: int) -> list[Message]:
        return [view(m) for m in self.tg.emu.bot_messages(person)]

    async def wait_for(self, person: int, count: int, timeout: float) -> list[Message]:
        return [view(m) for m in await self.tg.emu.wait_for_messages(person, count, timeout=timeout)]

    def photo_bytes(self, message: Message) -> bytes:
        return self.tg.emu.file_bytes(message.raw["photo"][-1]["file_id"])

    def menu(self, person: int) -> set[str]:
        """The commands of the last setMyCommands for the person's chat."""
        calls = [c for c in self.tg.emu.api_calls("setMyCommands")
                 if json.loads(c["params"]["scope"]) == {"type": "chat", "chat_id": person}]
        return {c["command"] for c in json.loads(calls[-1]["params"]["commands"])}


class AiogramDriver(TelegramDriver):
    name = runtime = "aiogram"


class PtbDriver(TelegramDriver):
    name = runtime = "ptb"
