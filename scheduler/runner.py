"""The scheduler: APScheduler 3 periodic jobs with fixed ids, run only by the leader.

``tick()`` runs every job once (tests drive it with a fixed clock); ``start()`` hands the same
jobs to APScheduler — each its own interval job with a fixed id, ``coalesce=True`` and
``max_instances=1`` — so a slow scan is never overlapped by its next run and missed runs collapse
into one.

APScheduler keeps time by the real wall clock, never ``app.clock``: the jobs' first run is "now"
in real time, so nothing is ever replayed.  (Seeded from a test's fixed clock a year back,
APScheduler would compute every missed 30-second run before the first one, blocking the loop for
seconds.)  A restarted instance starts afresh the same way: the due columns in the database are
the memory of what is owed, not the job store, so a missed tick needs no catch-up — the next scan
finds everything still due.  The jobs themselves get ``app.clock.now()``.

Before each run the job asks :class:`~scheduler.leader.Leadership`; once leadership is lost no
job starts until it is regained.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.base import Job
from scheduler.leader import Leadership

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


def default_jobs() -> dict[str, Job]:
    """Every chase, by its fixed job id (order matters in ``tick()``: SLA first)."""
    from scheduler import ack, callback, daily, dispatch, monthly_report, sla

    return {
        "sla": sla.run,
        "dispatch-chase": dispatch.run,
        "ack-chase": ack.run,
        "daily-checkin": daily.run,
        "callback": callback.run,
        monthly_report.JOB_ID: monthly_report.run,
    }


class Scheduler:
    def __init__(self, app: App, *, on_sent: Callable[[], None] | None = None,
                 jobs: dict[str, Job] | None = None):
        self.app = app
        self.on_sent = on_sent or (lambda: None)
        self.jobs = jobs if jobs is not None else default_jobs()
        self.leadership = Leadership(app.db)
        self._aps: AsyncIOScheduler | None = None
        self.runs: dict[str, int] = {name: 0 for name in self.jobs}
        self._running: set[asyncio.Task] = set()

    async def run_job(self, name: str) -> int:
        """One run of one job, if this instance leads; exceptions are logged, not raised."""
        if not await self.leadership.check():
            return 0
        task = asyncio.current_task()
        self._running.add(task)
        try:
            acted = await self.jobs[name](self.app, self.app.clock.now())
        except Exception:
            log.exception("scheduler job %s failed; it runs again next tick", name)
            return 0
        finally:
            self._running.discard(task)
        self.runs[name] += 1
        if acted:
            self.on_sent()
        return acted

    async def tick(self) -> dict[str, int]:
        return {name: await self.run_job(name) for name in self.jobs}

    def start(self) -> None:
        """Schedule every job on the real clock: first run right away, then every tick."""
        interval = self.app.config.scheduler.tick.total_seconds()
        now = datetime.now(timezone.utc)  # real time, not app.clock: see the module docstring
        self._aps = AsyncIOScheduler(timezone="UTC")
        for name in self.jobs:
            self._aps.add_job(self.run_job, IntervalTrigger(seconds=interval, start_date=now, timezone="UTC"),
                              args=[name], id=name, name=name, next_run_time=now, coalesce=True,
                              max_instances=1, replace_existing=True, misfire_grace_time=max(1, int(interval)))
        self._aps.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """No new runs; the runs in progress finish (their scans commit or roll back whole)
        before the lock is released — a clean stop cuts no job short."""
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        running = [t for t in self._running if t is not asyncio.current_task()]
        if running:
            await asyncio.wait(running, timeout=timeout)
        await self.leadership.release()
