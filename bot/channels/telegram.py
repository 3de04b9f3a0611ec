"""Telegram on aiogram 3 (the default runtime): aiogram's HTTP client for every Bot API call;
everything else is Telegram's and shared with the python-telegram-bot runtime
(:mod:`bot.channels.telegram_protocol`).

``getUpdates`` is asked for plain JSON objects (:class:`RawGetUpdates`), so what the inbox stores
is what Telegram sent, and one malformed update is parked instead of failing the whole page the
way parsing the page at once would.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.channels.telegram_protocol import TelegramRuntime, classify
from handlers.channel import DeliveryError


class RawGetUpdates(GetUpdates):
    """``getUpdates`` answered as plain JSON objects, one per update (stored as received)."""

    __returning__ = list[dict[str, Any]]


def make_bot(token: str, api_base: str = "") -> Bot:
    """The real aiogram client; ``api_base`` points it at a self-hosted server or the emulator."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token, session=session)


def _keyboard(keyboard: dict | None):  # noqa: ANN202
    if keyboard is None:
        return None
    if "inline_keyboard" in keyboard:
        return InlineKeyboardMarkup.model_validate(keyboard)
    if "keyboard" in keyboard:
        return ReplyKeyboardMarkup.model_validate(keyboard)
    return ReplyKeyboardRemove.model_validate(keyboard)


class TelegramAdapter(TelegramRuntime):
    """Telegram through aiogram's client."""

    def __init__(self, config: Any, media_root: Path | None = None, bot: Bot | None = None):  # noqa: ANN401
        super().__init__(config, media_root)
        self.bot = bot or make_bot(config.token.get_secret_value(), config.api_base)

    def _error(self, exc: BaseException) -> DeliveryError | None:
        if isinstance(exc, TelegramRetryAfter):
            return classify(429, exc.message, exc.retry_after)
        if isinstance(exc, TelegramServerError):
            return classify(500, exc.message)
        if isinstance(exc, TelegramEntityTooLarge):  # a TelegramNetworkError to aiogram, but 413: never fits
            return classify(413, exc.message)
        if isinstance(exc, (TelegramNetworkError, ClientDecodeError, aiohttp.ClientError, asyncio.TimeoutError,
                            OSError)):
            return classify(None, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, TelegramAPIError):
            return classify(400, exc.message)
        return None

    def _fatal(self, exc: BaseException) -> bool:
        return isinstance(exc, TelegramUnauthorizedError)

    async def _call_get_me(self) -> tuple[int, str]:
        me = await self.bot.get_me()
        return me.id, me.username or ""

    async def _call_get_updates(self, offset: int | None, timeout: int, allowed: list[str]) -> list[Any]:
        return await self.bot(RawGetUpdates(offset=offset, timeout=timeout, allowed_updates=allowed),
                              request_timeout=timeout + 15)

    async def _call_send_text(self, chat_id: int, text: str, keyboard: dict | None) -> str:
        sent = await self.bot.send_message(chat_id, text, reply_markup=_keyboard(keyboard))
        return str(sent.message_id)

    async def _call_send_photo(self, chat_id: int, file_id: str | None, path: Path | None) -> str:
        sent = await self.bot.send_photo(chat_id, photo=file_id if file_id else FSInputFile(path))
        return str(sent.message_id)

    async def _call_send_document(self, chat_id: int, path: Path, filename: str, caption: str | None,
                                  keyboard: dict | None) -> str:
        data = await asyncio.to_thread(path.read_bytes)  # off the event loop
        sent = await self.bot.send_document(chat_id, document=BufferedInputFile(data, filename=filename),
                                            caption=caption, reply_markup=_keyboard(keyboard))
        return str(sent.message_id)

    async def _call_edit_text(self, chat_id: int, message_id: int, text: str, keyboard: dict | None) -> None:
        await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
                                         reply_markup=_keyboard(keyboard))

    async def _call_set_commands(self, chat_id: int, commands: list[tuple[str, str]]) -> None:
        await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                       scope=BotCommandScopeChat(chat_id=chat_id))

    async def _call_answer_callback(self, callback_id: str, text: str | None) -> None:
        await self.bot.answer_callback_query(callback_id, text=text)

    async def _call_set_webhook(self, url: str, secret: str | None, allowed: list[str]) -> None:
        await self.bot.set_webhook(url, secret_token=secret, drop_pending_updates=False, allowed_updates=allowed)

    async def _call_delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    async def download(self, file_ref: str) -> bytes:
        file = await self.bot.get_file(file_ref)
        buffer = io.BytesIO()
        await self.bot.download_file(file.file_path, destination=buffer)
        return buffer.getvalue()

    async def close(self) -> None:
        await self.bot.session.close()
