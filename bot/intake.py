"""Durable intake: an update is stored (the inbox) before its channel is told it arrived, then
handled from there.

    channel ──raw update──► Intake.accept ──one commit──► (caller acknowledges: offset / 200)
                                 │
                                 └─► one task per update ─► Core.handle (marks the row done in
                                                             the same transaction as its effects)

* ``accept`` stores a whole batch in one transaction (a getUpdates page, one webhook POST, one
  WeCom callback) and returns only after the commit: the caller acknowledges to the channel after
  that, so a crash at any instruction loses nothing that was acknowledged.  It then starts
  handling: updates of one session in arrival order (the core's per-session lock is taken in task
  creation order), different sessions concurrently.  A channel with a short answer deadline
  (WeCom: 5 s) answers right after ``accept`` returns.
* A resend (same channel id) is dropped by the unique key: at storing, and again when handled.
* Order per session holds across instances: before an update is handled (its session's lock
  held), any earlier update of the same session still pending in the inbox goes first — handled
  here if this instance owns it or its owner is dead, waited for if a live instance has it in hand.
  (Behind a load balancer one chat's updates can reach different instances; after a takeover the
  adopted update must not be overtaken by the next one.)
* After a crash, rows stored but not handled belong to an instance that is no longer alive;
  :meth:`adopt` takes them over and handles them in their original order (on start, before new
  updates are taken, and whenever another instance's heartbeat stops).
* An update that keeps failing is parked, never retried forever: the core parks it after a few
  exceptions; one that crashes the whole process is counted here, once per recovery that starts
  it, and parked (its sender told) when that count reaches ``max_attempts``.  Rows that were
  already recovered once are re-run one at a time, so only the culprit is counted again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.intake_recovery import Recovery
from handlers.channel import Inbound
from models import hot
from models.enums import Channel, InboxStatus
from models.runtime import InboundEvent

log = logging.getLogger(__name__)


class InboundAdapter(Protocol):
    """The inbound half of a channel, as the intake needs it."""

    channel: Channel

    def parse(self, raw: dict[str, Any], received_at: datetime) -> Inbound | None:
        """The neutral event for a raw update, or None for an update Fieldbot does not handle
        (raises on an update that cannot be read: it is parked with the error)."""

    async def finish(self, inbound: Inbound, toast: str | None) -> None:
        """After handling (e.g. answer the pressed button); must not raise."""


class Intake(Recovery):
    def __init__(self, app, core, adapters: dict[Channel, InboundAdapter], instance_id: str, *,  # noqa: ANN001
                 max_attempts: int = 5, max_in_flight: int = 500):
        self.app = app
        self.core = core
        self.adapters = adapters
        self.instance_id = instance_id
        self.max_attempts = max_attempts
        self.max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task] = set()
        self._in_flight: set[tuple[Channel, str]] = set()
        self._room = asyncio.Event()
        self._room.set()
        self.accepted = 0  # new updates stored by this instance
        self.parked = 0
        self.alive: set[str] = {instance_id}  # live instances, as of the last heartbeat
        self.wait_for_others = 10.0  # seconds to wait for another live instance's earlier update
        core.before = self._earlier_first

    # -- taking updates in ------------------------------------------------------------------
    async def accept(self, channel: Channel, items: Sequence[tuple[str, dict[str, Any]]], *,
                     wait: bool = False) -> int:
        """Store a batch of raw updates in one transaction, then start handling the new ones.

        Returns when the batch is durable (the caller may now acknowledge it to the channel);
        raises if it could not be stored (then the caller must not acknowledge).  Returns the
        number of updates that were new.  ``wait``: return only once they are handled too
        (benchmarks and tests).
        """
        adapter = self.adapters[channel]
        now = self.app.clock.now()
        rows: list[dict[str, Any]] = []
        parsed: dict[str, Inbound] = {}
        for external_id, raw in items:
            try:
                inbound = adapter.parse(raw, now)
            except Exception as exc:  # a malformed update: keep it for an operator, never crash
                log.warning("update %s:%s cannot be read, parked: %s", channel.value, external_id, exc)
                rows.append(self._row(channel, external_id, raw, now, status=InboxStatus.PARKED,
                                      error=f"unreadable: {type(exc).__name__}: {exc}"[:1000]))
                continue
            if inbound is None:
                continue  # an update kind Fieldbot does not handle: nothing to keep
            parsed[external_id] = inbound
            rows.append(self._row(channel, external_id, raw, now, session_key=inbound.session_key))
        if not rows:
            return 0
        insert = pg_insert if self.app.db.dialect == "postgresql" else sqlite_insert
        statement = (insert(InboundEvent).values(rows)
                     .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                     .returning(InboundEvent.external_id, InboundEvent.id))

        async def store(session: Any) -> dict[str, int]:  # noqa: ANN401
            return dict((await session.execute(statement)).all())

        # One COMMIT shared with the units that arrive meanwhile; plain SQL on SQLite's writer
        # (PostgreSQL: the one multi-row INSERT above, one round trip).
        fast = (lambda q: hot.store_inbox(q, rows)) if self.app.db.thread is not None else None
        stored = await self.app.db.unit(store, fast=fast)
        new = []
        for key, _ in items:
            if key in stored and key in parsed and parsed[key].inbox_id is None:
                parsed[key].inbox_id = stored[key]
                new.append(parsed[key])
        self.parked += sum(1 for r in rows if r["status"] == InboxStatus.PARKED and r["external_id"] in stored)
        self.accepted += len(new)
        tasks = [self._start(adapter, inbound) for inbound in new]
        if wait:
            await asyncio.gather(*(t for t in tasks if t is not None))
        return len(new)

    def _row(self, channel: Channel, external_id: str, raw: dict[str, Any], now: datetime, *,
             status: InboxStatus = InboxStatus.PENDING, error: str | None = None,
             session_key: str | None = None) -> dict[str, Any]:
        return {"channel": channel, "external_id": external_id, "received_at": now, "status": status,
                "payload": raw, "attempts": 0, "last_error": error, "instance_id": self.instance_id,
                "session_key": session_key}

    async def wait_for_room(self) -> None:
        """Back-pressure for pollers: wait while too many updates are being handled."""
        await self._room.wait()

    # -- handling ---------------------------------------------------------------------------
    def _start(self, adapter: InboundAdapter, inbound: Inbound) -> asyncio.Task | None:
        key = (inbound.channel, inbound.update_id)
        if key in self._in_flight:
            return None
        self._in_flight.add(key)
        if len(self._in_flight) >= self.max_in_flight:
            self._room.clear()
        task = asyncio.create_task(self._handle(adapter, inbound), name=f"update-{inbound.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, adapter: InboundAdapter, inbound: Inbound) -> None:
        try:
            toast = await self.core.handle(inbound)
            await adapter.finish(inbound, toast)
        except asyncio.CancelledError:
            raise
        except Exception:  # the core parks what fails; this is the database being gone
            log.exception("update %s:%s was not handled; it stays in the inbox", inbound.channel.value,
                          inbound.update_id)
        finally:
            self._in_flight.discard((inbound.channel, inbound.update_id))
            if len(self._in_flight) < self.max_in_flight:
                self._room.set()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every update started here is handled (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def stop(self) -> None:
        """Cancel handling in progress (as a crash would): those rows stay pending."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
