"""Who runs the scheduler when several instances share one PostgreSQL database.

The leader holds a session-level advisory lock on a connection of its own; the lock lives as
long as that connection, so a crashed leader's lock is released by the server and another
instance takes over at its next tick.  Leadership is re-checked every tick (the connection may
have died).  Even in a brief two-leader window, the jobs' conditional claims and the outbox's
unique dedupe keys keep every reminder single.

SQLite has no such lock: it serves one instance per database file, which is always the leader.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.db import Database

log = logging.getLogger(__name__)

#: An arbitrary, fixed 64-bit key naming "the Fieldbot scheduler" among advisory locks.
LOCK_KEY = 0x46_42_53_43_48  # "FBSCH"


class Leadership:
    def __init__(self, db: Database):
        self.db = db
        self._conn: AsyncConnection | None = None
        self.is_leader = False

    async def check(self) -> bool:
        """Become or stay the leader if possible; returns whether this instance leads now."""
        if self.db.dialect != "postgresql":
            self.is_leader = True
            return True
        try:
            if self._conn is None:
                self._conn = await self.db.writer.connect()
                await self._conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.is_leader:
                await self._conn.execute(text("SELECT 1"))  # still holding it if the session lives
            else:
                got = await self._conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
                if got:
                    log.info("this instance now runs the scheduler")
                self.is_leader = bool(got)
        except Exception:
            log.warning("lost the scheduler lock's connection; will retry", exc_info=True)
            await self.release()
        return self.is_leader

    async def release(self) -> None:
        conn, was_leader = self._conn, self.is_leader
        self._conn, self.is_leader = None, False
        if conn is None:
            return
        try:
            if was_leader:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        except Exception:
            log.debug("unlocking failed; dropping the connection releases the lock", exc_info=True)
        try:
            # Invalidate, not just close: a pooled connection would keep the session (and any
            # lock) alive; this one must really end.
            await conn.invalidate()
            await conn.close()
        except Exception:
            log.debug("closing the lock connection failed", exc_info=True)
