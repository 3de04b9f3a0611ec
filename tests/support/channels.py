"""One channel seen from the person's side: the neutral view of a bot message, and the
:class:`Driver` each channel implements so :class:`tests.support.world.World` can play people on it.

A driver owns the channel's emulator and the real bot running against it on a real database; the
World only speaks people and messages.  A scenario written with the World's verbs (say, press,
send_photo, send_location, expect) runs on every channel that has a driver; what only one channel
has (Telegram's forged callback data, reply keyboards, callback answers) is reached through the
driver's own object (``w.tg`` for Telegram) and keeps that test on that channel.

Adding a channel: subclass :class:`Driver` in ``tests/support/<channel>.py`` (as ``telegram.py`` and
``wecom.py`` do), map a
test's person (an int) to the channel's user id in :meth:`Driver.address`, turn the emulator's
messages into :class:`Message` in :meth:`Driver.messages`, and register the class in
:data:`DRIVERS` under the name the ``channel`` fixture uses (``FIELDBOT_TEST_CHANNELS``).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from datetime import datetime

    from bot.app import App, Clock
    from bot.runtime import Runtime
    from models.enums import Channel


@dataclass
class Message:
    """A bot message as the person sees it now, whatever the channel.

    ``text`` is its words (a photo's caption; ``""`` if none), ``buttons`` the labels of the
    buttons under it (row by row), ``photo`` whether it is a picture.  ``raw`` is the channel's own
    shape, for the few assertions only one channel can make; ``id`` is the channel's message id."""
    id: Any
    text: str
    buttons: list[str] = field(default_factory=list)
    photo: bool = False
    data: dict[str, str] = field(default_factory=dict, repr=False)
    raw: Any = field(default=None, repr=False)

    def button_data(self, label: str) -> str:
        """What pressing the button labelled ``label`` sends the bot (Telegram's callback_data, a
        WeCom card button's key)."""
        if label not in self.data:
            raise LookupError(f"no button {label!r}; buttons: {self.buttons}")
        return self.data[label]


class Driver(ABC):
    """One channel's emulator and the bot on it, as a World uses them.

    The acting verbs (``say``, ``press``, ``send_photo``, ``send_location``, ``press_data``)
    return at once, in order: the World waits with ``settle`` / ``expect``.  A person is the int
    a test calls them by; :meth:`address` is their user id on the channel."""

    #: the name of the channel (``aiogram``, ``ptb``, ``wecom``)
    name: str
    #: the platform it is (``telegram`` for both Telegram runtimes): tests marked
    #: ``@pytest.mark.telegram`` run only on Telegram platforms
    platform: str
    #: the bot's clock (a FixedClock a test moves, or the wall clock), there from the start
    clock: Clock
    #: whether the channel tells the bot the language of the person's app (Telegram's
    #: ``language_code``); where it does not, a person who reads another language than the bot's
    #: sets it with ``/lang`` on joining (:meth:`tests.support.world.World.redeem`)
    client_language: bool = True

    @abstractmethod
    def __init__(self, tmp_path: Path, *, db_url: str | None, language: str, extra_config: str,
                 clock: Clock | None, **options: Any) -> None:
        """``db_url``: the database (a SQLite file under ``tmp_path`` if None); ``options``: the
        channel's own settings."""

    # -- the bot's life ------------------------------------------------------------------------
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self, *exc: object) -> None:
        """Stop the bot and the emulator; fail the test on anything the channel found wrong
        with what the bot sent (Telegram: requests off the Bot API spec)."""

    @abstractmethod
    async def stop_bot(self) -> None:
        """Stop the bot as a crash would (the emulator and database stay)."""

    @abstractmethod
    async def start_bot(self) -> None: ...

    #: the bot's application (config, database, clock), set by :meth:`start`
    app: App
    #: the running bot (intake, sender, scheduler), set by :meth:`start` and :meth:`start_bot`
    rt: Runtime

    # -- people ----------------------------------------------------------------------------------
    @abstractmethod
    def address(self, person: int) -> str:
        """The person's user id on this channel (``ChannelIdentity.external_user_id``)."""

    @abstractmethod
    def chat_channel(self, person: int) -> Channel:
        """The channel the person's chat is on (``Inbound.channel`` of what they send)."""

    @abstractmethod
    def session_key(self, person: int) -> str:
        """The key of the person's dialog in their private chat (``ConversationState``)."""

    @abstractmethod
    def open_link(self, person: int, token: str, *, name: str | None, lang: str | None, customer: bool) -> None:
        """The person opens an invite (``customer``: a ticket link) the way this channel does it
        (Telegram: the deep link's ``/start TOKEN``, with the client's name and language)."""

    @abstractmethod
    def link_token(self, link: str) -> str:
        """The invite token in a customer's ticket link as this channel's bot hands it out (the
        ``/new`` confirmation); fails if ``link`` is not such a link."""

    # -- acting ----------------------------------------------------------------------------------
    @abstractmethod
    def say(self, person: int, text: str, **extra: Any) -> None: ...

    @abstractmethod
    def press(self, person: int, message: Message, label: str, **extra: Any) -> Any:  # noqa: ANN401
        """Press the button labelled ``label``; returns the channel's handle of the press."""

    def shown(self, labels: list[str]) -> list[str]:
        """The button labels of one message as this channel shows them (a channel may cut a long
        label: WeCom, a lone one over 10 characters)."""
        return list(labels)

    def shown_label(self, message: Message, label: str) -> str | None:
        """The label under which ``message`` shows the button ``label`` (None: it does not); a
        channel that cuts long labels shows them cut."""
        return label if label in message.buttons else None

    @abstractmethod
    def press_data(self, person: int, message: Message | Any, data: str, **extra: Any) -> Any:  # noqa: ANN401
        """Press a button carrying ``data`` under ``message`` whether or not it shows one (a stale
        keyboard, a forged press)."""

    @abstractmethod
    def send_photo(self, person: int, data: bytes, *, caption: str | None = None, sent_at: datetime | None = None,
                   **extra: Any) -> None:
        """``sent_at``: the time the phone puts on it (a photo sent late, from the gallery)."""

    @abstractmethod
    def send_location(self, person: int, lat: float, lon: float, **extra: Any) -> None: ...

    # -- observing -------------------------------------------------------------------------------
    @abstractmethod
    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until everything the people did is handled and every due message delivered."""

    @abstractmethod
    def messages(self, person: int) -> list[Message]:
        """The bot's messages in the person's chat, oldest first, as they look now."""

    @abstractmethod
    async def wait_for(self, person: int, count: int, timeout: float) -> list[Message]:
        """Wait until the person's chat holds ``count`` bot messages; return them all."""

    #: how many of each person's messages were expected already
    seen: dict[int, int]

    @abstractmethod
    def photo_bytes(self, message: Message) -> bytes:
        """The picture a photo message shows."""

    @abstractmethod
    def menu(self, person: int) -> set[str]:
        """The commands the person's chat menu offers."""


def _drivers() -> dict[str, type[Driver]]:
    from tests.support.telegram import AiogramDriver, PtbDriver
    from tests.support.wecom import WecomDriver

    return {"aiogram": AiogramDriver, "ptb": PtbDriver, "wecom": WecomDriver}


#: Every channel a World can run on, by name.
DRIVERS: dict[str, type[Driver]] = {}


def driver_class(channel: str) -> type[Driver]:
    if not DRIVERS:
        DRIVERS.update(_drivers())
    if channel not in DRIVERS:
        raise ValueError(f"no driver for channel {channel!r}; known: {sorted(DRIVERS)}")
    return DRIVERS[channel]


#: The channels the end-to-end scenarios run on: ``FIELDBOT_TEST_CHANNELS`` (comma-separated),
#: both Telegram runtimes and WeCom by default.
CHANNELS: tuple[str, ...] = tuple(
    c.strip() for c in os.environ.get("FIELDBOT_TEST_CHANNELS", "aiogram,ptb,wecom").split(",") if c.strip())
