"""Reading Telegram updates, written once for every SDK: a raw update (JSON, as the Bot API sends
it) becomes a neutral :class:`~handlers.channel.Inbound`, checked field by field — read as the SDKs'
own models read it (an integral float or a digit string is an Integer, ``yes``/``no`` a Boolean),
strict where a message would not be a Bot API message (entities, a replied-to message, dates out
of range): such an update is :class:`Unreadable` and the intake parks it.  Both the aiogram and the
python-telegram-bot runtime use this, so a dialog's session key and every refusal are the same
whichever runtime fetched the update.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from handlers.channel import Inbound, Location, Photo, session_key
from models.enums import Channel

_SURROGATE = re.compile("[\ud800-\udfff]")


class Unreadable(ValueError):
    """A raw update that does not fit the Bot API's types."""


# -- reading updates ----------------------------------------------------------------------------
def telegram_session_key(chat_id: object, user_id: object) -> str:
    return session_key("tg", chat_id, user_id)


def clean(text: object) -> str | None:
    """Text as the database can keep it: a lone UTF-16 surrogate (valid JSON, not valid
    Unicode) becomes U+FFFD instead of failing the transaction."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise Unreadable(f"text is {type(text).__name__}, not a string")
    return _SURROGATE.sub("\ufffd", text) if text else text


def _obj(parent: dict, key: str, *, required: bool = True) -> dict | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise Unreadable(f"{key} is missing or not an object")
    return value


def _int(parent: dict, key: str, *, required: bool = True) -> int | None:
    """An Integer field, read as the SDKs' models read it (an integral float or a string of
    digits passes; anything else does not)."""
    value = parent.get(key)
    if value is None and not required:
        return None
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,19}", value.strip()):
        return int(value)
    raise Unreadable(f"{key} is missing or not an integer")


_TRUE, _FALSE = {"true", "yes", "on", "1", "y", "t"}, {"false", "no", "off", "0", "n", "f"}


def _bool(parent: dict, key: str) -> bool:
    value = parent.get(key, False)
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Unreadable(f"{key} is not a boolean")


def _entities(message: dict) -> None:
    """Entities are not used, but a message whose entities are not MessageEntity objects is not a
    Bot API message."""
    for key in ("entities", "caption_entities"):
        value = message.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise Unreadable(f"{key} is not a list of MessageEntity")
        for entity in value:
            _str(entity, "type", required=True)
            _int(entity, "offset")
            _int(entity, "length")


def _str(parent: dict, key: str, *, required: bool = False) -> str | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Unreadable(f"{key} is missing or not a string")
    return clean(value)


def _number(parent: dict, key: str) -> float:
    value = parent.get(key)
    if type(value) not in (int, float):
        raise Unreadable(f"{key} is missing or not a number")
    return float(value)


def _user(data: dict | None) -> tuple[int, bool, str, str | None] | None:
    """(id, is_bot, full name, language code) of a User object."""
    if data is None:
        return None
    user_id = _int(data, "id")
    is_bot = _bool(data, "is_bot")
    name = " ".join(p for p in (_str(data, "first_name"), _str(data, "last_name")) if p)
    return user_id, is_bot, name, _str(data, "language_code")


def split_command(text: str) -> tuple[str | None, str]:
    """``/Start@fieldbot_bot TOKEN`` → ``("start", "TOKEN")``; (None, "") for plain text."""
    if not text.startswith("/"):
        return None, ""
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return (name or None), rest.strip()


def parse_update(raw: dict[str, Any], received_at: datetime) -> Inbound | None:
    """A Telegram update (JSON, as the Bot API sends it) as a neutral event; None for update kinds
    Fieldbot does not handle; raises :class:`Unreadable` for one that does not fit the Bot API."""
    if not isinstance(raw, dict):
        raise Unreadable("an update is a JSON object")
    update_id = _int(raw, "update_id")
    if raw.get("message") is not None:
        return _message(_obj(raw, "message"), update_id, received_at)
    if raw.get("callback_query") is not None:
        return _callback(_obj(raw, "callback_query"), update_id, received_at)
    return None


def _client_time(date: int) -> datetime | None:
    """When the phone sent it; a time in milliseconds is read as such (as the SDKs do)."""
    seconds = date / 1000 if date > 2 * 10 ** 10 else date
    return datetime.fromtimestamp(seconds, timezone.utc) if 0 < seconds < 253402300799 else None


def _message(message: dict, update_id: int, received_at: datetime) -> Inbound:
    chat = _obj(message, "chat")
    chat_id, chat_type = _int(chat, "id"), _str(chat, "type", required=True)
    message_id, date = _int(message, "message_id"), _int(message, "date")
    if abs(date) >= 10 ** 15:
        raise Unreadable("date is not a time")
    _entities(message)
    user = _user(_obj(message, "from", required=False))
    text_field, caption = _str(message, "text"), _str(message, "caption")
    command, args = split_command(text_field or "")
    reply_to = None
    replied = _obj(message, "reply_to_message", required=False)
    if replied is not None:
        _int(replied, "message_id"), _int(replied, "date"), _obj(replied, "chat")
        replied_user = _user(_obj(replied, "from", required=False))
        if replied_user is not None and replied_user[1]:
            reply_to = str(_int(replied, "message_id"))
    photos = []
    sizes = message.get("photo")
    if sizes:  # an empty list is no photo, as the SDKs read it
        if not isinstance(sizes, list) or not all(isinstance(s, dict) for s in sizes):
            raise Unreadable("photo is not a list of PhotoSize")
        biggest = sizes[-1]
        photos = [Photo(file_ref=_str(biggest, "file_id", required=True), unique_id=_str(biggest, "file_unique_id"),
                        size=_int(biggest, "file_size", required=False))]
    document = _obj(message, "document", required=False)
    if document is not None and not photos and (_str(document, "mime_type") or "").lower().startswith("image/"):
        # A photo sent as a file: uncompressed, its EXIF (capture time, GPS) kept.
        photos = [Photo(file_ref=_str(document, "file_id", required=True), unique_id=_str(document, "file_unique_id"),
                        size=_int(document, "file_size", required=False), as_file=True)]
    location = None
    if message.get("location") is not None:
        place = _obj(message, "location")
        location = Location(_number(place, "latitude"), _number(place, "longitude"),
                            live=_int(place, "live_period", required=False) is not None)
    return Inbound(
        channel=Channel.TELEGRAM, update_id=str(update_id),
        session_key=telegram_session_key(chat_id, user[0] if user else 0),
        user_id=str(user[0] if user else 0), chat_id=str(chat_id), received_at=received_at,
        user_name=user[2] if user else "", language=user[3] if user else None,
        text=None if command else (text_field or caption), command=command, args=args,
        message_id=str(message_id), reply_to=reply_to, photos=photos, location=location,
        client_at=_client_time(date),
        forwarded=message.get("forward_origin") is not None or message.get("forward_date") is not None,
        private=chat_type == "private",
        impersonal=user is None or user[1] or message.get("sender_chat") is not None,
    )


def _callback(query: dict, update_id: int, received_at: datetime) -> Inbound:
    query_id = _str(query, "id", required=True)
    user = _user(_obj(query, "from"))
    message = _obj(query, "message", required=False)
    chat_id, private, message_id = user[0], True, None
    if message is not None:
        chat = _obj(message, "chat")
        chat_id, private = _int(chat, "id"), _str(chat, "type") == "private"
        message_id = str(_int(message, "message_id"))
    return Inbound(
        channel=Channel.TELEGRAM, update_id=str(update_id), session_key=telegram_session_key(chat_id, user[0]),
        user_id=str(user[0]), chat_id=str(chat_id), received_at=received_at, user_name=user[2], language=user[3],
        callback_data=_str(query, "data") or "", callback_id=query_id, message_id=message_id, private=private,
        impersonal=user[1],
    )
