"""Shared fixtures: a real SQLite file always, a real PostgreSQL database when
``FIELDBOT_TEST_PG_URL`` is set (CI starts a throwaway server and sets it); and the channels the
end-to-end scenarios run on (``channel``: every one in ``FIELDBOT_TEST_CHANNELS``, both Telegram
runtimes — aiogram and python-telegram-bot — and WeCom unless told otherwise).

Each PostgreSQL test gets a database of its own, created and dropped around it, so tests stay
independent and can run in any order.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import App, Clock, build_app
from bot.config import Config, parse_config
from models.db import Database
from models.migrate import upgrade
from tests.support.channels import CHANNELS, driver_class

PG_URL = os.environ.get("FIELDBOT_TEST_PG_URL", "")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="FIELDBOT_TEST_PG_URL not set")),
]


def _pg_admin(sql: str) -> None:
    import asyncpg

    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fieldbot.db'}"
        return
    name = f"fbtest_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "telegram: the scenario needs Telegram itself (its client's profile, "
                            "reply keyboards, callback answers, groups, raw updates): on Telegram channels only")
    config.addinivalue_line("markers", "skipif_platform(platform, reason): a product defect shows on that "
                            "platform (reason names it): the scenario is skipped there, and runs elsewhere")


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    """The channel a :class:`tests.support.world.World` plays people on (its driver's name)."""
    platform = driver_class(request.param).platform
    if request.node.get_closest_marker("telegram") and platform != "telegram":
        pytest.skip(f"Telegram-only scenario; {request.param} is not Telegram")
    for mark in request.node.iter_markers("skipif_platform"):
        if mark.args[0] == platform:
            pytest.skip(f"product defect on {platform}: {mark.kwargs['reason']}")
    return request.param


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from _fresh_url(backend, tmp_path)


def make_config(db_url: str, tmp_path: Path, extra: str = "") -> Config:
    return parse_config(
        f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n[storage]\nmedia_dir = "{tmp_path / "media"}"\n'
        + extra,
        environ={},
    )


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    return make_config(db_url, tmp_path)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await upgrade(database)
    yield database
    await database.dispose()


@pytest.fixture
async def app(config: Config) -> AsyncIterator[App]:
    application = build_app(config, Clock())
    await upgrade(application.db)
    yield application
    await application.close()
