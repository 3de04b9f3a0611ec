"""Telegram, written once for every SDK that speaks it (aiogram, python-telegram-bot).

What is Telegram's and not an SDK's lives here: reading a raw update into an
:class:`~handlers.channel.Inbound` (plain JSON, checked field by field, so a malformed update is
refused the same way whichever runtime fetched it), the session key, the command split, the
4096-character cut, keyboards as data, error classification, long polling that confirms a page
only after it is stored, the webhook endpoint that answers 200 only after storing, and the join
link.  An SDK runtime (:mod:`bot.channels.telegram`, :mod:`bot.channels.telegram_ptb`) adds only
its HTTP calls: :class:`TelegramRuntime`'s ``_call_*`` methods and :meth:`TelegramRuntime._error`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from abc import abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels.base import Capabilities, ChannelAdapter, Pacing
from bot.channels.telegram_updates import (  # noqa: F401  (re-exported: the protocol's reading half)
    Unreadable,
    clean,
    parse_update,
    split_command,
    telegram_session_key,
)
from handlers.channel import ChannelTraits, DeliveryError, Inbound, Outbound
from models.enums import Channel

log = logging.getLogger(__name__)

#: The update kinds Fieldbot handles; Telegram keeps the others to itself.
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram refuses a text over 4096 characters with a 400 — a permanent failure that would mark
#: the person's chat unreachable; an over-long echo of someone's input must not do that.
TEXT_LIMIT = 4096


# -- writing ------------------------------------------------------------------------------------
def fit(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + "…"


def markup(message: Outbound) -> dict[str, Any] | None:
    """The message's keyboard as Bot API JSON (each SDK turns it into its own types)."""
    if message.buttons:
        return {"inline_keyboard": [[{"text": b.label, "callback_data": b.data} for b in row]
                                    for row in message.buttons]}
    if message.request_location:
        return {"keyboard": [[{"text": message.request_location, "request_location": True}]],
                "resize_keyboard": True, "one_time_keyboard": True}
    if message.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def classify(status: int | None, description: str, retry_after: float | None = None) -> DeliveryError:
    """A failed Bot API call as the sender sees it.  ``status`` None: no answer (network)."""
    if status == 429 or retry_after:
        return DeliveryError("retry_after", description, float(retry_after or 1))
    if status is None or status >= 500:
        return DeliveryError("transient", description)
    return DeliveryError("permanent", description)  # 400 bad request, 401, 403 blocked, 404 chat not found


