"""The emulated server's memory: users, chats, messages, files, the update queue, the call log.

Why a plain in-memory model: tests and the demo need a fresh, inspectable Telegram in
milliseconds. Every object is stored in its Bot API JSON shape, so what the bot receives,
what tests read and what the control endpoints return are the same dicts. All mutation
happens on the event loop thread, so no locks are needed; :class:`Notifier` wakes waiters
(long polls, webhook delivery, test wait helpers) after each change.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import BLOCKED_BY_USER, CHAT_NOT_FOUND, KICKED_FROM_GROUP, ApiError, bad_request

T = TypeVar("T")
DEFAULT_UPDATE_TYPES_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
CALL_LOG_LIMIT = 10_000  # a demo may run for hours; keep the log bounded


class Notifier:
    """Broadcast "something changed" to any number of async waiters, from sync code.

    ``version`` counts the changes, so a waiter in another process (the chat page's long poll)
    can ask for "anything newer than what I saw"."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def notify(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], T], timeout: float) -> T | None:
        """Return the first truthy ``predicate()`` result, or None once ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._event
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass


@dataclass
class ChatState:
    chat: dict[str, Any]  # Bot API Chat object
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # insertion = send order
    next_message_id: int = 1
    blocked: bool = False
    reply_keyboard: dict[str, Any] | None = None  # custom keyboard the user currently sees


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None  # None for files known only by URL (the emulator never fetches)
    meta: dict[str, Any] = field(default_factory=dict)  # width/height, file_name, mime_type

    @property
    def size(self) -> int:
        return len(self.data or b"")


@dataclass
class CallbackState:
    query: dict[str, Any]
    answer: dict[str, Any] | None = None


def chat_type_for(chat_id: int) -> str:
    """Telegram's id ranges: users > 0, basic groups < 0, supergroups/channels <= -10**12."""
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


class World:
    """Everything the emulated Telegram knows. Methods here are sync and raise ApiError."""

    def __init__(self) -> None:
        self.bot_user: dict[str, Any] | None = None
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1
        self.allowed_updates: list[str] = []
        self.callbacks: dict[str, CallbackState] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.calls: collections.deque[dict[str, Any]] = collections.deque(maxlen=CALL_LOG_LIMIT)
        self.changed = Notifier()
        self.closed = False
        self._file_seq = 0
        #: Unix seconds: the real clock, or another one the emulator follows (:meth:`now`).
        self.clock: Callable[[], float] = time.time

    def now(self) -> int:
        """What the emulated Telegram stamps messages with: the real time, or — following the
        bot's clock (``BotApiEmulator.follow_clock``) — the bot's, so a phone's send time and the
        bot's receive time agree when the bot runs on a clock of its own (the demo's day)."""
        return int(self.clock())

    # -- users and chats -------------------------------------------------------------

    def ensure_user(self, user_id: int, **profile: Any) -> dict[str, Any]:
        """Create or update a user; ``profile`` keys are Bot API User fields (None = keep)."""
        allowed = {"first_name", "last_name", "username", "language_code", "is_premium"}
        unknown = set(profile) - allowed
        if unknown:
            raise ValueError(f"unknown user profile fields: {sorted(unknown)}")
        user = self.users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            self.users[user_id] = user
        user.update({k: v for k, v in profile.items() if v is not None})
        if user_id in self.chats:  # keep the private chat's name in step with the profile
            self.chats[user_id].chat.update(_private_chat(user))
        return user

    def ensure_chat(self, chat_id: int, *, title: str | None = None, type: str | None = None) -> ChatState:
        state = self.chats.get(chat_id)
        if state is None:
            kind = type or chat_type_for(chat_id)
            if kind == "private":
                chat = _private_chat(self.ensure_user(chat_id))
            else:
                chat = {"id": chat_id, "type": kind, "title": title or f"Group {abs(chat_id)}"}
            state = self.chats[chat_id] = ChatState(chat)
        elif title:
            state.chat["title"] = title
        return state

    def target_chat(self, chat_id: int | str) -> ChatState:
        """The chat a bot addresses; raises Telegram's 400/403 for unknown or blocked chats."""
        state = None
        if isinstance(chat_id, int):
            state = self.chats.get(chat_id)
        elif chat_id.startswith("@"):
            state = next((c for c in self.chats.values()
                          if c.chat.get("username", "").lower() == chat_id[1:].lower()), None)
        if state is None:
            raise bad_request(CHAT_NOT_FOUND)
        if state.blocked:
            raise ApiError(403, BLOCKED_BY_USER if state.chat["type"] == "private" else KICKED_FROM_GROUP)
        return state

    # -- messages --------------------------------------------------------------------

    def add_message(self, chat: ChatState, sender: dict[str, Any], content: dict[str, Any],
                    *, date: int | None = None) -> dict[str, Any]:
        message = {"message_id": chat.next_message_id, "from": dict(sender), "chat": dict(chat.chat),
                   "date": date if date is not None else self.now(), **content}
        chat.next_message_id += 1
        chat.messages[message["message_id"]] = message
        self.changed.notify()
        return message

    def is_bot_message(self, message: dict[str, Any]) -> bool:
        return bool(self.bot_user) and message["from"]["id"] == self.bot_user["id"]

    # -- updates ---------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update unless the bot's ``allowed_updates`` filters its type out."""
        allowed = self.webhook["allowed_updates"] if self.webhook else self.allowed_updates
        if allowed:
            if kind not in allowed:
                return None
        elif kind in DEFAULT_UPDATE_TYPES_EXCLUDED:
            return None
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.changed.notify()
        return update

    def enqueue_raw(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update exactly as given (no allowed_updates filter), numbering it if it has
        no ``update_id``; a given id is kept, and later ids continue above it."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update = {"update_id": self.next_update_id, **update}
        update_id = update["update_id"]
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise ValueError(f"update_id must be an integer, got {update_id!r}")
        self.next_update_id = max(self.next_update_id, update_id + 1)
        self.updates.append(update)
        self.changed.notify()
        return update

    def confirm_updates(self, offset: int) -> None:
        """Telegram semantics: a positive offset forgets updates below it; a negative one
        keeps only the last ``-offset`` updates."""
        before = len(self.updates)
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        if len(self.updates) != before:
            self.changed.notify()

    # -- files -----------------------------------------------------------------------

    def store_file(self, data: bytes | None, folder: str, extension: str, **meta: Any) -> StoredFile:
        self._file_seq += 1
        unique = "AQAD" + secrets.token_urlsafe(9)
        stored = StoredFile(
            file_id=f"{'AgAC' if folder == 'photos' else 'BQAC'}{secrets.token_urlsafe(24)}",
            file_unique_id=unique,
            file_path=f"{folder}/file_{self._file_seq}{extension}",
            data=data,
            meta=meta,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def file(self, file_id: str) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    # -- call log --------------------------------------------------------------------

    def log_call(self, record: dict[str, Any]) -> None:
        self.calls.append(record)
        self.changed.notify()


def _private_chat(user: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for key in ("last_name", "username"):
        if user.get(key):
            chat[key] = user[key]
    return chat
