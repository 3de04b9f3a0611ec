"""Scheduler leadership: one lock connection per instance, one leader per database, and a leader
that stops leading the moment its lock is gone — checked against a real PostgreSQL server
(its ``pg_locks`` and ``pg_stat_activity``), from outside the instances where it matters."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from models.db import Database
from scheduler.leader import APPLICATION_NAME, LOCK_KEY, Leadership, lock_key_parts
from tests.conftest import PG_URL, _fresh_url

pg_only = pytest.mark.skipif(not PG_URL, reason="FIELDBOT_TEST_PG_URL not set")


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    if not PG_URL:
        pytest.skip("FIELDBOT_TEST_PG_URL not set")
    yield from _fresh_url("postgresql", tmp_path)


@pytest.fixture
async def server(pg_url: str) -> AsyncIterator[Server]:
    s = Server(await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://")))
    yield s
    await s.conn.close()


class Server:
    """The view from outside the instances: an admin session on the test database."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def lock_holders(self) -> list[int]:
        """Holders of the leader lock on this database: an advisory lock belongs to a database, and
        instances of other tests on the same server (other databases) lead there, not here."""
        hi, lo = lock_key_parts()
        return [r["pid"] for r in await self.conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2"
            " AND objsubid = 1 AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", hi, lo)]

    async def lock_sessions(self) -> list[int]:
        """Backends of the instances' lock connections on this database (not this admin one)."""
        return [r["pid"] for r in await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")]

    async def terminate(self, pid: int) -> None:
        assert await self.conn.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)


def count_connects(db: Database) -> list[int]:
    """Every new DBAPI connection the instance's engine opens (an SQLAlchemy pool event)."""
    opened: list[int] = []
    event.listen(db.writer.sync_engine, "connect", lambda *_: opened.append(1))
    return opened


