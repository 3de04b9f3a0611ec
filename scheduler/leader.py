"""Who runs the scheduler when several instances share one PostgreSQL database.

The leader holds a session-level advisory lock on one dedicated connection, opened once and kept
for the instance's life; the lock lives exactly as long as that session, so a crashed leader's
lock is released by the server and another instance takes it at its next check.  Every check of
a leader asks the server whether *this* session still holds the lock (``pg_locks``), not merely
whether the connection answers.  See :meth:`Leadership.check` for the guarantees and failure
modes.  Even in a brief overlap the jobs' conditional claims and the outbox's unique dedupe keys
keep every reminder single; leadership keeps the overlap from happening in the first place.

SQLite has no such lock: it serves one instance per database file, which is always the leader.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.db import Database

log = logging.getLogger(__name__)

#: An arbitrary, fixed 64-bit key naming "the Fieldbot scheduler" among advisory locks.
LOCK_KEY = 0x46_42_53_43_48  # "FBSCH"

#: What the lock connection calls itself in ``pg_stat_activity`` (so an operator can find it).
APPLICATION_NAME = "fieldbot scheduler lock"


def lock_key_parts(key: int = LOCK_KEY) -> tuple[int, int]:
    """The (classid, objid) under which ``pg_locks`` shows a bigint advisory key (objsubid 1):
    the high and the low 32 bits of its two's-complement form."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


_TRY_LOCK = text("SELECT pg_try_advisory_lock(:k)")
_UNLOCK = text("SELECT pg_advisory_unlock(:k)")
_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks"
    " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1 AND granted)"
)


