"""Telegram on aiogram 3: updates → :class:`Inbound`, :class:`Outbound` → Bot API calls.

One catch-all router feeds the core.  No aiogram magic filters: a synchronous ``F`` filter costs
a thread hop per update, and the core does its own routing anyway.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime, timezone

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.channels.types import DeliveryError, Inbound, Location, Outbound, Photo
from models.enums import Channel

log = logging.getLogger(__name__)


def make_bot(token: str, api_base: str = "") -> Bot:
    """The real aiogram client; ``api_base`` points it at a self-hosted server or the emulator."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token, session=session)


def _split_command(text: str) -> tuple[str | None, str]:
    if not text.startswith("/"):
        return None, ""
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return (name or None), rest.strip()


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def message_to_inbound(message: Message, update_id: int, now: datetime) -> Inbound:
    user = message.from_user
    text = message.text or message.caption
    command, args = _split_command(message.text or "")
    reply_to = None
    if message.reply_to_message is not None and message.reply_to_message.from_user is not None \
            and message.reply_to_message.from_user.is_bot:
        reply_to = str(message.reply_to_message.message_id)
    location = message.location
    return Inbound(
        channel=Channel.TELEGRAM, update_id=str(update_id),
        session_key=f"tg:{message.chat.id}:{user.id if user else 0}",
        user_id=str(user.id if user else 0), chat_id=str(message.chat.id), received_at=now,
        user_name=user.full_name if user else "", language=user.language_code if user else None,
        text=None if command else text, command=command, args=args,
        message_id=str(message.message_id), reply_to=reply_to,
        photos=[Photo(file_ref=message.photo[-1].file_id, unique_id=message.photo[-1].file_unique_id,
                      size=message.photo[-1].file_size)] if message.photo else [],
        location=Location(location.latitude, location.longitude) if location else None,
        client_at=_utc(message.date), private=message.chat.type == "private",
    )


def callback_to_inbound(query: CallbackQuery, update_id: int, now: datetime) -> Inbound:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    return Inbound(
        channel=Channel.TELEGRAM, update_id=str(update_id),
        session_key=f"tg:{chat_id}:{query.from_user.id}", user_id=str(query.from_user.id),
        chat_id=str(chat_id), received_at=now, user_name=query.from_user.full_name,
        language=query.from_user.language_code, callback_data=query.data or "", callback_id=query.id,
        message_id=str(query.message.message_id) if query.message else None,
        private=(query.message.chat.type == "private") if query.message else True,
    )


def build_dispatcher(core, clock) -> Dispatcher:  # noqa: ANN001
    """A dispatcher whose single router hands every message and button press to the core."""
    router = Router(name="fieldbot")

    async def on_message(message: Message, event_update: Update) -> None:
        await core.handle(message_to_inbound(message, event_update.update_id, clock.now()))

    async def on_callback(query: CallbackQuery, event_update: Update) -> None:
        toast = await core.handle(callback_to_inbound(query, event_update.update_id, clock.now()))
        try:
            await query.answer(text=toast or None)
        except Exception:  # the spinner times out by itself; never fail the update for it
            log.warning("answering callback %s failed", query.id, exc_info=True)

    router.message.register(on_message)
    router.callback_query.register(on_callback)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


class TelegramAdapter:
    channel = Channel.TELEGRAM
    supports_buttons = True

    def __init__(self, bot: Bot, media_root=None):  # noqa: ANN001
        self.bot = bot
        self.media_root = media_root

    @staticmethod
    def _markup(message: Outbound):  # noqa: ANN205
        if message.buttons:
            return InlineKeyboardMarkup(inline_keyboard=[
                [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row] for row in message.buttons
            ])
        if message.request_location:
            return ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text=message.request_location, request_location=True)]],
                resize_keyboard=True, one_time_keyboard=True,
            )
        if message.remove_keyboard:
            return ReplyKeyboardRemove()
        return None

    async def deliver(self, chat_id: str, message: Outbound) -> str | None:
        try:
            return await self._deliver(int(chat_id), message)
        except TelegramRetryAfter as exc:
            raise DeliveryError("retry_after", exc.message, float(exc.retry_after)) from None
        except (TelegramForbiddenError, TelegramNotFound, TelegramUnauthorizedError) as exc:
            raise DeliveryError("permanent", exc.message) from None
        except TelegramBadRequest as exc:
            raise DeliveryError("permanent", exc.message) from None
        except (TelegramServerError, TelegramNetworkError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise DeliveryError("transient", f"{type(exc).__name__}: {exc}") from None

    async def _deliver(self, chat_id: int, message: Outbound) -> str | None:
        if message.kind == "commands":
            await self.bot.set_my_commands(
                [BotCommand(command=c, description=d[:256]) for c, d in message.commands],
                scope=BotCommandScopeChat(chat_id=chat_id),
            )
            return None
        if message.edit_message_id:
            markup = self._markup(message)
            try:
                await self.bot.edit_message_text(
                    text=_fit(message.text), chat_id=chat_id, message_id=int(message.edit_message_id),
                    reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                )
            except TelegramBadRequest as exc:
                if "message is not modified" not in exc.message:
                    raise
            return message.edit_message_id
        for photo in message.photos:
            if photo.get("channel") == Channel.TELEGRAM.value and photo.get("file_ref"):
                await self.bot.send_photo(chat_id, photo=photo["file_ref"])
            elif photo.get("path") and self.media_root is not None:
                await self.bot.send_photo(chat_id, photo=FSInputFile(self.media_root / photo["path"]))
        if not message.text:
            return None
        sent = await self.bot.send_message(chat_id, _fit(message.text), reply_markup=self._markup(message))
        return str(sent.message_id)

    async def download(self, file_ref: str) -> bytes:
        file = await self.bot.get_file(file_ref)
        buffer = io.BytesIO()
        await self.bot.download_file(file.file_path, destination=buffer)
        return buffer.getvalue()


#: Telegram refuses a text over 4096 characters with a 400 — a permanent failure that would mark
#: the person's chat unreachable; an over-long echo of someone's input must not do that.
TEXT_LIMIT = 4096


def _fit(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + "…"