def count_lock_queries(db: Database) -> list[str]:
    seen: list[str] = []

    def before(_conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001
        if "pg_locks" in statement or "advisory" in statement:
            seen.append(statement)
    event.listen(db.writer.sync_engine, "before_cursor_execute", before)
    return seen


@contextlib.asynccontextmanager
async def instances(url: str, n: int, **kwargs: float) -> AsyncIterator[list[Leadership]]:
    """``n`` instances on one database, each with its own engine (as separate processes have)."""
    dbs = [Database(url) for _ in range(n)]
    leaders = [Leadership(db, **kwargs) for db in dbs]
    try:
        yield leaders
    finally:
        for leader in leaders:
            await leader.release()
        for db in dbs:
            await db.dispose()


def test_lock_key_split_as_postgresql_shows_bigint_keys() -> None:
    assert lock_key_parts(LOCK_KEY) == (0x46, 0x42534348)
    assert lock_key_parts(-1) == (0xFFFFFFFF, 0xFFFFFFFF)


async def test_sqlite_instance_always_leads(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    leader = Leadership(db)
    try:
        assert await asyncio.gather(*(leader.check() for _ in range(6))) == [True] * 6
        assert leader.is_leader
    finally:
        await leader.release()
        await db.dispose()


async def test_six_jobs_checking_at_once_open_one_connection_and_ask_once(
        pg_url: str, server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scheduler.leader")
    async with instances(pg_url, 1) as [leader]:
        opened, queries = count_connects(leader.db), count_lock_queries(leader.db)
        assert await asyncio.gather(*(leader.check() for _ in range(6))) == [True] * 6
        assert len(opened) == 1 and len(queries) == 1  # one connection, one round trip
        [session] = await server.lock_sessions()
        assert await server.lock_holders() == [session]
        assert await server.conn.fetchval("SELECT application_name FROM pg_stat_activity WHERE pid = $1",
                                          session) == APPLICATION_NAME

        # The next tick asks the server again, on the same connection: is the lock still ours?
        assert await asyncio.gather(*(leader.check() for _ in range(6))) == [True] * 6
        assert len(opened) == 1 and len(queries) == 2 and "pg_locks" in queries[-1]
        assert await server.lock_sessions() == [session]
    gc.collect()
    assert "garbage collector" not in caplog.text
    assert caplog.text.count("now runs the scheduler") == 1


async def test_two_instances_on_one_database_exactly_one_leads(pg_url: str, server: Server) -> None:
    async with instances(pg_url, 2) as (a, b):
        for _ in range(3):
            results = await asyncio.gather(*(x.check() for x in (a, b) for _ in range(6)))
            assert results in ([True] * 6 + [False] * 6, [False] * 6 + [True] * 6)
        leader = a if a.is_leader else b
        assert a.is_leader != b.is_leader and len(await server.lock_holders()) == 1
        assert len(await server.lock_sessions()) == 2  # one connection per instance, no more
        assert leader.is_leader


async def test_leader_whose_connection_is_killed_stops_at_once_and_the_other_takes_over(
        pg_url: str, server: Server, caplog: pytest.LogCaptureFixture) -> None:
    async with instances(pg_url, 2) as (a, b):
        assert await a.check() and not await b.check()
        [pid] = await server.lock_holders()
        await server.terminate(pid)

        assert not await a.check()  # its next check: not the leader
        assert "no longer runs the scheduler" in caplog.text
        assert caplog.text.count("no longer runs the scheduler") == 1
        assert await b.check()  # the other instance takes over on its next check
        assert not await a.check()  # and the old one, reconnected, does not come back
        [holder] = await server.lock_holders()
        assert holder != pid and len(await server.lock_sessions()) == 2


async def test_a_dead_connection_is_replaced_and_the_lock_taken_again(pg_url: str, server: Server) -> None:
    async with instances(pg_url, 1) as [a]:
        opened = count_connects(a.db)
        assert await a.check()
        [pid] = await server.lock_holders()
        await server.terminate(pid)
        assert not await a.check()
        assert await a.check() and len(opened) == 2  # a new connection, the lock re-taken
        [holder] = await server.lock_holders()
        assert holder != pid and await server.lock_sessions() == [holder]


async def test_the_recheck_reads_pg_locks_not_just_whether_the_connection_answers(
        pg_url: str, server: Server, caplog: pytest.LogCaptureFixture) -> None:
    async with instances(pg_url, 2) as (a, b):
        assert await a.check() and not await b.check()
        # The lock vanishes while a's session lives on (as when it was taken on a connection that
        # the garbage collector later closed, or a stray pg_advisory_unlock on this session).
        assert await a._conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        assert await a._conn.scalar(text("SELECT 1")) == 1  # the old check would say "still leader"
        assert await server.lock_holders() == []

        assert not await a.check()
        assert "the advisory lock is no longer held" in caplog.text
        assert await b.check() and not await a.check()


class FreezableProxy:
    """A TCP relay to the server that can stop relaying (a hung network or server) and cut off."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        with contextlib.suppress(asyncio.CancelledError):  # cut off with the test's loop
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                                 return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self.flowing.wait()
            writer.write(data)
            await writer.drain()

    async def close(self) -> None:
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        await self.server.wait_closed()


async def test_a_hung_connection_cannot_hang_the_jobs_and_never_makes_two_leaders(
        pg_url: str, server: Server, caplog: pytest.LogCaptureFixture) -> None:
    url = make_url(pg_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    try:
        async with instances(url.set(port=port).render_as_string(hide_password=False), 1,
                             timeout=0.5) as [a], instances(pg_url, 1) as [b]:
            assert await a.check() and not await b.check()
            proxy.flowing.clear()  # a's server stops answering (its session, and lock, live on)
            started = time.monotonic()
            assert not await a.check()
            assert time.monotonic() - started < 2  # timeout 0.5 s: the socket is cut, not waited on
            assert "timed out" in caplog.text and caplog.text.count("no longer runs the scheduler") == 1
            assert not await b.check()  # nobody leads while the server still holds a's lock

            await proxy.close()  # the network gives up: the server ends a's session
            deadline = time.monotonic() + 10
            while not await b.check():
                assert time.monotonic() < deadline, "the lock was never freed"
                await asyncio.sleep(0.05)
            assert len(await server.lock_holders()) == 1
    finally:
        await proxy.close()


async def test_release_unlocks_and_ends_the_session(pg_url: str, server: Server) -> None:
    async with instances(pg_url, 2) as (a, b):
        assert await a.check() and not await b.check()
        await a.release()
        assert not a.is_leader and await server.lock_holders() == []
        assert len(await server.lock_sessions()) == 1  # only b's: a's connection really ended
        assert await b.check()
