"""Running instances and their heartbeats: what a dead instance had in hand is taken over within
seconds, not after a lease runs out.

Each ``fieldbot run`` process registers a row in ``instances`` and beats every ``beat`` seconds.
An instance is dead when its heartbeat is older than ``dead_after``, or at once when it ran on
this host and its process is gone (a restart after ``kill -9`` adopts its work immediately).  At
every beat the survivors release a dead instance's outbox leases (its rows are sent by whoever
claims them next) and adopt its pending inbox rows (see :class:`bot.intake.Intake`).

Times here are the real wall clock, never the application clock a test may fix: liveness is
about seconds that really passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from models.enums import OutboxStatus
from models.runtime import Instance, OutboxMessage

log = logging.getLogger(__name__)


#: Instances running in this process (tests run several); another row with our host and pid is
#: a previous life of this pid, dead.
_HERE: set[str] = set()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


class Instances:
    def __init__(self, app, *, beat: float = 2.0, dead_after: float = 10.0):  # noqa: ANN001
        self.app = app
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()[:120]
        self.pid = os.getpid()
        self.beat_interval = beat
        self.dead_after = dead_after
        self.released = 0  # outbox leases of dead instances released by this one

    async def register(self) -> list[str]:
        """Add this instance; returns the ids of the instances alive now (this one included)."""
        now = _now()
        async with self.app.db.write() as session:
            session.add(Instance(id=self.id, host=self.host, pid=self.pid, started_at=now, heartbeat_at=now))
        _HERE.add(self.id)
        log.info("instance %s (pid %d on %s) started", self.id[:8], self.pid, self.host)
        return await self.beat()

    async def beat(self) -> list[str]:
        """Renew our heartbeat, bury the dead (releasing their outbox leases); the live ids."""
        now = _now()
        async with self.app.db.write() as session:
            await session.execute(update(Instance).where(Instance.id == self.id).values(heartbeat_at=now)
                                  .execution_options(synchronize_session=False))
            rows = (await session.execute(select(Instance.id, Instance.host, Instance.pid, Instance.heartbeat_at))).all()
            dead = [r.id for r in rows if r.id != self.id and self._dead(r, now)]
            alive = [r.id for r in rows if r.id not in dead]
            if self.id not in alive:  # our row was removed (we were presumed dead): register again
                session.add(Instance(id=self.id, host=self.host, pid=self.pid, started_at=now, heartbeat_at=now))
                alive.append(self.id)
            if dead:
                await session.execute(delete(Instance).where(Instance.id.in_(dead)))
            released = (await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.leased_by.is_not(None),
                       OutboxMessage.leased_by.not_in(alive))
                .values(lease_until=None, leased_by=None).execution_options(synchronize_session=False)
            )).rowcount
        if dead:
            log.warning("instance(s) %s stopped beating; taking over their work", ", ".join(d[:8] for d in dead))
        if released:
            self.released += released
            log.warning("released %d outbox message(s) leased by a stopped instance", released)
        return alive

    def _dead(self, row, now: datetime) -> bool:  # noqa: ANN001
        if row.heartbeat_at < now - timedelta(seconds=self.dead_after):
            return True
        if row.host != self.host:
            return False
        if row.pid == self.pid:
            return row.id not in _HERE
        return not _process_alive(row.pid)

    async def unregister(self) -> None:
        """A clean stop: our row goes, so others adopt what is left at once."""
        _HERE.discard(self.id)
        with contextlib.suppress(Exception):
            async with self.app.db.write() as session:
                await session.execute(delete(Instance).where(Instance.id == self.id))
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING,
                                                OutboxMessage.leased_by == self.id)
                    .values(lease_until=None, leased_by=None).execution_options(synchronize_session=False))

    async def run(self, on_beat: Callable[[list[str]], Awaitable[None]]) -> None:
        """Beat until cancelled, handing the live ids to ``on_beat`` each time."""
        while True:
            await asyncio.sleep(self.beat_interval)
            try:
                await on_beat(await self.beat())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("heartbeat failed; trying again", exc_info=True)
