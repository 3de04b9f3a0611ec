"""Reading what the bot did, waiting for it, and steering the server's behaviour.

Why: assertions in tests and the demo's narration need the chat as the person sees it
(current text and inline keyboard after edits), the raw call log, and waits that return as
soon as the bot has acted, so tests never sleep for a guessed duration. Faults, blocking and
rate limits live here too: they are the knobs a test turns before it watches the outcome.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .limits import Fault, Limiter, RateLimits, Storm

if TYPE_CHECKING:
    from .state import World

T = TypeVar("T")


class Observing:
    """Mixin of :class:`~bot.emulator.server.BotApiEmulator`: inspection, waits, knobs."""

    world: World
    limiter: Limiter

    # -- reading ---------------------------------------------------------------------

    def history(self, chat_id: int) -> list[dict[str, Any]]:
        """All messages of a chat (users' and bot's), oldest first, edits applied."""
        chat = self.world.chats.get(chat_id)
        return copy.deepcopy(list(chat.messages.values())) if chat else []

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in a chat, in send order, as they look now (edits applied,
        deleted ones gone). Each is a Bot API Message dict: ``text``/``caption``,
        ``reply_markup`` (inline keyboard), ``photo``/``document``, ``edit_date``..."""
        return [m for m in self.history(chat_id) if self.world.is_bot_message(m)]

    def overview(self) -> dict[str, Any]:
        """What the chat page lists: ``{version, bot, users}``. ``users``: every user, by id,
        as a Bot API User plus ``messages`` and ``bot_messages`` (counts in their private chat)
        and ``last`` (a one-line preview of its newest message, or None). ``bot``: the bot's
        User once a token was seen, else None. ``version``: see :meth:`wait_for_change`."""
        users = []
        for user_id, user in sorted(self.world.users.items()):
            chat = self.world.chats.get(user_id)
            messages = list(chat.messages.values()) if chat else []
            users.append({**copy.deepcopy(user), "messages": len(messages),
                          "bot_messages": sum(1 for m in messages if self.world.is_bot_message(m)),
                          "last": _preview(messages[-1]) if messages else None})
        return {"version": self.world.changed.version, "bot": copy.deepcopy(self.world.bot_user),
                "users": users}

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The custom keyboard (ReplyKeyboardMarkup) the user currently sees, if any."""
        chat = self.world.chats.get(chat_id)
        return copy.deepcopy(chat.reply_keyboard) if chat else None

    def api_calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Logged Bot API calls, oldest first (by completion); ``method`` filters by name
        (case-insensitive). Each is a dict:

        - ``method``, ``params`` (as sent; uploads described), ``via`` ("http" or "webhook reply");
        - ``status``, ``ok``, ``result``, ``description``: the method's own outcome. ``ok`` means
          it took effect (a message was stored, ...). A fault that stopped it shows here
          (``status`` 0 for a dropped connection);
        - ``chat_id``, ``message_id``: on an ``ok`` call whose result is a Message (sendMessage,
          sendPhoto, sendDocument, editMessageText, ...), the message it produced;
        - ``at``: unix time the request arrived; ``done``: when the method finished (the
          message was stored); ``answered``: when the HTTP reply was sent or the connection
          dropped (None for webhook-reply calls, which have no reply);
        - ``reply_status``: what the client was answered: the HTTP status, 0 = connection
          dropped. It differs from ``status`` only for a ``when="after"`` fault;
        - ``fault``: ``{source, status, when, delay}`` if fail_next()/storm() hit the call;
          ``client_gone``: True if the client had hung up (timed out) before its reply;
          ``spec_mismatch``: True if it was rejected for not matching the Bot API spec.

        So the messages delivered before some moment T are the ``ok`` entries with a
        ``message_id`` and ``done <= T``; the ones the bot cannot know about are those whose
        ``reply_status`` is not 200 or that have ``client_gone``.
        """
        calls = [c for c in self.world.calls if method is None or c["method"].lower() == method.lower()]
        return copy.deepcopy(calls)

    def spec_mismatches(self) -> list[dict[str, Any]]:
        """Calls rejected because they do not match the Bot API spec (unknown method,
        unknown/missing/mistyped parameter, method not emulated): ``{method, description,
        params}``. A test harness can assert this is empty after a scenario."""
        return [{"method": c["method"], "description": c["description"], "params": copy.deepcopy(c["params"])}
                for c in self.world.calls if c.get("spec_mismatch")]

    def callback_answer(self, callback_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery for a press ``{text, show_alert, url, cache_time}``."""
        state = self.world.callbacks.get(callback_id)
        if state is None:
            raise LookupError(f"unknown callback query {callback_id}")
        return copy.deepcopy(state.answer)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands the bot set for a scope (default scope if None) and language."""
        key = json.dumps(dict(scope or {"type": "default"}), sort_keys=True)
        return copy.deepcopy(self.world.commands.get((key, language_code), []))

    def file_bytes(self, file_id: str) -> bytes | None:
        """Bytes of a stored file (a bot upload or an injected photo)."""
        stored = self.world.files.get(file_id)
        return stored.data if stored else None

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (getUpdates offset or webhook 2xx)."""
        return copy.deepcopy(self.world.updates)

    def webhook(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.world.webhook)

    @property
    def counters(self) -> dict[str, Any]:
        """``{too_many_requests, rate_limited, faults_injected, storm_faults,
        connections_dropped, replies_delayed, faulted_after_execution, rate_limited_by_chat}``
        (see :class:`~bot.emulator.limits.Counters`)."""
        return self.limiter.counters.as_dict()

    # -- the clock -------------------------------------------------------------------

    def follow_clock(self, source: Callable[[], float] | None) -> None:
        """Stamp messages by ``source`` (unix seconds), e.g. the bot's clock in a demo or test that
        sets it, so the bot and Telegram agree on every ``date``; None: back to the real clock.
        Python only (a callable does not travel over HTTP)."""
        self.world.clock = source or time.time

    # -- waiting ---------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
        """Wait until ``predicate()`` is truthy (re-checked after every change); return it."""
        result = await self.world.changed.wait_for(predicate, timeout)
        if not result:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        return result

    async def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until the chat holds at least ``count`` bot messages in total; return them all."""
        def enough() -> list[dict[str, Any]] | None:
            messages = self.bot_messages(chat_id)
            return messages if len(messages) >= count else None

        try:
            return await self.wait_until(enough, timeout)
        except TimeoutError:
            texts = [m.get("text", m.get("caption")) for m in self.bot_messages(chat_id)]
            raise TimeoutError(f"timed out after {timeout}s waiting for {count} bot messages in chat "
                               f"{chat_id}; got {len(texts)}: {texts}") from None

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until ``method`` was called at least ``count`` times (any outcome)."""
        def enough() -> list[dict[str, Any]] | None:
            calls = self.api_calls(method)
            return calls if len(calls) >= count else None

        return await self.wait_until(enough, timeout, f"{count} call(s) to {method}")

    async def wait_for_callback_answer(self, callback_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_until(lambda: self.callback_answer(callback_id), timeout,
                                     f"answerCallbackQuery for {callback_id}")

    async def wait_for_change(self, since: int = 0, timeout: float = 25.0) -> int:
        """A long poll: the emulator's change counter (``overview()["version"]``) as soon as it
        is above ``since`` (at once if it already is), or as it is when ``timeout`` (at most
        60 s) has passed. Any change counts: a message, an edit, a call, a queued update."""
        changed = self.world.changed
        await changed.wait_for(lambda: changed.version > since or self.world.closed,
                               max(0.0, min(float(timeout), 60.0)))
        return changed.version

    async def wait_until_consumed(self, timeout: float = 5.0) -> None:
        """Wait until the bot has confirmed every queued update."""
        await self.wait_until(lambda: not self.world.updates, timeout, "the bot to take all updates")

    # -- knobs -----------------------------------------------------------------------

    def block_chat(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks the bot (403 on sends) or unblocks it. Creates the chat if needed."""
        self.world.ensure_chat(chat_id).blocked = blocked

    def fail_next(self, count: int = 1, *, status: int = 429, retry_after: int = 1,
                  method: str | None = None, description: str | None = None,
                  delay: float = 0.0, when: str = "before") -> None:
        """Make the next ``count`` calls (to ``method``, or any) fail.

        ``status``: 429 (with ``retry_after``), 500, 502 or any other code with
        ``description``; 0 closes the connection without an HTTP response (aiogram:
        TelegramNetworkError); -1 sends the real reply, but only after ``delay`` seconds (a
        client with a shorter timeout times out). ``delay`` also holds an error or a drop.
        ``when="before"``: the method does not run (for -1: it runs after the delay).
        ``when="after"``: the method runs at once for real (the message is delivered and
        logged with its message_id), then the reply is failed, dropped or delayed.
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        self.limiter.add_fault(Fault(status=status, retry_after=retry_after, method=method,
                                     description=description, delay=float(delay), when=when,
                                     remaining=count))

    def storm(self, duration: float, *, status: int = 429, retry_after: int = 1,
              method: str | None = None, ratio: float = 1.0, seed: int = 0,
              description: str | None = None, delay: float = 0.0, when: str = "before") -> dict[str, Any]:
        """For ``duration`` seconds from now, fail every matching call (to ``method``, or
        any), or a fraction ``ratio`` of them chosen by a generator seeded with ``seed`` (the
        same call sequence fails the same way every run). ``status``, ``retry_after``,
        ``description``, ``delay`` and ``when`` as in :meth:`fail_next`; pending fail_next()
        faults are used first. Returns ``{"ends_at": unix time}``.
        """
        if duration <= 0:
            raise ValueError("duration must be > 0 seconds")
        self.limiter.add_storm(Storm(status=status, retry_after=retry_after, method=method,
                                     description=description, delay=float(delay), when=when,
                                     until=time.monotonic() + duration, ratio=ratio, seed=seed))
        return {"ends_at": time.time() + duration}

    def clear_faults(self) -> None:
        """Forget pending fail_next() faults and end all storms now (counters are kept)."""
        self.limiter.clear_faults()

    def enable_rate_limits(self, limits: RateLimits | None = None) -> None:
        """Enforce Telegram-like flood limits on sending methods (defaults: 30/s overall,
        1/s per private chat, 20/min per group); excess calls get 429 with retry_after."""
        self.limiter.set_limits(limits or RateLimits())

    def disable_rate_limits(self) -> None:
        self.limiter.set_limits(None)


def _preview(message: dict[str, Any]) -> str:
    """One line for a chat list: the text or caption, or what kind of message it is."""
    text = message.get("text") or message.get("caption")
    if text:
        return " ".join(text.split())[:80]
    kind = next((k for k in ("photo", "document", "location", "contact") if k in message), "message")
    return f"[{kind}]"
