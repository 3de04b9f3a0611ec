"""SQLite calls run on the event loop's thread except those that can wait (models/sqlite_loop.py):
statements really run inline, and a writer held up by another process's lock never stalls the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import select, text

from models import InboundEvent
from models.db import Database
from models.enums import Channel
from models.migrate import upgrade
from models.sqlite_loop import LoopConnection


async def test_statements_run_inline_and_transaction_edges_on_the_worker_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await upgrade(db)
    try:
        threaded, inline = LoopConnection.threaded, LoopConnection.inline
        async with db.write() as s:
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="1"))
            await s.flush()
            assert await s.scalar(select(InboundEvent.external_id)) == "1"
        # BEGIN IMMEDIATE and COMMIT went through the thread; the INSERT, the SELECT, their
        # cursors and fetches did not.
        assert LoopConnection.threaded - threaded == 2
        assert LoopConnection.inline - inline >= 4
        async with db.read() as s:
            assert await s.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        await db.dispose()


async def test_waiting_for_another_process_s_write_lock_does_not_block_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=5000)
    await upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)  # the CLI next to a running bot
    try:
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def write() -> None:
            async with db.write() as s:
                s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="2"))

        ticking = asyncio.create_task(ticker())
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.5)
        assert not writing.done()  # still waiting for the lock…
        assert ticks >= 20  # …while the loop went on serving everything else
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
        ticking.cancel()
        async with db.read() as s:
            assert await s.scalar(select(InboundEvent.external_id).where(InboundEvent.external_id == "2")) == "2"
    finally:
        other.close()
        await db.dispose()
