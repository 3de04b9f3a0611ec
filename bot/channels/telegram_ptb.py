"""Telegram on python-telegram-bot 22 (``telegram.runtime = "ptb"``): PTB's ``telegram.Bot`` (httpx)
for every Bot API call; everything else is Telegram's and shared with the aiogram runtime
(:mod:`bot.channels.telegram_protocol`): parsing, the session key, polling that confirms a page
only once it is stored, the webhook that answers 200 only once stored, keyboards as data, the
4096-character cut and error classification.

Only ``telegram.Bot`` is used, not ``telegram.ext.Application``: receiving is Fieldbot's own
(:class:`~bot.channels.telegram_protocol.TelegramRuntime` long-polls or serves the webhook and
hands every raw update to the intake).  That is also how PTB's ``concurrent_updates`` is met:
the intake handles updates concurrently, each session's in arrival order (the core keeps
per-session order across instances), which is what ``concurrent_updates=True`` plus a per-chat
lock would give inside PTB — and it keeps the inbox's guarantee that nothing is confirmed to
Telegram before it is stored, which ``Application`` (confirming a page as soon as it is fetched)
does not give.

``getUpdates`` is asked for plain JSON (:meth:`RawUpdatesBot.get_raw_updates`), so what the inbox
stores is what Telegram sent, and one malformed update is parked instead of failing the page the
way ``Update.de_list`` would.  The bot is never ``initialize()``-d: that would call ``getMe`` and
PTB needs it only for ``Bot.bot``/``Bot.username``, which Fieldbot does not use (the HTTP clients
exist from construction); :meth:`PtbTelegramAdapter.close` shuts them down.
"""

from __future__ import annotations

import asyncio
import warnings
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.telegram_protocol import TelegramRuntime, classify
from handlers.channel import DeliveryError

#: Seconds to wait for an answer beyond the long poll's own ``timeout``.
POLL_GRACE = 15
#: The HTTP status of the last Bot API answer in this task.  PTB raises a plain ``NetworkError``
#: for a 5xx and for an unusual 4xx (413...) alike; the status tells the sender which it was.
_last_status: ContextVar[int | None] = ContextVar("ptb_last_status", default=None)


