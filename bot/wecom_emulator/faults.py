"""Global switches: an IP allow-list and injected faults for the next N calls.

Why: the adapter's token refresh, back-off and outbox retries only run when WeCom pushes back
(PROTOCOL.md §3.1, §4): 45009 (frequency), 45033 (concurrency), -1 (system busy), 60020 (an
egress IP not in 企业可信IP), a slow answer past the client's timeout, or a connection that ends
without an answer. A test turns the knob, then watches what the bot does.

A fault hits the next ``count`` calls to ``path`` (e.g. ``"message/send"``; None = every
``/cgi-bin`` call, gettoken included). ``when="before"``: the API does nothing and answers the
error (or drops, or is late); ``when="after"``: the call takes effect (a message is delivered) and
only the answer is spoiled, so the bot cannot know it went out.
"""

from __future__ import annotations

from dataclasses import dataclass

WHEN = ("before", "after")


@dataclass
class Fault:
    errcode: int | None = None  # the errcode answered (HTTP 200), e.g. 45009, 45033, -1
    drop: bool = False  # close the connection without an HTTP answer
    delay: float = 0.0  # seconds before answering (alone: a slow but correct answer)
    path: str | None = None
    when: str = "before"
    remaining: int = 1

    def __post_init__(self) -> None:
        if self.when not in WHEN:
            raise ValueError(f"when must be one of {WHEN}")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.errcode is None and not self.drop and self.delay == 0:
            raise ValueError("a fault needs an errcode, drop=True or a delay")
        if self.errcode is not None and self.drop:
            raise ValueError("errcode and drop exclude each other")
        if self.remaining < 1:
            raise ValueError("count must be >= 1")
        if self.path is not None:
            self.path = self.path.strip("/").removeprefix("cgi-bin/")

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or self.path == path)

    def describe(self) -> dict:
        return {"errcode": self.errcode, "drop": self.drop, "delay": self.delay, "when": self.when}


class Switches:
    """The fault queue and the IP allow-list (None = every IP allowed)."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.allowlist: set[str] | None = None

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(path):
                fault.remaining -= 1
                self.faults = [f for f in self.faults if f.remaining > 0]
                return fault
        return None

    def ip_allowed(self, ip: str | None) -> bool:
        return self.allowlist is None or (ip or "") in self.allowlist
