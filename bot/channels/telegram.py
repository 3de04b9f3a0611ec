"""Telegram on aiogram 3: both directions.

Inbound: the adapter polls (``getUpdates``) or serves the webhook itself and hands every raw
update to the intake, which stores it before the adapter confirms it to Telegram — the next
``getUpdates`` offset moves past a batch only after the batch is committed, and the webhook answers
200 only after the update is committed.  Updates are read as raw JSON (a custom ``getUpdates``
that returns dicts), so what is stored is what Telegram sent, and one malformed update is parked
instead of breaking the whole page the way parsing the page at once would.  Handling then runs
from the stored update (:meth:`TelegramAdapter.parse` turns it into a neutral :class:`Inbound`).

Outbound: :meth:`TelegramAdapter.deliver` maps an :class:`Outbound` onto Bot API calls and every
failure onto a :class:`DeliveryError` kind.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import logging
import re
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
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
from aiohttp import web

from handlers.channel import DeliveryError, Inbound, Location, Outbound, Photo
from models.enums import Channel

log = logging.getLogger(__name__)

#: The update kinds Fieldbot handles; Telegram keeps the others to itself.
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class RawGetUpdates(GetUpdates):
    """``getUpdates`` answered as plain JSON objects, one per update (stored as received)."""

    __returning__ = list[dict[str, Any]]


def make_bot(token: str, api_base: str = "") -> Bot:
    """The real aiogram client; ``api_base`` points it at a self-hosted server or the emulator."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token, session=session)


def session_key(chat_id: int | str, user_id: int | str) -> str:
    """The dialog key of one person in one Telegram chat (shared by every Telegram runtime)."""
    return f"tg:{chat_id}:{user_id}"


def _split_command(text: str) -> tuple[str | None, str]:
    if not text.startswith("/"):
        return None, ""
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return (name or None), rest.strip()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(text: str | None) -> str | None:
    """Text as the database can keep it: a lone UTF-16 surrogate (valid JSON, not valid
    Unicode) becomes U+FFFD instead of failing the transaction."""
    return _SURROGATE.sub("\ufffd", text) if text else text


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def message_to_inbound(message: Message, update_id: int, now: datetime) -> Inbound:
    user = message.from_user
    text = _clean(message.text or message.caption)
    command, args = _split_command(_clean(message.text) or "")
    reply_to = None
    if message.reply_to_message is not None and message.reply_to_message.from_user is not None \
            and message.reply_to_message.from_user.is_bot:
        reply_to = str(message.reply_to_message.message_id)
    location = message.location
    return Inbound(
        channel=Channel.TELEGRAM, update_id=str(update_id),
        session_key=session_key(message.chat.id, user.id if user else 0),
        user_id=str(user.id if user else 0), chat_id=str(message.chat.id), received_at=now,
        user_name=_clean(user.full_name) if user else "", language=user.language_code if user else None,
        text=None if command else text, command=command, args=args,
        message_id=str(message.message_id), reply_to=reply_to,
        photos=[Photo(file_ref=message.photo[-1].file_id, unique_id=message.photo[-1].file_unique_id,
                      size=message.photo[-1].file_size)] if message.photo else [],
        location=Location(location.latitude, location.longitude) if location else None,
        client_at=_utc(message.date), private=message.chat.type == "private",
        impersonal=user is None or user.is_bot or message.sender_chat is not None,
    )


def callback_to_inbound(query: CallbackQuery, update_id: int, now: datetime) -> Inbound:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    return Inbound(
        channel=Channel.TELEGRAM, update_id=str(update_id),
        session_key=session_key(chat_id, query.from_user.id), user_id=str(query.from_user.id),
        chat_id=str(chat_id), received_at=now, user_name=_clean(query.from_user.full_name),
        language=query.from_user.language_code, callback_data=_clean(query.data) or "", callback_id=query.id,
        message_id=str(query.message.message_id) if query.message else None,
        private=(query.message.chat.type == "private") if query.message else True,
        impersonal=query.from_user.is_bot,
    )


class TelegramAdapter:
    channel = Channel.TELEGRAM
    supports_buttons = True

    def __init__(self, bot: Bot, media_root=None):  # noqa: ANN001
        self.bot = bot
        self.media_root = media_root

    # -- inbound ----------------------------------------------------------------------------
    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        """A stored raw update as a neutral event; None for kinds Fieldbot does not handle.
        Raises on an update that does not fit the Bot API's types (the intake parks it)."""
        update = Update.model_validate(raw, context={"bot": self.bot})
        if update.message is not None:
            return message_to_inbound(update.message, update.update_id, received_at)
        if update.callback_query is not None:
            return callback_to_inbound(update.callback_query, update.update_id, received_at)
        return None

    async def finish(self, inbound: Inbound, toast: str | None) -> None:
        """Stop the pressed button's spinner (with the short answer, if any)."""
        if inbound.callback_id is None:
            return
        try:
            await self.bot.answer_callback_query(inbound.callback_id, text=toast or None)
        except Exception as exc:  # too old after a restart, network: the spinner times out by itself
            log.info("answering callback %s failed: %s", inbound.callback_id, exc)

    async def poll(self, intake, *, timeout: int = 10) -> None:  # noqa: ANN001
        """Long polling until cancelled: each page is stored before the next request confirms
        it (Telegram forgets updates below the offset we send).  Errors back off; a wrong
        token raises."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        backoff = 0.5
        while True:
            await intake.wait_for_room()
            try:
                page = await self.bot(RawGetUpdates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES),
                                      request_timeout=timeout + 15)
            except TelegramUnauthorizedError:
                raise
            except TelegramRetryAfter as exc:  # Telegram says when: not our own backoff
                log.warning("getUpdates: flood control, waiting %s s", exc.retry_after)
                await asyncio.sleep(float(exc.retry_after))
                continue
            except (TelegramConflictError, TelegramServerError, TelegramNetworkError,
                    TelegramBadRequest, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            items = [(str(u["update_id"]), u) for u in page
                     if isinstance(u, dict) and type(u.get("update_id")) is int]
            if not items:
                continue
            try:
                await intake.accept(Channel.TELEGRAM, items)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not store %d update(s); not confirming them, polling again", len(items))
                await asyncio.sleep(1.0)
                continue
            offset = max(int(key) for key, _ in items) + 1

    def webhook_handler(self, intake, secret: str | None):  # noqa: ANN001, ANN201
        """The aiohttp handler for Telegram's webhook: 200 only once the update is stored, so
        Telegram resends anything we could not keep."""
        async def handle(request: web.Request) -> web.Response:
            if secret and not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
                return web.Response(status=401)
            try:
                raw = await request.json()
            except ValueError:
                return web.Response(status=400, text="not JSON")
            if not isinstance(raw, dict) or type(raw.get("update_id")) is not int:
                return web.Response(status=400, text="not an update")
            try:
                await intake.accept(Channel.TELEGRAM, [(str(raw["update_id"]), raw)])
            except Exception:
                log.exception("could not store webhook update %s; Telegram will resend it", raw.get("update_id"))
                return web.Response(status=500)
            return web.Response(status=200)

        return handle

    # -- outbound ---------------------------------------------------------------------------

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
