"""One writer thread for SQLite, with group commit.

Why: through aiosqlite every SQL statement of an update crosses to aiosqlite's worker thread and
back several times (cursor, execute, fetch, close), ~120 µs each with the GIL hand-over and the
loop's self-pipe wake-up, and the single SQLite writer is held all that time.  Here a whole unit
of database work — an update's transaction, the intake storing a page of updates — crosses once:

    event loop ──unit──► queue ──batch──► writer thread: BEGIN IMMEDIATE
                                              SAVEPOINT; unit 1; RELEASE   (or ROLLBACK TO: alone)
                                              SAVEPOINT; unit 2; RELEASE
                                              COMMIT
               ◄── one wake-up resolves every unit's future of the batch ──┘

* Group commit: the units that arrive while a batch is in the thread wait and form the next batch;
  each runs in its own savepoint, so one that raises rolls back alone and the others commit.  A
  unit's future is resolved only after its batch's COMMIT returned: nothing is acknowledged or
  replied (the sender is woken by the caller) before the data is durable.
* A unit is an ``async def unit(session)``, the same code that runs on PostgreSQL or through
  :meth:`models.db.Database.write`.  In the thread it runs on the thread's own event loop with an
  :class:`~sqlalchemy.ext.asyncio.AsyncSession` whose statements go straight to a synchronous
  ``sqlite3`` connection (no thread hop per statement: we already are the thread that owns it).
* The writer holds the :class:`~models.db.WriterGate` for each batch, so the scheduler, the outbox
  and the CLI, which still write through ``Database.write`` (aiosqlite), never meet it mid-batch;
  an urgent write waits for at most one batch.
* A unit whose caller was cancelled before its batch began is skipped (as a crash before the
  transaction would have left it); one cancelled mid-batch commits with the batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from models.hot import Sql

log = logging.getLogger(__name__)

T = TypeVar("T")
Unit = Callable[[AsyncSession], Awaitable[T]]
#: A unit's plain-SQL part: an ``async`` function of a :class:`models.hot.Sql` (see ``Writer.run``).
#: It returns FALLBACK only before it has written anything.
Fast = Callable[[Sql], Awaitable[Any]]
Item = tuple[Unit | None, Fast | None, asyncio.Future]


class _Fallback:
    def __repr__(self) -> str:
        return "FALLBACK"


#: What a fast part returns when it does not apply: its savepoint is rolled back, the unit runs.
FALLBACK: Any = _Fallback()


class ThreadSession(AsyncSession):
    """An AsyncSession on a synchronous connection, joined to the batch's transaction through a
    savepoint.  Every awaited call runs inline (the driver never awaits), so it costs a greenlet
    switch, not a thread hop."""

    def __init__(self, conn: Connection):
        super().__init__()
        self._conn = conn
        self.sync_session = self._proxied = self._assign_proxied(
            Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False))

    @property
    def bind(self) -> Connection:  # type: ignore[override]  # callers read bind.dialect only
        return self._conn

    def sync_connection(self) -> Connection:
        """The writer's synchronous connection, inside this session's savepoint: Core statements
        run on it directly cost no ORM session round and no greenlet switch (bulk writes)."""
        return self.sync_session.connection()


def sync_engine(url: str, busy_ms: int) -> Engine:
    """The writer thread's engine: pysqlite, one connection, SQLAlchemy deciding when transactions
    begin (``BEGIN IMMEDIATE``: a second process waits on the busy timeout, never fails mid-way)."""
    engine = create_engine(url.replace("+aiosqlite", "+pysqlite", 1), poolclass=pool.StaticPool,
                           connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        from models.db import sqlite_setup  # models.db imports this module

        sqlite_setup(dbapi_connection, busy_ms)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Writer:
    """The writer thread and its queue of units (SQLite only)."""

    def __init__(self, url: str, busy_ms: int, gate: Any):  # noqa: ANN401  (models.db.WriterGate)
        self._url, self._busy_ms, self._gate = url, busy_ms, gate
        self._executor: ThreadPoolExecutor | None = None  # the thread, started at first use
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the thread's own loop
        self._pending: list[Item] = []
        self._runner: asyncio.Task | None = None
        self._thread_id: int | None = None
        #: Batches and units committed (benchmarks read them: units per batch).
        self.batches = 0
        self.units = 0
        #: When a list: the writer thread's CPU seconds of each batch (the bench's sweep part).
        self.cpu: list[float] | None = None

    async def run(self, unit: Unit[T] | None, fast: Fast | None = None) -> T:
        """Run ``unit`` in the writer thread in the next batch; returns its result once the batch
        has committed (raises what the unit raised; its savepoint was rolled back).

        ``fast``, if given, is tried first: an async function of the ``sqlite3`` connection (as a
        :class:`models.hot.Sql`), in a savepoint of its own.  If it returns :data:`FALLBACK` that
        savepoint is rolled back and ``unit`` runs instead (with no ``unit``, FALLBACK is the
        result)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._pending.append((unit, fast, future))
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._drain(), name="fieldbot-writer")
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="fieldbot-writer")
        while self._pending:
            batch, self._pending = self._pending, []
            await self._gate.acquire()
            try:
                results = await asyncio.shield(loop.run_in_executor(self._executor, self._run_batch, batch))
            except BaseException as exc:  # noqa: BLE001  (shutdown while a batch ran)
                results = [(False, exc)] * len(batch)
                if isinstance(exc, asyncio.CancelledError):
                    for (_, _, future) in batch:
                        if not future.done():
                            future.cancel()
                    raise
            finally:
                self._gate.release()
            for (_, _, future), (ok, value) in zip(batch, results):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    # -- in the writer thread -------------------------------------------------------------------
    def _run_batch(self, batch: list[Item]) -> list[tuple[bool, Any]]:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._thread_id = threading.get_ident()
        started = time.thread_time()
        try:
            return self._loop.run_until_complete(self._batch(batch))
        finally:
            if self.cpu is not None:
                self.cpu.append(time.thread_time() - started)

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            if self._engine is None:
                self._engine = sync_engine(self._url, self._busy_ms)
            self._conn = self._engine.connect()
        return self._conn

    async def _batch(self, batch: list[Item]) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        try:
            conn = self._connection()
            transaction = conn.begin()
        except Exception as exc:
            self._reset()
            return [(False, exc)] * len(batch)
        try:
            raw = conn.connection.dbapi_connection
            for unit, fast, future in batch:
                if future.cancelled():
                    results.append((False, asyncio.CancelledError()))
                    continue
                if fast is not None:
                    raw.execute("SAVEPOINT fast")
                    try:
                        value = await fast(Sql(raw))
                    except Exception as exc:
                        raw.execute("ROLLBACK TO fast")
                        raw.execute("RELEASE fast")
                        results.append((False, exc))
                        continue
                    if value is not FALLBACK or unit is None:
                        if value is FALLBACK:
                            raw.execute("ROLLBACK TO fast")
                        raw.execute("RELEASE fast")
                        results.append((True, value))
                        continue
                    raw.execute("ROLLBACK TO fast")
                    raw.execute("RELEASE fast")
                session = ThreadSession(conn)
                try:
                    async with session.begin():
                        value = await unit(session)
                    results.append((True, value))
                except Exception as exc:
                    results.append((False, exc))
                finally:
                    await session.close()
            transaction.commit()
        except BaseException as exc:  # COMMIT failed (disk full, I/O error): every unit failed
            log.warning("writer batch of %d failed: %s: %s", len(batch), type(exc).__name__, exc)
            try:
                transaction.rollback()
            except Exception:  # noqa: BLE001
                self._reset()
            return [(False, exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))] * len(batch)
        self.batches += 1
        self.units += len(batch)
        return results

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.invalidate()
        except Exception:  # noqa: BLE001
            pass
        self._conn = None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    async def close(self) -> None:
        if self._runner is not None and not self._runner.done():
            try:
                await self._runner
            except BaseException:  # noqa: BLE001
                pass
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        await asyncio.get_running_loop().run_in_executor(executor, self._close)
        executor.shutdown(wait=False)
