"""SQLite statements on the event loop's thread, except the calls that can wait.

aiosqlite runs every call — each cursor, execute, fetch and cursor close — on a worker thread
and hands the result back through the event loop.  The throughput benchmark counted ~37 such
round trips per update, and the loop spent most of an update's time idle, waiting for them
(~120 µs each on a busy 2-core machine, while the statement itself takes a few µs).

In WAL mode the SQLite calls that can *wait* are few: taking the write lock (``BEGIN
IMMEDIATE`` waits up to the busy timeout while another process — the CLI next to a running bot —
is writing), ``COMMIT`` (it may run an automatic checkpoint, which syncs the database file),
connecting, closing and the pragmas.  Those still go through aiosqlite's thread, so the loop
never sleeps on a lock or an fsync.  Everything else runs inline as a short piece of CPU work:
readers never wait in WAL, a writer holding the lock only appends to the WAL, and the pages come
from the cache (SQLite's and the OS's).  Measured: ~1.5× the updates per second (bench
throughput, 2-core machine), one round trip per transaction edge instead of per call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

#: Statements that may wait for a lock or the disk: these keep using the worker thread.
_MAY_WAIT = ("BEGIN", "COMMIT", "END", "PRAGMA", "VACUUM")


class LoopConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs non-waiting calls inline (see the module docstring)."""

    #: Calls made through the worker thread / inline, for tests and benchmarks.
    threaded = 0
    inline = 0

    def _may_wait(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        if args and isinstance(args[0], str):
            return args[0].lstrip()[:8].upper().startswith(_MAY_WAIT)
        owner = getattr(fn, "__self__", None)
        # The connection's own commit, close, backup…; its cursor(), rollback() are quick.
        return isinstance(owner, sqlite3.Connection) and getattr(fn, "__name__", "") not in ("cursor", "rollback")

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        if self._may_wait(fn, args):
            LoopConnection.threaded += 1
            return await super()._execute(fn, *args, **kwargs)
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        LoopConnection.inline += 1
        return fn(*args, **kwargs)


def connector(database: str) -> Callable[[], LoopConnection]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""

    def create() -> LoopConnection:
        # Opened on aiosqlite's thread, then used from both threads — never from both at once:
        # one SQLAlchemy connection serves one task at a time, and each call is awaited.
        connection = LoopConnection(partial(sqlite3.connect, database, check_same_thread=False), iter_chunk_size=64)
        getattr(connection, "_thread", connection).daemon = True  # as SQLAlchemy does: exit never waits
        return connection

    return create
