"""Reading what the bot did, waiting for it, and turning the knobs (PROTOCOL.md §9 "Inspection").

Why: a test asserts what a member or customer sees (cards as updated, recalled messages gone), what
WeCom silently threw away (``dropped``), and what broke a rule without an error (``violations``:
truncated text, unwanted passive replies, a failed URL check...). Waits return as soon as the
bot has acted, so tests never sleep for a guessed time. The clock and the faults are knobs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import cards, messages
from .faults import Fault, Switches
from .state import random_id

if TYPE_CHECKING:
    from .state import World

T = TypeVar("T")


class Observing:
    """Mixin of :class:`~.server.WeComEmulator`: inspection, waits, clock and fault knobs."""

    world: World
    switches: Switches

    # -- reading -----------------------------------------------------------------------

    def messages_to(self, userid: str, include_recalled: bool = False) -> list[dict[str, Any]]:
        """A member's app chat, oldest first: ``{msgid, msgtype, <msgtype>: {...}, at, via,
        recalled}``; cards as that member sees them now; dropped messages never appear."""
        return messages.messages_to(self, userid, include_recalled)  # type: ignore[arg-type]

    def card_state(self, task_id: str, userid: str) -> dict[str, Any]:
        """One member's card: ``{card, buttons, disabled, replace_name, clickable_keys, clicks, ...}``."""
        return cards.card_state(self, task_id, userid)  # type: ignore[arg-type]

    def kf_messages_to(self, external_userid: str) -> list[dict[str, Any]]:
        """What a customer got through kf/send_msg and send_msg_on_event, oldest first."""
        return copy.deepcopy(self.world.kf_outbox.get(external_userid, []))

    def kf_session(self, external_userid: str) -> dict[str, Any]:
        """A customer's session: state, servicer, the window (last message, sends since)."""
        person = self.world.customers.get(external_userid)
        if person is None:
            raise LookupError(f"unknown customer {external_userid!r}")
        return {"external_userid": person.external_userid, "open_kfid": person.open_kfid,
                "service_state": person.state, "servicer_userid": person.servicer,
                "last_customer_msg_at": person.last_customer_msg_at, "sends_since": person.sends_since}

    @property
    def violations(self) -> list[dict[str, Any]]:
        """Rules broken without an error: ``{kind, detail, at, ...}`` (text_truncated, passive_reply,
        verify_url_failed, unknown_endpoint, ...). A scenario can assert it is empty."""
        return copy.deepcopy(self.world.violations)

    @property
    def dropped(self) -> list[dict[str, Any]]:
        """Messages accepted with ``ok`` but never shown: ``{userid, msgid, msgtype, reason, at}``;
        reasons per_member_minute_limit, per_member_hour_limit, duplicate_check, kf_duplicate_msgid."""
        return copy.deepcopy(self.world.dropped)

    def deliveries(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Callbacks to the bot, oldest first: ``{id, kind, userid, external_userid, plaintext,
        attempts: [{status, error, nonce, timestamp, elapsed}], delivered, reply, at}``."""
        return copy.deepcopy([d for d in self.world.deliveries if kind is None or d["kind"] == kind])

    def api_calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """Logged /cgi-bin calls, oldest first: ``{path, http_method, query, body, errcode, errmsg,
        at, done, reply, fault}`` (access_token masked; ``reply`` 0 = connection dropped)."""
        return copy.deepcopy([c for c in self.world.calls if path is None or c["path"] == path.strip("/")])

    def media_bytes(self, media_id: str) -> bytes | None:
        media = self.world.media.get(media_id)
        return media.data if media else None

    def menu(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.world.menu)

    @property
    def counters(self) -> dict[str, int]:
        """tokens_issued, wrong_secret, media_downloads, callbacks_given_up, faults_injected,
        connections_dropped, kf_sync_without_token, ..."""
        return dict(self.world.counters)

    def now(self) -> float:
        """The emulator's (fake) clock, unix seconds."""
        return self.world.now()

    # -- waiting -----------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return its value."""
        result = await self.world.changed.wait_for(predicate, timeout)
        if not result:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        return result

    async def wait_for_messages(self, userid: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until the member's chat holds at least ``count`` messages; return them all."""
        def enough() -> list[dict[str, Any]] | None:
            shown = self.messages_to(userid)
            return shown if len(shown) >= count else None

        return await self.wait_until(enough, timeout, f"{count} message(s) to {userid}")

    async def wait_for_kf_messages(self, external_userid: str, count: int = 1,
                                   timeout: float = 5.0) -> list[dict[str, Any]]:
        def enough() -> list[dict[str, Any]] | None:
            shown = self.kf_messages_to(external_userid)
            return shown if len(shown) >= count else None

        return await self.wait_until(enough, timeout, f"{count} kf message(s) to {external_userid}")

    # -- knobs -------------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> float:
        """Move the fake clock forward (tokens, codes, windows and limits all follow); returns now."""
        now = self.world.clock.advance(float(seconds))
        self.world.changed.notify()
        return now

    def follow_clock(self, source: Callable[[], float] | None) -> None:
        """Tell the time by ``source`` (unix seconds), e.g. the bot's clock in a test that sets it,
        so the bot and WeCom agree on every timestamp; None: back to the own fake clock.  Python
        only (a callable does not travel over HTTP); ``advance_clock`` refuses while following."""
        self.world.clock.follow(source)
        self.world.changed.notify()

    def invalidate_token(self) -> None:
        """WeCom revokes the current tokens early: the next call with one gets 40014."""
        for value in self.world.current_token.values():
            self.world.tokens[value].invalid = True

    def expire(self) -> None:
        """The current tokens reach their end now: the next call with one gets 42001."""
        for value in self.world.current_token.values():
            self.world.tokens[value].expires_at = self.world.now()

    def ip_allowlist(self, ips: list[str] | None) -> None:
        """Only these client IPs may call the API (60020 for others; gettoken exempt); None = any."""
        self.switches.allowlist = None if ips is None else set(ips)

    def fail_next(self, count: int = 1, *, errcode: int | None = None, path: str | None = None,
                  delay: float = 0.0, drop: bool = False, when: str = "before") -> None:
        """The next ``count`` calls (to ``path`` like ``"message/send"``, or any) answer ``errcode``
        (45009, 45033, -1, ...) or drop the connection (``drop=True``), after ``delay`` seconds;
        ``delay`` alone gives a slow correct answer. ``when="after"``: the call takes effect first."""
        self.switches.add(Fault(errcode=errcode, drop=drop, delay=float(delay), path=path, when=when,
                                remaining=count))

    def clear_faults(self) -> None:
        self.switches.clear()

    def kf_empty_sync_pages(self, count: int = 1) -> None:
        """The next ``count`` kf/sync_msg calls that have messages to give answer an empty
        ``msg_list`` with ``has_more=1`` (WeCom does this; the adapter must keep pulling)."""
        self.kf_empty_pages = int(count)  # type: ignore[attr-defined]

    def oauth_code(self, userid: str | None = None, external_userid: str | None = None) -> str:
        """A code as the OAuth redirect would carry it, for auth/getuserinfo (single use, 5 min)."""
        if (userid is None) == (external_userid is None):
            raise ValueError("give userid (a member) or external_userid (a WeChat user)")
        identity = ({"userid": self.world.ensure_member(userid).userid} if userid is not None else
                    {"openid": "o" + random_id(27), "external_userid": external_userid})
        code = random_id(64)
        self.world.oauth_codes[code] = (identity, self.world.now(), False)
        return code
