"""The scheduler runner: fixed job ids, one leader among instances on PostgreSQL (advisory lock),
failover when the leader goes, a failing job does not stop the others, and `enabled = false`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.app import App, build_app
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