class _Request(HTTPXRequest):
    """PTB's httpx request that remembers the answer's HTTP status for :meth:`PtbTelegramAdapter._error`."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # noqa: ANN401
        _last_status.set(None)
        status, payload = await super().do_request(*args, **kwargs)
        _last_status.set(status)
        return status, payload


class RawUpdatesBot(Bot):
    """PTB's ``Bot`` with ``getUpdates`` answered as plain JSON objects (stored as received).

    ``Bot._post`` is the hook PTB's own ``ExtBot`` builds on; ``do_api_request("getUpdates")``
    would do the same but warns on every call that ``Bot.get_updates`` exists."""

    async def get_raw_updates(self, offset: int | None, timeout: int, allowed: list[str]) -> list[Any]:
        result = await self._post("getUpdates", {"offset": offset, "timeout": timeout, "allowed_updates": allowed},
                                  read_timeout=timeout + POLL_GRACE)
        return result if isinstance(result, list) else []


def make_requests(timeout: float = 30.0) -> tuple[HTTPXRequest, HTTPXRequest]:
    """PTB's HTTP clients: (for everything, for getUpdates).  ``timeout``: seconds to wait for one
    answer (a long poll waits its own ``timeout`` + :data:`POLL_GRACE`)."""
    limits = {"connect_timeout": min(timeout, 10.0), "read_timeout": timeout, "write_timeout": timeout,
              "pool_timeout": timeout, "media_write_timeout": max(timeout, 20.0)}
    return _Request(connection_pool_size=64, **limits), _Request(connection_pool_size=1, **limits)


def make_bot(token: str, api_base: str = "",
             requests: tuple[HTTPXRequest, HTTPXRequest] | None = None) -> RawUpdatesBot:
    """The real PTB client; ``api_base`` points it at a self-hosted server or the emulator (PTB
    wants the ``…/bot`` and ``…/file/bot`` prefixes and appends the token)."""
    urls: dict[str, str] = {}
    if api_base:
        base = api_base.rstrip("/")
        urls = {"base_url": f"{base}/bot", "base_file_url": f"{base}/file/bot"}
    request, get_updates = requests or make_requests()
    return RawUpdatesBot(token, request=request, get_updates_request=get_updates, **urls)


def _keyboard(keyboard: dict | None) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """PTB's markup objects from the protocol's neutral keyboard (Bot API field names)."""
    if keyboard is None:
        return None
    if "inline_keyboard" in keyboard:
        return InlineKeyboardMarkup([[InlineKeyboardButton(**b) for b in row] for row in keyboard["inline_keyboard"]])
    if "keyboard" in keyboard:
        options = {k: v for k, v in keyboard.items() if k != "keyboard"}
        return ReplyKeyboardMarkup([[KeyboardButton(**b) for b in row] for row in keyboard["keyboard"]], **options)
    return ReplyKeyboardRemove()


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int becomes a timedelta one day
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PtbTelegramAdapter(TelegramRuntime):
    """Telegram through python-telegram-bot's client."""

    def __init__(self, config: Any, media_root: Path | None = None, bot: RawUpdatesBot | None = None, *,  # noqa: ANN401
                 timeout: float = 30.0):
        """``bot``: the caller's client (its ``request`` is shut down on :meth:`close`); otherwise
        one is made that waits ``timeout`` seconds for an answer."""
        super().__init__(config, media_root)
        if bot is None:
            self._requests: tuple[Any, ...] = make_requests(timeout)
            bot = make_bot(config.token.get_secret_value(), config.api_base, self._requests)
        else:
            self._requests = (bot.request,)
        self.bot = bot

    def _error(self, exc: BaseException) -> DeliveryError | None:
        if isinstance(exc, RetryAfter):
            return classify(429, exc.message, _seconds(exc))
        if isinstance(exc, TimedOut):  # before NetworkError, its base
            return classify(None, f"TimedOut: {exc.message}")
        if isinstance(exc, (BadRequest, Forbidden, InvalidToken, ChatMigrated)):  # BadRequest is a NetworkError
            return classify(_last_status.get() or 400, exc.message)
        if isinstance(exc, NetworkError):  # no answer (the httpx error is the cause), a 5xx, an odd 4xx
            status = None if exc.__cause__ is not None else _last_status.get()
            return classify(status, f"{type(exc).__name__}: {exc.message}")
        if isinstance(exc, TelegramError):  # Conflict (409), EndPointNotFound...
            return classify(_last_status.get() or 400, exc.message)
        if isinstance(exc, (httpx.HTTPError, asyncio.TimeoutError, OSError)):
            return classify(None, f"{type(exc).__name__}: {exc}")
        return None

    def _fatal(self, exc: BaseException) -> bool:
        return isinstance(exc, InvalidToken)

    async def _call_get_me(self) -> tuple[int, str]:
        me = await self.bot.get_me()
        return me.id, me.username or ""

    async def _call_get_updates(self, offset: int | None, timeout: int, allowed: list[str]) -> list[Any]:
        return await self.bot.get_raw_updates(offset, timeout, allowed)

    async def _call_send_text(self, chat_id: int, text: str, keyboard: dict | None) -> str:
        sent = await self.bot.send_message(chat_id, text, reply_markup=_keyboard(keyboard))
        return str(sent.message_id)

    async def _call_send_photo(self, chat_id: int, file_id: str | None, path: Path | None) -> str:
        if file_id:
            photo: str | InputFile = file_id
        else:  # read off the event loop (PTB would read a path synchronously)
            photo = InputFile(await asyncio.to_thread(path.read_bytes), filename=path.name)
        sent = await self.bot.send_photo(chat_id, photo=photo)
        return str(sent.message_id)

    async def _call_send_document(self, chat_id: int, path: Path, filename: str, caption: str | None,
                                  keyboard: dict | None) -> str:
        document = InputFile(await asyncio.to_thread(path.read_bytes), filename=filename)
        sent = await self.bot.send_document(chat_id, document=document, caption=caption,
                                            reply_markup=_keyboard(keyboard))
        return str(sent.message_id)

    async def _call_edit_text(self, chat_id: int, message_id: int, text: str, keyboard: dict | None) -> None:
        await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                         reply_markup=_keyboard(keyboard))

    async def _call_set_commands(self, chat_id: int, commands: list[tuple[str, str]]) -> None:
        await self.bot.set_my_commands([BotCommand(c, d) for c, d in commands], scope=BotCommandScopeChat(chat_id))

    async def _call_answer_callback(self, callback_id: str, text: str | None) -> None:
        await self.bot.answer_callback_query(callback_id, text=text)

    async def _call_set_webhook(self, url: str, secret: str | None, allowed: list[str]) -> None:
        await self.bot.set_webhook(url, secret_token=secret, drop_pending_updates=False, allowed_updates=allowed)

    async def _call_delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    async def download(self, file_ref: str) -> bytes:
        file = await self.bot.get_file(file_ref)
        return bytes(await file.download_as_bytearray())

    async def close(self) -> None:
        await self.bot.shutdown()  # closes its clients only after initialize(); ours never was
        for request in self._requests:
            await request.shutdown()
