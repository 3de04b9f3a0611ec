"""The channel seam: what every channel adapter is, both directions and its lifecycle.

An adapter (Telegram on aiogram or python-telegram-bot, WeCom) owns its channel entirely, as
NoneBot2's ``Adapter`` and Rasa's ``InputChannel``/``OutputChannel`` do:

* **in** — :meth:`ChannelAdapter.start` begins receiving (a poller task, or routes mounted on the
  one web server, :meth:`routes`) and hands every raw update to the intake, which stores it
  before the adapter acknowledges it; :meth:`parse` turns a stored update into an
  :class:`~handlers.channel.Inbound`, :meth:`finish` does what the channel wants after handling
  (answer a pressed button); :meth:`stop` ends it.
* **out** — :meth:`deliver` sends an :class:`~handlers.channel.Outbound`, first degraded once by
  the channel's :class:`Capabilities` (:meth:`degrade`: an edit it cannot do becomes a new
  message, buttons it cannot show become text commands, a location request it cannot make becomes
  a hint, per-chat command menus it does not have are skipped), and raises
  :class:`~handlers.channel.DeliveryError` classified for the sender; :meth:`download` fetches a
  file a person sent.
* **facts** — :attr:`capabilities`, :attr:`pacing` (the sender paces per channel and per
  recipient from these), :meth:`is_group`, and the traits the push path needs without the SDK
  (:meth:`traits`: the join link for an invite token, how long a recipient stays reachable).

Flows never see any of this: they write neutral messages, and the outbox sender hands them to
the adapter of the recipient's channel.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from handlers.channel import ChannelTraits, Inbound, Outbound, render_text
from handlers.i18n import t
from models.enums import Channel


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show; anything else is degraded by :meth:`ChannelAdapter.degrade`."""

    max_buttons: int | None = None  # per message; None: no limit, 0: no buttons at all
    edit: bool = True  # edit an earlier message in place
    location_request: bool = True  # a "send my location" button
    chat_menus: bool = True  # a command menu per chat
    max_text: int = 4096  # characters of one message
    documents: bool = True  # send a file (a PDF) as a document


@dataclass(frozen=True)
class Pacing:
    """How fast the channel lets a bot send; the outbox sender keeps to it.

    ``per_recipient``: sliding windows ``(messages, seconds)`` per recipient that the channel
    enforces by *dropping* messages silently (WeCom: 30/min and 1000/h to one member): kept
    client-side, they are correctness, not courtesy.
    """

    overall_per_second: float = 25.0
    chat_interval: float = 1.0  # seconds between two messages to one private chat (0: none)
    group_interval: float = 3.0  # seconds between two messages to one group chat
    per_recipient: tuple[tuple[int, float], ...] = ()


Handler = Callable[..., Awaitable[Any]]


class ChannelAdapter(ABC):
    channel: Channel
    capabilities: Capabilities = Capabilities()
    pacing: Pacing = Pacing()

    # -- in -----------------------------------------------------------------------------------
    async def start(self, intake: Any) -> None:  # noqa: ANN401
        """Begin receiving into ``intake`` (``Intake.accept``); return at once.  Channels that
        are called (webhooks, callbacks) receive through :meth:`routes` instead."""
        self._intake = intake

    #: ``host:port`` of the web server its :meth:`routes` are mounted on.
    listen: str = "127.0.0.1:8080"

    def routes(self, intake: Any) -> list[tuple[str, str, Handler]]:  # noqa: ANN401
        """``(method, path, handler)`` to mount on the web server at :attr:`listen` (webhook and
        callback channels; channels that share an address share the server)."""
        return []

    async def stop(self) -> None:
        """Stop receiving (a poller ends; in-flight handling is the intake's business)."""
        task = getattr(self, "_receiver", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._receiver = None

    async def serve(self) -> None:
        """Wait while receiving; raises if the receiver fails for good (e.g. a wrong token)."""
        task = getattr(self, "_receiver", None)
        if task is None:
            await asyncio.Event().wait()
        await task

    @abstractmethod
    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        """A stored raw update as a neutral event; None for kinds Fieldbot does not handle;
        raises on an update that cannot be read (the intake parks it)."""

    async def finish(self, inbound: Inbound, toast: str | None) -> None:
        """After handling; must not raise."""

    # -- out ----------------------------------------------------------------------------------
    async def deliver(self, chat_id: str, message: Outbound) -> str | None:
        """Send ``message`` (degraded to what the channel can show); the channel's message id."""
        degraded = self.degrade(message)
        if degraded is None:
            return None
        return await self.send(chat_id, degraded)

    @abstractmethod
    async def send(self, chat_id: str, message: Outbound) -> str | None:
        """The channel's own calls for a message it can show; raise ``DeliveryError``."""

    @abstractmethod
    async def download(self, file_ref: str) -> bytes:
        """The bytes of a file a person sent."""

    def degrade(self, message: Outbound) -> Outbound | None:
        """``message`` as this channel can show it, decided once here (None: nothing to send)."""
        caps = self.capabilities
        if message.kind == "commands":
            return message if caps.chat_menus else None
        changes: dict[str, Any] = {}
        if message.edit_message_id and not caps.edit:
            changes["edit_message_id"] = None
        buttons = [b for row in message.buttons for b in row]
        if buttons and caps.max_buttons is not None and len(buttons) > caps.max_buttons:
            changes["text"] = render_text(message, t(message.lang or "en", "common.button_command"))
            changes["buttons"] = []
        if message.request_location and not caps.location_request:
            text = changes.get("text", message.text)
            hint = message.location_hint or message.request_location
            changes["text"] = f"{text}\n{hint}" if text else hint
            changes["request_location"] = None
        if message.document and not caps.documents:
            text = changes.get("text", message.text)
            fallback = message.document.get("fallback") or ""
            changes["text"] = f"{text}\n{fallback}" if text and fallback else text or fallback
            changes["document"] = None
        out = replace(message, **changes) if changes else message
        if len(out.text) > caps.max_text:
            out = replace(out, text=out.text[:caps.max_text - 1] + "…")
        return out

    def is_group(self, chat_id: str) -> bool:
        return False

    def chat_interval(self, chat_id: str) -> float:
        """Seconds to keep between two messages to this chat."""
        return self.pacing.group_interval if self.is_group(chat_id) else self.pacing.chat_interval

    # -- facts for the push path (no SDK needed: built from config alone) ---------------------
    @classmethod
    def traits(cls, config: Any) -> ChannelTraits | None:  # noqa: ANN401
        """The join link maker and reach window for this channel as configured; None if the
        channel is not configured."""
        return None

    async def close(self) -> None:
        """Release the SDK's resources (HTTP sessions)."""
