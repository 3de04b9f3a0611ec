"""Checks for reply markup and reply targets, plus the Message content builders.

Why: a keyboard Telegram would reject (a button with no action, callback data over 64 bytes)
must fail in tests the way it fails in production, and tests need photos and documents to
look like Telegram's (PhotoSize / Document with file ids) without any image library.
"""

from __future__ import annotations

import copy
import struct
from typing import Any

from .errors import bad_request
from .state import ChatState, StoredFile, World

INLINE_ACTIONS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                  "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                  "copy_text", "callback_game", "pay")
MAX_CALLBACK_DATA = 64  # bytes
DEFAULT_PHOTO_SIZE = (320, 240)  # used when the bytes are not a PNG/JPEG/GIF we can measure


def check_markup(markup: dict[str, Any] | None, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate one of the four reply markup objects; return it unchanged."""
    if markup is None:
        return None
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        for button in _buttons(rows, "inline keyboard"):
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("can't parse inline keyboard button: text is empty")
            actions = [a for a in INLINE_ACTIONS if a in button]
            if len(actions) != 1:
                raise bad_request("can't parse inline keyboard button: exactly one of "
                                  f"{', '.join(INLINE_ACTIONS[:3])}, ... must be given, got {actions or 'none'}")
            data = button.get("callback_data")
            if data is not None and not (0 < len(str(data).encode()) <= MAX_CALLBACK_DATA):
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid")
        return markup
    if inline_only:
        raise bad_request("only an inline keyboard can be used here")
    if "keyboard" in markup:
        for button in _buttons(markup["keyboard"], "keyboard"):
            text = button if isinstance(button, str) else button.get("text") if isinstance(button, dict) else None
            if not text:
                raise bad_request("keyboard button text is empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("unsupported reply_markup: expected inline_keyboard, keyboard, "
                      "remove_keyboard or force_reply")


def _buttons(rows: Any, what: str) -> list[Any]:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(f"{what} must be an Array of Array of buttons")
    return [b for row in rows for b in row]


def apply_keyboard(chat: ChatState, markup: dict[str, Any] | None) -> None:
    """Track the custom keyboard the user's client shows after this message."""
    if markup is None:
        return
    if "keyboard" in markup:
        chat.reply_keyboard = copy.deepcopy(markup)
    elif markup.get("remove_keyboard"):
        chat.reply_keyboard = None


def find_reply(chat: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
    """The message a send call replies to (reply_parameters or legacy reply_to_message_id)."""
    reply = params.get("reply_parameters") or {}
    target = reply.get("message_id", params.get("reply_to_message_id"))
    if target is None:
        return None
    if reply.get("chat_id") not in (None, chat.chat["id"]):
        raise bad_request("replies to other chats are not supported by the emulator")
    allow = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply", False))
    try:
        message = chat.messages.get(int(target))
    except (TypeError, ValueError):
        raise bad_request("reply_parameters.message_id must be an Integer") from None
    if message is None:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return quoted(message)


def quoted(message: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in reply_to_message: Telegram never nests replies twice."""
    inner = copy.deepcopy(message)
    inner.pop("reply_to_message", None)
    return inner


def image_size(data: bytes | None) -> tuple[int, int]:
    """Width and height of PNG, GIF or JPEG bytes, read from the header only."""
    if not data:
        return DEFAULT_PHOTO_SIZE
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return width, height
            i += 2 + length
    return DEFAULT_PHOTO_SIZE


def store_photo(world: World, data: bytes | None) -> StoredFile:
    width, height = image_size(data)
    return world.store_file(data, "photos", ".jpg", width=width, height=height)


def photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    """The ``photo`` array of a Message (one size: the emulator does not make thumbnails)."""
    size = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.size, "width": stored.meta.get("width", DEFAULT_PHOTO_SIZE[0]),
            "height": stored.meta.get("height", DEFAULT_PHOTO_SIZE[1])}
    return [size]


def document_object(stored: StoredFile) -> dict[str, Any]:
    doc = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size}
    for key in ("file_name", "mime_type"):
        if stored.meta.get(key):
            doc[key] = stored.meta[key]
    return doc
