"""Bot API methods that send, edit and delete messages, answer buttons and serve files.

Each handler takes the emulator and the already validated parameters and returns the
``result`` Telegram would return, or raises ApiError with Telegram's wording. Results are
deep copies, so the bot (or a test) can never mutate the stored chat history.
"""

from __future__ import annotations

import copy
import mimetypes
from typing import TYPE_CHECKING, Any

from .errors import NOT_MODIFIED, QUERY_INVALID, bad_request
from .formatting import render
from .markup import apply_keyboard, check_markup, document_object, find_reply, photo_sizes, store_photo
from .state import StoredFile
from .wire import Upload

if TYPE_CHECKING:
    from .server import BotApiEmulator

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, as Telegram does
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                "upload_voice", "upload_document", "choose_sticker", "find_location",
                "record_video_note", "upload_video_note"}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _text(params: dict[str, Any], key: str, entities_key: str, limit: int) -> dict[str, Any]:
    """Parse text or caption into the Message fields ``{key, <key>_entities}``."""
    raw = params.get(key)
    if raw is None:
        return {}
    text, entities = render(raw, params.get("parse_mode"), params.get(entities_key))
    if not text.strip():
        raise bad_request("message text is empty" if key == "text" else "message caption is empty")
    if _utf16_len(text) > limit:
        raise bad_request("message is too long" if key == "text" else "message caption is too long")
    fields: dict[str, Any] = {key: text}
    if entities:
        fields["entities" if key == "text" else "caption_entities"] = entities
    return fields


def _deliver(emu: BotApiEmulator, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """Common tail of every send method: reply target, keyboard, store, return."""
    world = emu.world
    chat = world.target_chat(params["chat_id"])
    markup = check_markup(params.get("reply_markup"))
    reply = find_reply(chat, params)
    fields: dict[str, Any] = {"reply_to_message": reply} if reply else {}
    fields.update(content)
    if markup and "inline_keyboard" in markup:
        fields["reply_markup"] = markup  # Message.reply_markup only ever holds inline keyboards
    message = world.add_message(chat, world.bot_user, fields)
    apply_keyboard(chat, markup)
    return copy.deepcopy(message)


def _file_param(emu: BotApiEmulator, value: Upload | str, store_new) -> StoredFile:
    """An InputFile parameter: new upload, a known file_id, or a URL (recorded, not fetched)."""
    if isinstance(value, Upload):
        return store_new(value.data, value)
    if value in emu.world.files:
        return emu.world.files[value]
    if value.startswith(("http://", "https://")):
        return store_new(None, None)
    raise bad_request("wrong file identifier/HTTP URL specified")


def send_message(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    content = _text(p, "text", "entities", MAX_TEXT)
    return _deliver(emu, p, content)


def send_photo(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    stored = _file_param(emu, p["photo"], lambda data, _up: store_photo(emu.world, data))
    content = {"photo": photo_sizes(stored), **_text(p, "caption", "caption_entities", MAX_CAPTION)}
    if p.get("has_spoiler"):
        content["has_media_spoiler"] = True
    return _deliver(emu, p, content)


def send_document(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    def store_new(data: bytes | None, upload: Upload | None) -> StoredFile:
        name = upload.filename if upload else str(p["document"]).rsplit("/", 1)[-1] or "file"
        mime = upload.content_type if upload else mimetypes.guess_type(name)[0] or "application/octet-stream"
        ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        return emu.world.store_file(data, "documents", ext, file_name=name, mime_type=mime)

    stored = _file_param(emu, p["document"], store_new)
    content = {"document": document_object(stored), **_text(p, "caption", "caption_entities", MAX_CAPTION)}
    return _deliver(emu, p, content)


def send_chat_action(emu: BotApiEmulator, p: dict[str, Any]) -> bool:
    emu.world.target_chat(p["chat_id"])
    if p["action"] not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


def _editable(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    """The stored bot message an edit call points at."""
    if "inline_message_id" in p:
        raise bad_request("inline messages are not supported by the emulator")
    if "chat_id" not in p or "message_id" not in p:
        raise bad_request("chat_id and message_id are required to edit a message")
    chat = emu.world.target_chat(p["chat_id"])
    message = chat.messages.get(p["message_id"])
    if message is None:
        raise bad_request("message to edit not found")
    if not emu.world.is_bot_message(message):
        raise bad_request("message can't be edited")
    return message


def _commit_edit(emu: BotApiEmulator, message: dict[str, Any], new: dict[str, Any],
                 markup: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any]:
    """Apply ``new`` fields and markup, or fail with 'message is not modified'."""
    unchanged = all(message.get(k) == new.get(k) for k in keys) and message.get("reply_markup") == markup
    if unchanged:
        raise bad_request(NOT_MODIFIED)
    for key in keys:
        message.pop(key, None)
        if new.get(key) is not None:
            message[key] = new[key]
    message.pop("reply_markup", None)
    if markup:
        message["reply_markup"] = markup
    message["edit_date"] = emu.world.now()
    emu.world.changed.notify()
    return copy.deepcopy(message)


def edit_message_text(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    if "text" not in p:
        raise bad_request("text is required to edit a message (rich_message is not emulated)")
    message = _editable(emu, p)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    new = _text(p, "text", "entities", MAX_TEXT)
    # Omitting reply_markup removes the inline keyboard, as in Telegram.
    markup = check_markup(p.get("reply_markup"), inline_only=True)
    return _commit_edit(emu, message, new, markup, ("text", "entities"))


def edit_message_caption(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    message = _editable(emu, p)
    if not any(k in message for k in ("photo", "document")):
        raise bad_request("there is no caption in the message to edit")
    new = _text(p, "caption", "caption_entities", MAX_CAPTION)
    markup = check_markup(p.get("reply_markup"), inline_only=True)
    return _commit_edit(emu, message, new, markup, ("caption", "caption_entities"))


def edit_message_reply_markup(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    message = _editable(emu, p)
    markup = check_markup(p.get("reply_markup"), inline_only=True)
    return _commit_edit(emu, message, {}, markup, ())


def delete_message(emu: BotApiEmulator, p: dict[str, Any]) -> bool:
    chat = emu.world.target_chat(p["chat_id"])
    if chat.messages.pop(p["message_id"], None) is None:
        raise bad_request("message to delete not found")
    emu.world.changed.notify()
    return True


def answer_callback_query(emu: BotApiEmulator, p: dict[str, Any]) -> bool:
    state = emu.world.callbacks.get(p["callback_query_id"])
    if state is None or state.answer is not None:
        raise bad_request(QUERY_INVALID)
    if len(p.get("text", "")) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    state.answer = {"text": p.get("text"), "show_alert": bool(p.get("show_alert", False)),
                    "url": p.get("url"), "cache_time": p.get("cache_time", 0)}
    emu.world.changed.notify()
    return True


def get_file(emu: BotApiEmulator, p: dict[str, Any]) -> dict[str, Any]:
    stored = emu.world.file(p["file_id"])
    if stored.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.size, "file_path": stored.file_path}


HANDLERS = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "sendChatAction": send_chat_action,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "getFile": get_file,
}