class Leadership:
    """This instance's claim to run the scheduler (see :meth:`check`).

    ``timeout``: the longest a check (connect included) may take.
    """

    def __init__(self, db: Database, *, timeout: float = 5.0):
        self.db = db
        self.timeout = timeout
        self.is_leader = False
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under ``_conn`` (termination listener)
        self._broken: str | None = None  # why ``_conn`` is known to be unusable
        self._round_trips = 0  # completed (or failed) checks against the server
        self._unreachable = False  # a failure to reach the server was logged (once per outage)
        self._lock = asyncio.Lock()

    async def check(self) -> bool:
        """Become or stay the leader if possible; returns whether this instance leads now.

        Guarantees (PostgreSQL):

        * One connection per instance.  Concurrent calls share one attempt: they queue on a lock,
          and a call that was waiting while a round trip finished takes that answer, so the six
          jobs firing together open one connection and make one round trip.  No answer is kept
          beyond that: the next tick asks the server again, so a freed lock is taken at the other
          instance's very next check.  The connection is kept for the instance's life and
          replaced only when it dies.  Nothing is left for the garbage collector.
        * ``is_leader`` is True only while the server shows the advisory lock granted to this
          very session: a leader's re-check reads ``pg_locks`` for ``pg_backend_pid()`` (the
          bigint key split into classid/objid, objsubid 1), so a lock that vanished while the
          connection still answers is noticed — ``SELECT 1`` would not notice.
        * Losing leadership stops the jobs at once: the check that finds the lock gone, the
          connection dead, or a round trip failed or timed out sets ``is_leader`` False, logs
          one WARNING and discards the connection (ending its session, so no half-known lock
          survives).  If the server closes the session (``pg_terminate_backend``, restart,
          network cut noticed by the socket), the driver's termination callback sets
          ``is_leader`` False the moment the loop sees it, before any check.  That check
          answers "not the leader"; the next one opens a fresh connection and tries the lock
          again, so another instance gets its chance first.  Regaining is logged at INFO.
        * A check never hangs the jobs: a round trip that overruns ``timeout`` has its socket
          cut (the session's ``statement_timeout`` bounds it on the server too), a connect is
          given twice as long; a timeout counts as a dead connection.
        * A leader that can no longer reach the server stops leading at its next check; the
          server ends its session (and frees the lock) only when it notices the dead socket, so
          meanwhile nobody leads.  Two could overlap only if the server dropped the session
          before the old leader's next check (server keepalives shorter than a tick); the jobs'
          conditional claims and dedupe keys cover that window.

        Limits: a job already running when the lock is lost finishes its scan (its claims are
        conditional updates, its messages deduplicated); no new job starts.  A loss no callback
        reports (the lock gone from a living session, a silent network) is seen at the next check.

        SQLite: always the leader (one instance per database file).
        """
        if self.db.dialect != "postgresql":
            self.is_leader = True
            return True
        arrived_after = self._round_trips
        async with self._lock:
            if self._round_trips > arrived_after:  # a round trip finished while this call waited
                return self.is_leader
            led = self.is_leader
            watchdog = asyncio.get_running_loop().call_later(self.timeout, self._cut)
            try:
                async with asyncio.timeout(2 * self.timeout):  # a connect has no socket to cut yet
                    await self._round_trip()
                if self._unreachable:
                    log.info("the scheduler lock's database is reachable again")
                self._unreachable = False
            except asyncio.CancelledError:
                self._broken = self._broken or "a lock check was interrupted"
                self._lose(self._broken)
                raise
            except Exception as exc:  # noqa: BLE001 — any failure means: not provably the leader
                timed_out = isinstance(exc, TimeoutError)
                reason = self._broken or ("the lock check timed out" if timed_out
                                          else f"the lock check failed ({exc!r})")
                if not self._lose(reason) and not led and not self._unreachable:
                    log.warning("cannot reach the database for the scheduler lock: %s; will retry", reason)
                self._unreachable = True
                await self._discard(graceful=False)
            finally:
                watchdog.cancel()
            if self._broken is not None:  # the connection ended just as the check succeeded
                self._lose(self._broken)
            self._round_trips += 1
            return self.is_leader

    async def _round_trip(self) -> None:
        if self._broken is not None:  # the session ended (or may have): not the leader, retry next time
            self._lose(self._broken)
            await self._discard(graceful=False)
            return
        if self._conn is None:
            await self._open()
        assert self._conn is not None
        if self.is_leader:
            hi, lo = lock_key_parts()
            if not await self._conn.scalar(_HOLDS_LOCK, {"hi": hi, "lo": lo}):
                self._lose("the advisory lock is no longer held by this instance's session")
        elif await self._conn.scalar(_TRY_LOCK, {"k": LOCK_KEY}):
            self.is_leader = True
            log.info("this instance now runs the scheduler (advisory lock %#x taken)", LOCK_KEY)

    async def _open(self) -> None:
        conn = await self.db.writer.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SELECT set_config('statement_timeout', :ms, false),"
                                    " set_config('application_name', :name, false)"),
                               {"ms": str(int(self.timeout * 1000)), "name": APPLICATION_NAME})
            driver = (await conn.get_raw_connection()).driver_connection
            if hasattr(driver, "add_termination_listener"):
                driver.add_termination_listener(self._on_terminated)
        except BaseException:
            await _end(conn)
            raise
        self._conn, self._driver, self._broken = conn, driver, None

    def _cut(self) -> None:
        """A round trip overran ``timeout``: cut the socket, so the check fails now rather than
        wait for a server that does not answer (cancelling the query would wait for it)."""
        if self._driver is not None:
            self._broken = "the lock check timed out"
            self._driver.terminate()

    def _on_terminated(self, driver: Any) -> None:
        """The driver saw the session end: stop leading now, replace the connection at the next
        check.  (During a check, the check itself reports it, with the failure that caused it.)"""
        if driver is not None and driver is self._driver:
            self._broken = self._broken or ("the lock's connection was closed"
                                            " (server restart, pg_terminate_backend, network)")
            if not self._lock.locked():
                self._lose(self._broken)

    def _lose(self, reason: str) -> bool:
        """Stop leading (once); returns whether this instance was the leader."""
        if not self.is_leader:
            return False
        self.is_leader = False
        log.warning("this instance no longer runs the scheduler: %s; no job runs until the lock is "
                    "regained", reason)
        return True

    async def _discard(self, *, graceful: bool = True) -> None:
        """Forget the connection and end it.  Not graceful (a dead or hung connection): the socket
        is cut at once, so nothing waits on a server that does not answer."""
        conn, driver = self._conn, self._driver
        self._conn, self._driver, self._broken = None, None, None
        if conn is None:
            return
        if not graceful and driver is not None:
            driver.terminate()
        await _end(conn, timeout=self.timeout)

    async def release(self) -> None:
        """Give the lock up and end the connection (the session really ends, lock and all)."""
        async with self._lock:
            was_leader, self.is_leader = self.is_leader, False
            if self._conn is None:
                return
            healthy = self._broken is None
            if was_leader and healthy:
                try:
                    async with asyncio.timeout(self.timeout):
                        await self._conn.execute(_UNLOCK, {"k": LOCK_KEY})
                except Exception:  # noqa: BLE001
                    healthy = False
                    log.debug("unlocking failed; ending the session releases the lock", exc_info=True)
            await self._discard(graceful=healthy)
            if was_leader:
                log.info("this instance stopped running the scheduler (lock released)")


async def _end(conn: AsyncConnection, *, timeout: float = 5.0) -> None:
    """Really end a connection: invalidated, not returned to the pool, where its session (and
    any lock) would live on."""
    try:
        async with asyncio.timeout(timeout):
            await conn.invalidate()
            await conn.close()
    except Exception:  # noqa: BLE001
        log.debug("closing the lock connection failed", exc_info=True)
