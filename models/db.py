"""Engines and sessions: SQLite (embedded default) or PostgreSQL, chosen by URL.

SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout, and exactly one
writer connection: many concurrent writers on SQLite only fight over one lock (measured ~10× worse
p99), so writes queue on an asyncio-friendly pool of one and begin ``IMMEDIATE`` so a second
process (the CLI next to a running bot) waits on the busy timeout instead of failing mid-way.
Reads use their own small pool.  PostgreSQL uses one ordinary pooled engine for both.

Repositories never commit: a caller opens ``db.write()`` (or ``db.read()``) at the boundary —
one session per inbound update or job — and the block commits or rolls back as a whole.

On SQLite the one writer is handed out by a gate in priority order: ``write(urgent=True)`` (the
outbox marking a message sent the moment the channel answered) goes before every update and job
waiting for it, so the window in which a crash could make a delivered message look unsent stays
one short transaction wide however busy the bot is.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from models.hot import PgSql
from models.writer import FALLBACK, Fast, Writer

T = TypeVar("T")


def sqlite_setup(dbapi_connection: Any, busy_ms: int) -> None:  # noqa: ANN401
    """Every SQLite connection, aiosqlite's or the writer thread's: WAL, foreign keys, a busy
    timeout, synchronous NORMAL; SQLAlchemy, not the sqlite3 module, decides when transactions begin."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_hooks(engine: AsyncEngine, busy_ms: int, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        sqlite_setup(dbapi_connection, busy_ms)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


class WriterGate:
    """One holder at a time; waiters are served urgent first, then in arrival order.

    Stands in front of SQLite's single writer connection (whose pool queue knows no priority).
    Cancellation-safe: a waiter cancelled while being handed the gate passes it on.
    """

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        #: When a list: how long each hold lasted, in seconds (the bench's sweep part reads it).
        self.holds: list[float] | None = None
        self._since = 0.0

    async def acquire(self, urgent: bool = False) -> None:
        if not self._held and not self._waiters:
            self._held = True
            self._since = time.perf_counter()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (0 if urgent else 1, next(self._seq), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed over just as we were cancelled
                self.release()
            raise
        self._since = time.perf_counter()

    def release(self) -> None:
        if self.holds is not None:
            self.holds.append(time.perf_counter() - self._since)
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the gate passes straight to the next waiter
                return
        self._held = False


class Database:
    """Owns the engines; built once by the composition root and passed down."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_ms: int = 5000):
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60)
            _sqlite_hooks(self.writer, busy_timeout_ms, "BEGIN IMMEDIATE")
            self.reader = create_async_engine(url, echo=echo, pool_size=4, max_overflow=0)
            _sqlite_hooks(self.reader, busy_timeout_ms, "BEGIN")
        else:
            self.writer = create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)
            self.reader = self.writer
        self.gate = WriterGate() if self.dialect == "sqlite" else None
        #: SQLite on a file: units of work run in one writer thread with group commit (see
        #: :mod:`models.writer`); PostgreSQL keeps its own concurrency (one session per unit).
        self.thread: Writer | None = None
        if self.gate is not None and self.url.database and self.url.database != ":memory:":
            self.thread = Writer(url, busy_timeout_ms, self.gate)
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)

    @classmethod
    def from_config(cls, cfg: Any) -> Database:
        return cls(
            cfg.database.url.get_secret_value(),
            echo=cfg.database.echo,
            busy_timeout_ms=int(cfg.database.busy_timeout.total_seconds() * 1000),
        )

    @asynccontextmanager
    async def write(self, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-write unit of work: commits when the block ends, rolls back on error.
        ``urgent``: on SQLite, go before everyone waiting for the writer (keep it short)."""
        if self.gate is None:
            async with self._write_sessions() as session, session.begin():
                yield session
            return
        await self.gate.acquire(urgent)
        try:
            async with self._write_sessions() as session, session.begin():
                yield session
        finally:
            self.gate.release()

    async def unit(self, work: Callable[[AsyncSession], Awaitable[T]] | None, fast: Fast | None = None) -> T:
        """Run ``work(session)`` as one unit of work and return its result once committed.

        On SQLite it runs in the writer thread, sharing a COMMIT with the units that arrive while
        the previous batch commits (its own savepoint: if it raises, it alone is rolled back and
        the exception is raised here).  Elsewhere it is :meth:`write` around ``work``.  ``work``
        must do database work only (no network I/O): on SQLite it holds the single writer.
        ``fast``: the same work in plain SQL (:mod:`models.hot`) — on SQLite's writer connection or
        the unit's asyncpg connection — used instead of ``work`` unless it returns
        :data:`models.writer.FALLBACK` (then ``work`` runs, or with no ``work`` FALLBACK is the
        result).  ``fast`` returns FALLBACK only before it has written anything."""
        if self.thread is not None:
            return await self.thread.run(work, fast)
        async with self.write() as session:
            if fast is not None and self.dialect == "postgresql":
                connection = await session.connection()
                # SQLAlchemy's asyncpg adapter opens its transaction lazily, on the first statement
                # it runs itself: start it now, or every plain statement below autocommits alone
                # (a kill -9 between two of them once closed an inbox row without its dialog write).
                await connection.exec_driver_sql("SELECT 1")
                raw = await connection.get_raw_connection()
                if not raw.driver_connection.is_in_transaction():
                    raise RuntimeError("the unit's PostgreSQL connection is not in a transaction")
                value = await fast(PgSql(raw.driver_connection))
                if value is not FALLBACK or work is None:
                    return value
                # FALLBACK comes before ``fast`` writes anything: the same transaction goes on.
            return await work(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading: never commits; closing it ends the read transaction.

        Objects stay usable after the block (closing detaches them without expiring them).
        """
        async with self._read_sessions() as session:
            yield session

    async def dispose(self) -> None:
        if self.thread is not None:
            await self.thread.close()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
