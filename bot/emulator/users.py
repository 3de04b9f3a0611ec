"""What people do on their phones: the user side of the emulated Telegram.

Why: tests and the demo play the engineer, the supervisor and the customer. Each action
creates the user and chat on first use, stores the message in the chat history (so the bot
can reply to it and later see it quoted) and queues the Update the bot will receive, in
Telegram's JSON shape. Actions are synchronous: they only touch memory; the bot picks the
update up on its next getUpdates or webhook push.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from .markup import photo_sizes, quoted, store_photo
from .state import CallbackState, ChatState

if TYPE_CHECKING:
    from .state import World

Date = int | float | dt.datetime | None


def _timestamp(date: Date) -> int | None:
    """A client-side date (e.g. a phone that was offline): unix seconds or a datetime."""
    if date is None:
        return None
    if isinstance(date, dt.datetime):
        return int(date.timestamp())
    return int(date)


class UserActions:
    """Mixin of :class:`~bot.emulator.server.BotApiEmulator`: inject user activity.

    ``**profile`` on every action accepts ``first_name``, ``last_name``, ``username``,
    ``language_code`` (and ``is_premium``), creating or updating the user. ``chat_id``
    defaults to the user's private chat (same id as the user); a negative id is a group.
    """

    world: World

    def add_user(self, user_id: int, **profile: Any) -> dict[str, Any]:
        """Create or update a user (a person who has opened the bot)."""
        user = self.world.ensure_user(user_id, **profile)
        self.world.ensure_chat(user_id)
        return copy.deepcopy(user)

    def add_chat(self, chat_id: int, *, title: str | None = None, type: str | None = None) -> dict[str, Any]:
        """Create a group/supergroup chat (negative id) or a private chat (positive id)."""
        return copy.deepcopy(self.world.ensure_chat(chat_id, title=title, type=type).chat)

    def _post(self, user_id: int, content: dict[str, Any], *, chat_id: int | None = None,
              date: Date = None, reply_to: int | None = None, **profile: Any) -> dict[str, Any]:
        """Store a user's message and queue the ``message`` update; returns the Message."""
        user = self.world.ensure_user(user_id, **profile)
        chat = self.world.ensure_chat(user_id if chat_id is None else chat_id)
        fields: dict[str, Any] = {}
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                raise LookupError(f"no message {reply_to} in chat {chat.chat['id']} to reply to")
            fields["reply_to_message"] = quoted(target)
        fields.update(content)
        message = self.world.add_message(chat, user, fields, date=_timestamp(date))
        self.world.enqueue("message", copy.deepcopy(message))
        return copy.deepcopy(message)

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None, date: Date = None,
                  reply_to: int | None = None, **profile: Any) -> dict[str, Any]:
        """A text message; a leading ``/command`` gets its bot_command entity like Telegram."""
        if not text:
            raise ValueError("text must not be empty")
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
        return self._post(user_id, content, chat_id=chat_id, date=date, reply_to=reply_to, **profile)

    def send_command(self, user_id: int, command: str, args: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """``/command args`` (the leading slash is optional), e.g. a deep link ``start <token>``."""
        text = "/" + command.lstrip("/") + (f" {args}" if args else "")
        return self.send_text(user_id, text, **kwargs)

    def send_photo(self, user_id: int, data: bytes, *, caption: str | None = None,
                   chat_id: int | None = None, date: Date = None, reply_to: int | None = None,
                   **profile: Any) -> dict[str, Any]:
        """A photo; the bytes are stored so the bot can getFile and download them."""
        content: dict[str, Any] = {"photo": photo_sizes(store_photo(self.world, bytes(data)))}
        if caption:
            content["caption"] = caption
        return self._post(user_id, content, chat_id=chat_id, date=date, reply_to=reply_to, **profile)

    def send_document(self, user_id: int, data: bytes, file_name: str, *,
                      mime_type: str = "application/octet-stream", caption: str | None = None,
                      chat_id: int | None = None, date: Date = None, **profile: Any) -> dict[str, Any]:
        ext = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        stored = self.world.store_file(bytes(data), "documents", ext, file_name=file_name, mime_type=mime_type)
        content: dict[str, Any] = {"document": {"file_name": file_name, "mime_type": mime_type,
                                                "file_id": stored.file_id,
                                                "file_unique_id": stored.file_unique_id,
                                                "file_size": stored.size}}
        if caption:
            content["caption"] = caption
        return self._post(user_id, content, chat_id=chat_id, date=date, **profile)

    def send_location(self, user_id: int, latitude: float, longitude: float, *,
                      horizontal_accuracy: float | None = None, chat_id: int | None = None,
                      date: Date = None, live_period: int | None = None,
                      forwarded_from: int | None = None, **profile: Any) -> dict[str, Any]:
        """A location, as sent by a request_location button or the attachment menu.

        ``live_period`` (seconds, 60–86400 or 0x7FFFFFFF): a live location, as Telegram sends its
        first message.  ``forwarded_from`` (a user id): the location was forwarded from another
        chat — the message carries ``forward_origin`` (MessageOriginUser) and the original date."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must be in [-90, 90] and longitude in [-180, 180]")
        location: dict[str, Any] = {"latitude": float(latitude), "longitude": float(longitude)}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = float(horizontal_accuracy)
        if live_period is not None:
            if not (60 <= live_period <= 86400 or live_period == 0x7FFFFFFF):
                raise ValueError("live_period must be 60–86400 seconds, or 0x7FFFFFFF for indefinitely")
            location["live_period"] = int(live_period)
        content: dict[str, Any] = {"location": location}
        if forwarded_from is not None:
            sender = copy.deepcopy(self.world.ensure_user(forwarded_from))
            content["forward_origin"] = {"type": "user", "date": (_timestamp(date) or self.world.now()) - 3600,
                                         "sender_user": sender}
        return self._post(user_id, content, chat_id=chat_id, date=date, **profile)

    def send_contact(self, user_id: int, phone_number: str, *, first_name: str | None = None,
                     last_name: str | None = None, contact_user_id: int | None = None,
                     chat_id: int | None = None, date: Date = None, **profile: Any) -> dict[str, Any]:
        """A shared contact; defaults to the user's own card (a request_contact button)."""
        user = self.world.ensure_user(user_id, **profile)
        contact: dict[str, Any] = {"phone_number": phone_number,
                                   "first_name": first_name or user["first_name"]}
        if last_name or (first_name is None and user.get("last_name")):
            contact["last_name"] = last_name or user["last_name"]
        own = first_name is None and contact_user_id is None
        if contact_user_id is not None or own:
            contact["user_id"] = user_id if own else contact_user_id
        return self._post(user_id, {"contact": contact}, chat_id=chat_id, date=date)

    def press_button(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None,
                     strict: bool = True, **profile: Any) -> str:
        """Press an inline button (callback_data ``data``) under a bot message.

        Returns the callback query id, to check the bot's answerCallbackQuery later with
        ``callback_answer(id)``. ``strict`` requires the button to be on the message now;
        pass ``strict=False`` to simulate a stale keyboard on a lagging phone.
        """
        user = self.world.ensure_user(user_id, **profile)
        chat = self._chat_of(user_id, chat_id)
        message = chat.messages.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat.chat['id']}")
        if strict:
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if not any(b.get("callback_data") == data for row in rows for b in row):
                raise LookupError(f"message {message_id} has no inline button with callback_data {data!r}")
        query_id = str(secrets.randbits(63))
        query = {"id": query_id, "from": copy.deepcopy(user), "message": copy.deepcopy(message),
                 "chat_instance": str(abs(chat.chat["id"]) * 1_000_003 % 10**18), "data": data}
        self.world.callbacks[query_id] = CallbackState(query)
        self.world.enqueue("callback_query", copy.deepcopy(query))
        return query_id

    def press_reply_button(self, user_id: int, text: str, *, chat_id: int | None = None,
                           latitude: float | None = None, longitude: float | None = None,
                           phone_number: str | None = None, **profile: Any) -> dict[str, Any]:
        """Tap a button of the custom keyboard the bot currently shows in the chat.

        A ``request_location`` button sends a location (give latitude/longitude), a
        ``request_contact`` button the user's own contact (give phone_number); any other
        button sends its text. Raises LookupError if no such button is shown.
        """
        chat = self._chat_of(user_id, chat_id)
        keyboard = chat.reply_keyboard or {}
        buttons = [b if isinstance(b, dict) else {"text": b} for row in keyboard.get("keyboard", []) for b in row]
        button = next((b for b in buttons if b.get("text") == text), None)
        if button is None:
            shown = [b.get("text") for b in buttons]
            raise LookupError(f"no keyboard button {text!r} shown in chat {chat.chat['id']}; shown: {shown}")
        if button.get("request_location") and (latitude is None or longitude is None):
            raise ValueError("this button shares a location: pass latitude and longitude")
        if button.get("request_contact") and not phone_number:
            raise ValueError("this button shares the contact: pass phone_number")
        if keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        where = {"chat_id": chat_id, **profile}
        if button.get("request_location"):
            return self.send_location(user_id, latitude, longitude, **where)
        if button.get("request_contact"):
            return self.send_contact(user_id, phone_number, **where)
        return self.send_text(user_id, text, **where)

    def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw Update JSON object as given, for malformed-update tests (a message
        without ``from``, a callback_query without ``message``, a huge text, wrong types).

        Nothing is checked or stored in a chat and ``allowed_updates`` does not filter it; an
        ``update_id`` is assigned if missing (a given one is kept, duplicates included).
        getUpdates and the webhook deliver it like any other. Returns the queued update.
        """
        if not isinstance(update, dict):
            raise ValueError("an update must be a JSON object")
        return copy.deepcopy(self.world.enqueue_raw(update))

    def _chat_of(self, user_id: int, chat_id: int | None) -> ChatState:
        target = user_id if chat_id is None else chat_id
        chat = self.world.chats.get(target)
        if chat is None:
            raise LookupError(f"chat {target} does not exist yet")
        return chat
