"""The channel-neutral vocabulary: what an adapter hands the core, what the core sends back, and
the plain-text fallback for buttons.

Handlers, scheduler jobs and adapters all import it downward (DESIGN §4.1): an adapter turns a
Telegram or WeCom update into an :class:`Inbound`, and an :class:`Outbound` (stored as JSON in the
outbox) into the channel's own calls.  Anything a channel cannot show is degraded once, by the
channel's declared capabilities (:mod:`bot.channels.base`); buttons fall back to text commands
(:func:`render_text`): ``Accept: /_acc_12`` — sent back, ``/_acc_12`` is the press ``acc:12``.
No state maps it back, so it survives restarts and works on any instance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from models.enums import Channel


@dataclass(frozen=True)
class Photo:
    file_ref: str  # the channel's own id for the file (Telegram file_id, WeCom media_id)
    unique_id: str | None = None
    size: int | None = None
    #: Sent as a file (uncompressed: a Telegram document, a WeCom file), so its EXIF survived.
    as_file: bool = False


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    #: A live location (Telegram ``live_period``): the phone keeps reporting it, harder to fake
    #: than a pin dropped on a map.
    live: bool = False


@dataclass
class Inbound:
    """One update from a person, whatever the channel."""

    channel: Channel
    update_id: str  # unique per channel; a resent update carries the same id
    session_key: str  # computed by the adapter; the core never reads platform fields
    user_id: str
    chat_id: str
    received_at: datetime
    user_name: str = ""
    language: str | None = None
    text: str | None = None
    command: str | None = None  # lower-case, without the slash or @botname
    args: str = ""
    callback_data: str | None = None
    callback_id: str | None = None
    message_id: str | None = None  # this message's id, or the bot message whose button was pressed
    reply_to: str | None = None  # the bot message this one replies to
    photos: list[Photo] = field(default_factory=list)
    location: Location | None = None
    client_at: datetime | None = None  # when the phone sent it (may be long before received_at)
    private: bool = True
    #: Not sent by a person: another bot, or on behalf of a chat (an anonymous group admin, a
    #: channel).  Such a sender cannot be told apart from others sharing the account: refused.
    impersonal: bool = False
    #: Forwarded from another chat (Telegram ``forward_origin``): not the sender's own evidence.
    forwarded: bool = False
    #: The inbox row it was stored in (set by the intake; None for an update that came another way).
    inbox_id: int | None = None
    #: The channel has no command menu per person (WeCom): a known command word typed without
    #: the slash, when no dialog is open, is that command.
    words_as_commands: bool = False


@dataclass
class Button:
    label: str
    data: str  # a pointer only (action:id[:arg]); the handler re-checks everything


@dataclass
class Outbound:
    """A message to a person; serialised into ``outbox.payload``."""

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    photos: list[dict[str, Any]] = field(default_factory=list)  # {"file_ref", "channel", "path"}
    request_location: str | None = None  # label of a "send my location" keyboard button
    #: How to send a location without that button (for channels that cannot show it).
    location_hint: str | None = None
    #: The language the text is in (an adapter's own small labels follow it).
    lang: str | None = None
    remove_keyboard: bool = False
    edit_message_id: str | None = None  # edit this earlier bot message instead of sending anew
    kind: Literal["message", "commands"] = "message"
    commands: list[tuple[str, str]] = field(default_factory=list)  # for kind == "commands"
    #: The message carries a credential (a join link, its QR code): once delivered (or given up
    #: on), the sender removes its text and files, so the database and media store keep no link.
    secret: bool = False
    #: A file sent with ``text`` as its caption.  Stored small: a pointer, never the bytes —
    #: ``{"report": TICKET_ID, "number", "lang", "fallback"}`` (the ticket's service report, made
    #: by the sender just before sending, :mod:`handlers.service_report`) or, once resolved,
    #: ``{"path"`` (in the media store)``, "filename", "sha256", "mime", "fallback"}``.  A channel
    #: that cannot send files says ``fallback`` instead (:meth:`bot.channels.base.ChannelAdapter.degrade`).
    document: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, [], False, "") or k == "text"}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Outbound:
        data = dict(data)
        data["buttons"] = [[Button(**b) for b in row] for row in data.get("buttons", [])]
        data["commands"] = [tuple(c) for c in data.get("commands", [])]
        return cls(**data)


@dataclass(frozen=True)
class ChannelTraits:
    """What the push path and the join links need to know of a channel, without its SDK (built
    from config by the adapter class, so the CLI has it too)."""

    channel: Channel
    #: The link that opens an invite (a staff invite, a customer's ticket link) on this channel.
    join_link: Callable[[str], str] | None = None
    #: A recipient can be written to only this long after their own last message (WeCom
    #: customer service: 48 h); None: always.
    reply_window: timedelta | None = None
    #: Whether the join "link" is a URL (a QR code can be made of it) or an instruction to follow.
    link_is_url: bool = True
    #: How to join on this channel, said to the person: the link with what to do with it (and any
    #: other way, e.g. WeCom's OAuth link or the invite code sent to the app); None: the link alone.
    join_text: Callable[[str], str] | None = None
    #: Whom the channel serves: staff, customers, or both.
    serves_staff: bool = True
    serves_customers: bool = True


def session_key(prefix: str, chat_id: object, user_id: object) -> str:
    """The key of one person's dialog in one chat: ``<channel prefix>:<chat>:<user>``.  Every
    runtime of a channel builds it here, so switching the runtime keeps dialogs."""
    return f"{prefix}:{chat_id}:{user_id}"


class DeliveryError(Exception):
    """A channel refused or failed a delivery, classified so the sender knows what to do.

    ``retry_after``: the channel asked us to slow down (Telegram 429) — pause, then retry;
    ``transient``: network trouble or a 5xx — back off and retry;
    ``permanent``: it will never work (bot blocked, chat not found) — mark failed, tell someone.
    """

    def __init__(self, kind: Literal["retry_after", "transient", "permanent"], reason: str,
                 retry_after: float = 0.0):
        super().__init__(reason)
        self.kind, self.reason, self.retry_after = kind, reason, retry_after


# -- the plain-text fallback for buttons -------------------------------------------------------
_DATA = re.compile(r"^[a-z0-9:]{1,60}$")


def command_for(data: str) -> str:
    if not _DATA.match(data) or "_" in data:
        raise ValueError(f"button data not representable as text: {data!r}")
    return "/_" + data.replace(":", "_")


def data_from_command(command: str) -> str | None:
    """``_accept_12`` (a command without its slash) → ``accept:12``; None if not a button command."""
    if not command.startswith("_") or len(command) < 2:
        return None
    return command[1:].replace("_", ":")


def render_text(message: Outbound, line: str = "{label}: {command}") -> str:
    """The message text with its buttons spelled out as commands, one per line: ``line`` is the
    catalog's ``common.button_command`` in the message's language (``Accept: /_acc_12``,
    ``接单：/_acc_12``)."""
    lines = [message.text] if message.text else []
    for row in message.buttons:
        for button in row:
            lines.append(line.format(label=button.label, command=command_for(button.data)))
    return "\n".join(lines)