class TelegramRuntime(ChannelAdapter):
    """Telegram with the SDK left open: everything but the HTTP calls."""

    channel = Channel.TELEGRAM
    capabilities = Capabilities(max_buttons=None, edit=True, location_request=True, chat_menus=True,
                                max_text=TEXT_LIMIT)

    def __init__(self, config: Any, media_root: Path | None = None):  # noqa: ANN401
        """``config``: the ``[telegram]`` section."""
        self.config = config
        self.media_root = media_root
        self.pacing = Pacing(overall_per_second=config.rate, chat_interval=config.chat_interval.total_seconds(),
                             group_interval=60.0 / config.group_per_minute)
        self.webhook = config.mode == "webhook"
        self.listen = config.webhook_listen
        self.secret = config.webhook_secret.get_secret_value() or None
        self._receiver: asyncio.Task | None = None

    @classmethod
    def traits(cls, config: Any) -> ChannelTraits | None:  # noqa: ANN401
        """Telegram's links, when it is configured — or when nothing else is (the demo and the CLI
        show links even before a token is set)."""
        if not config.telegram.token.get_secret_value() and config.wecom.enabled:
            return None
        section = config.telegram

        def link(token: str) -> str:  # read when used: `fieldbot run` fills an empty name from getMe
            if not section.bot_username:  # the CLI makes sure before it writes (bot.bot_name.for_links)
                from bot.config import ConfigError

                raise ConfigError(["telegram.bot_username: not known; set it, or set telegram.token "
                                   "and run `fieldbot run` once (it asks Telegram)"])
            return f"https://t.me/{section.bot_username}?start={token}"

        return ChannelTraits(Channel.TELEGRAM, join_link=link)

    def is_group(self, chat_id: str) -> bool:
        return chat_id.startswith("-")

    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        return parse_update(raw, received_at)

    async def finish(self, inbound: Inbound, toast: str | None) -> None:
        """Stop the pressed button's spinner (with the short answer, if any)."""
        if inbound.callback_id is None:
            return
        try:
            await self._call_answer_callback(inbound.callback_id, toast or None)
        except Exception as exc:  # too old after a restart, network: the spinner times out by itself
            log.info("answering callback %s failed: %s", inbound.callback_id, exc)

    async def identify(self) -> tuple[int, str]:
        """``getMe``: the bot's id and @username (without the @) as Telegram knows this token."""
        return await self._call_get_me()

    # -- receiving ----------------------------------------------------------------------------
    async def start(self, intake: Any) -> None:  # noqa: ANN401
        if self.webhook:
            path_url = self.config.webhook_url
            await self._call_set_webhook(path_url, self.secret, ALLOWED_UPDATES)
        else:
            await self._call_delete_webhook()
            self._receiver = asyncio.create_task(self._poll(intake), name="telegram-poll")

    def routes(self, intake: Any) -> list[tuple[str, str, Any]]:  # noqa: ANN401
        if not self.webhook:
            return []
        from urllib.parse import urlparse

        return [("POST", urlparse(self.config.webhook_url).path or "/telegram", self._webhook(intake))]

    async def _poll(self, intake: Any, timeout: int = 10) -> None:  # noqa: ANN401
        """Long polling until cancelled: each page is stored before the next request confirms
        it (Telegram forgets updates below the offset we send).  Errors back off (a 429 waits
        its ``retry_after``); a wrong token raises."""
        offset: int | None = None
        backoff = 0.5
        while True:
            await intake.wait_for_room()
            try:
                page = await self._call_get_updates(offset, timeout, ALLOWED_UPDATES)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = self._error(exc)
                if error is None or (error.kind == "permanent" and self._fatal(exc)):
                    raise
                wait = error.retry_after if error.kind == "retry_after" else backoff
                log.warning("getUpdates failed (%s); retrying in %.1f s", error.reason, wait)
                await asyncio.sleep(wait)
                backoff = backoff if error.kind == "retry_after" else min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            items = [(str(u["update_id"]), u) for u in page if isinstance(u, dict) and type(u.get("update_id")) is int]
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

    def _webhook(self, intake: Any):  # noqa: ANN202, ANN401
        """Telegram's webhook: 200 only once the update is stored, so Telegram resends anything
        we could not keep."""
        secret = self.secret

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

    # -- sending ------------------------------------------------------------------------------
    async def send(self, chat_id: str, message: Outbound) -> str | None:
        try:
            return await self._send(int(chat_id), message)
        except DeliveryError:
            raise
        except Exception as exc:
            error = self._error(exc)
            if error is None:
                raise
            raise error from None

    async def _send(self, chat_id: int, message: Outbound) -> str | None:
        if message.kind == "commands":
            await self._call_set_commands(chat_id, [(c, d[:256]) for c, d in message.commands])
            return None
        keyboard = markup(message)
        if message.edit_message_id:
            inline = keyboard if keyboard and "inline_keyboard" in keyboard else None
            try:
                await self._call_edit_text(chat_id, int(message.edit_message_id), fit(message.text), inline)
            except Exception as exc:
                error = self._error(exc)
                # aiogram keeps Telegram's "Bad Request: message is not modified", PTB makes it
                # "Message is not modified": the words are Telegram's, the case the SDK's.
                if error is None or "message is not modified" not in error.reason.lower():
                    raise
            return message.edit_message_id
        if message.document and message.document.get("path") and self.media_root is not None:
            # The text is the file's caption (one message); a caption holds 1024 characters.
            caption = message.text if len(message.text) <= 1024 else message.text[:1023] + "…"
            return await self._call_send_document(chat_id, self.media_root / message.document["path"],
                                                  message.document.get("filename") or "document.pdf",
                                                  caption or None, keyboard)
        sent = None
        for photo in message.photos:
            if photo.get("channel") == Channel.TELEGRAM.value and photo.get("file_ref"):
                sent = await self._call_send_photo(chat_id, photo["file_ref"], None)
            elif photo.get("path") and self.media_root is not None:
                sent = await self._call_send_photo(chat_id, None, self.media_root / photo["path"])
        if not message.text:
            return sent
        return await self._call_send_text(chat_id, fit(message.text), keyboard)

    # -- what an SDK runtime provides ---------------------------------------------------------
    @abstractmethod
    def _error(self, exc: BaseException) -> DeliveryError | None:
        """The SDK's exception as a delivery error (None: not a Bot API or network error)."""

    def _fatal(self, exc: BaseException) -> bool:
        """A receive error that retrying cannot fix (a wrong token)."""
        return False

    @abstractmethod
    async def _call_get_me(self) -> tuple[int, str]:
        """``getMe``: (id, username)."""

    @abstractmethod
    async def _call_get_updates(self, offset: int | None, timeout: int, allowed: list[str]) -> list[Any]:
        """``getUpdates`` as raw JSON objects."""

    @abstractmethod
    async def _call_send_text(self, chat_id: int, text: str, keyboard: dict | None) -> str: ...

    @abstractmethod
    async def _call_send_photo(self, chat_id: int, file_id: str | None, path: Path | None) -> str: ...

    @abstractmethod
    async def _call_send_document(self, chat_id: int, path: Path, filename: str, caption: str | None,
                                  keyboard: dict | None) -> str: ...

    @abstractmethod
    async def _call_edit_text(self, chat_id: int, message_id: int, text: str, keyboard: dict | None) -> None: ...

    @abstractmethod
    async def _call_set_commands(self, chat_id: int, commands: list[tuple[str, str]]) -> None: ...

    @abstractmethod
    async def _call_answer_callback(self, callback_id: str, text: str | None) -> None: ...

    @abstractmethod
    async def _call_set_webhook(self, url: str, secret: str | None, allowed: list[str]) -> None: ...

    @abstractmethod
    async def _call_delete_webhook(self) -> None: ...
