"""The scheduler runner: fixed job ids, one leader among instances on PostgreSQL (advisory lock),
failover when the leader goes, no job once leadership is lost, a failing job does not stop the
others, APScheduler on the real clock (a test's fixed clock replays nothing), and
`enabled = false`."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest

from bot.app import App, FixedClock, build_app
from bot.config import Config
from bot.runtime import build_runtime
from models.migrate import upgrade
from scheduler.runner import Scheduler, default_jobs
from tests.conftest import make_config


def counting_job(counter: list[str], name: str):  # noqa: ANN201
    async def run(app: App, now: datetime) -> int:
        counter.append(name)
        return 0
    return run


async def test_only_one_instance_leads_on_postgresql_and_another_takes_over(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one instance")
    first, second = build_app(make_config(db_url, tmp_path)), build_app(make_config(db_url, tmp_path))
    await upgrade(first.db)
    ran: list[str] = []
    a = Scheduler(first, jobs={"probe": counting_job(ran, "a")})
    b = Scheduler(second, jobs={"probe": counting_job(ran, "b")})
    try:
        for _ in range(3):
            await a.tick()
            await b.tick()
        assert ran == ["a", "a", "a"] and a.leadership.is_leader and not b.leadership.is_leader
        await a.stop()  # the leader goes away (its lock's session ends)
        await b.tick()
        assert ran[-1] == "b" and b.leadership.is_leader
        await a.tick()
        assert ran[-1] == "b" and not a.leadership.is_leader  # the old leader does not come back
    finally:
        await a.stop()
        await b.stop()
        await first.close()
        await second.close()


async def test_a_leader_that_loses_its_lock_runs_no_job(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one instance")
    first, second = build_app(make_config(db_url, tmp_path)), build_app(make_config(db_url, tmp_path))
    ran: list[str] = []
    a = Scheduler(first, jobs={"probe": counting_job(ran, "a")})
    b = Scheduler(second, jobs={"probe": counting_job(ran, "b")})
    admin = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await a.tick()
        await b.tick()
        assert ran == ["a"]
        pid = await admin.fetchval("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
        deadline = time.monotonic() + 2  # no check needed: the driver reports the session's end
        while a.leadership.is_leader and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not a.leadership.is_leader
        await a.tick()
        assert ran == ["a"]  # nothing ran on the instance that lost the lock
        await b.tick()
        assert ran == ["a", "b"]
    finally:
        await admin.close()
        await a.stop()
        await b.stop()
        await first.close()
        await second.close()


async def test_start_keeps_real_time_and_replays_no_missed_tick(config: Config) -> None:
    """Tests run on a fixed clock far in the past; APScheduler must not compute a year of missed
    30-second runs (it blocked the loop for seconds at each start).  A guard, not a benchmark."""
    fixed = FixedClock(datetime.now(timezone.utc) - timedelta(days=365))
    app = build_app(config, fixed)
    await upgrade(app.db)
    seen: list[datetime] = []

    async def record(app: App, now: datetime) -> int:
        seen.append(now)
        return 0

    s = Scheduler(app, jobs=dict.fromkeys(default_jobs(), record))
    stalls: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            stalls.append(now - last)
            last = now

    watch = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0.05)
        started = time.monotonic()
        s.start()
        deadline = time.monotonic() + 5
        while len(seen) < len(s.jobs) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert time.monotonic() - started < 5 and max(stalls) < 0.5
        assert len(seen) == len(s.jobs) and set(seen) == {fixed.at}  # each ran once, on the app's clock
        interval = app.config.scheduler.tick
        real_now = datetime.now(timezone.utc)
        for job in s._aps.get_jobs():  # next run one tick from real now, not a year back
            assert abs(job.next_run_time - (real_now + interval)) < timedelta(seconds=5)
    finally:
        watch.cancel()
        await s.stop()
        await app.close()


async def test_sqlite_instance_always_leads(app: App) -> None:
    if app.db.dialect != "sqlite":
        pytest.skip("SQLite only")
    ran: list[str] = []
    s = Scheduler(app, jobs={"probe": counting_job(ran, "x")})
    try:
        await s.tick()
        assert ran == ["x"] and s.leadership.is_leader
    finally:
        await s.stop()


async def test_a_failing_job_is_logged_and_the_others_still_run(app: App, caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    async def broken(app: App, now: datetime) -> int:
        raise RuntimeError("scan failed")

    s = Scheduler(app, jobs={"broken": broken, "probe": counting_job(ran, "ok")})
    try:
        assert await s.tick() == {"broken": 0, "probe": 0}
        assert ran == ["ok"] and "scheduler job broken failed" in caplog.text
    finally:
        await s.stop()  # on PostgreSQL this releases the leadership lock's connection


async def test_apscheduler_jobs_have_fixed_ids_and_never_overlap(app: App) -> None:
    s = Scheduler(app)
    s.start()
    try:
        jobs = {job.id: job for job in s._aps.get_jobs()}
        assert set(jobs) == set(default_jobs()) == {"sla", "dispatch-chase", "ack-chase", "daily-checkin",
                                                    "callback", "monthly-report"}
        assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
    finally:
        await s.stop()


def test_scheduler_can_be_disabled(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    on = build_runtime(build_app(make_config(url, tmp_path, '[telegram]\ntoken = "1:a"\n')))
    off = build_runtime(build_app(make_config(url, tmp_path, '[telegram]\ntoken = "1:a"\n[scheduler]\nenabled = false\n')))
    assert on.scheduler is not None and off.scheduler is None
