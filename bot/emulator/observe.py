"""Reading what the bot did, waiting for it, and steering the server's behaviour.

Why: assertions in tests and the demo's narration need the chat as the person sees it
(current text and inline keyboard after edits), the raw call log, and waits that return as
soon as the bot has acted, so tests never sleep for a guessed duration. Faults, blocking and
rate limits live here too: they are the knobs a test turns before it watches the outcome.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .limits import Fault, Limiter, RateLimits

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

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The custom keyboard (ReplyKeyboardMarkup) the user currently sees, if any."""
        chat = self.world.chats.get(chat_id)
        return copy.deepcopy(chat.reply_keyboard) if chat else None

    def api_calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Logged Bot API calls ``{method, params, status, ok, result, description, via, at}``,
        oldest first; ``method`` filters by name (case-insensitive)."""
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
        """``{too_many_requests, rate_limited, faults_injected, rate_limited_by_chat}``."""
        return self.limiter.counters.as_dict()

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

    async def wait_until_consumed(self, timeout: float = 5.0) -> None:
        """Wait until the bot has confirmed every queued update."""
        await self.wait_until(lambda: not self.world.updates, timeout, "the bot to take all updates")

    # -- knobs -----------------------------------------------------------------------

    def block_chat(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks the bot (403 on sends) or unblocks it. Creates the chat if needed."""
        self.world.ensure_chat(chat_id).blocked = blocked

    def fail_next(self, count: int = 1, *, status: int = 429, retry_after: int = 1,
                  method: str | None = None, description: str | None = None) -> None:
        """Make the next ``count`` calls (to ``method``, or any) fail with ``status``:
        429 (with ``retry_after``), 500, 502, or any other code with ``description``."""
        if count < 1 or status < 400:
            raise ValueError("count must be >= 1 and status an HTTP error code")
        self.limiter.add_fault(Fault(count, status, retry_after, method, description))

    def enable_rate_limits(self, limits: RateLimits | None = None) -> None:
        """Enforce Telegram-like flood limits on sending methods (defaults: 30/s overall,
        1/s per private chat, 20/min per group); excess calls get 429 with retry_after."""
        self.limiter.set_limits(limits or RateLimits())

    def disable_rate_limits(self) -> None:
        self.limiter.set_limits(None)
