"""SQLite's writer thread (models.writer): units that arrive together share one COMMIT, each in its
own savepoint (one that fails rolls back alone), a plain-SQL part that declines is rolled back
before the unit runs, and the hot path (handlers.hot) writes what the ordinary way writes."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.throughput import open_bench, text_update
from models.db import Database
from models.migrate import upgrade
from models.runtime import ChannelState, ConversationState, InboundEvent, OutboxMessage
from models.writer import FALLBACK
from tests.conftest import BACKENDS, _fresh_url


@pytest.fixture
async def sqlite_db(tmp_path: Path):  # noqa: ANN201
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await upgrade(db)
    yield db
    await db.dispose()


async def test_units_arriving_together_share_a_commit_and_a_failing_one_rolls_back_alone(sqlite_db: Database) -> None:
    def unit(n: int):  # noqa: ANN202
        async def work(session) -> int:  # noqa: ANN001
            session.add(ChannelState(name=f"k{n}", value=str(n)))
            await session.flush()
            if n == 7:
                raise ValueError("unit 7 fails")
            return n

        return work

    results = await asyncio.gather(*(sqlite_db.unit(unit(n)) for n in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, Exception)][0].args == ("unit 7 fails",)
    assert [r for r in results if not isinstance(r, Exception)] == [n for n in range(20) if n != 7]
    assert sqlite_db.thread.batches < 20 and sqlite_db.thread.units == 20
    async with sqlite_db.read() as s:
        names = set((await s.scalars(select(ChannelState.name))).all())
    assert names == {f"k{n}" for n in range(20) if n != 7}


async def test_a_fast_part_that_declines_is_rolled_back_before_the_unit_runs(sqlite_db: Database) -> None:
    async def fast(q) -> object:  # noqa: ANN001
        await q.run("INSERT INTO channel_state (name, value) VALUES ('fast', 'x')")
        return FALLBACK

    async def fast2(q) -> str:  # noqa: ANN001
        await q.run("INSERT INTO channel_state (name, value) VALUES ('fast2', 'z')")
        return "fast"

    async def slow(session) -> str:  # noqa: ANN001
        session.add(ChannelState(name="slow", value="y"))
        return "slow"

    assert await sqlite_db.unit(slow, fast=fast) == "slow"
    assert await sqlite_db.unit(slow, fast=fast2) == "fast"
    async with sqlite_db.read() as s:
        assert set((await s.scalars(select(ChannelState.name))).all()) == {"slow", "fast2"}


async def _note_rows(tmp: Path, hot: bool, url: str | None = None) -> tuple[dict, dict, int]:
    bench = await open_bench(tmp, 1, url)
    try:
        if not hot:
            bench.rt.core.router.hot_steps.clear()
        await bench.feed(text_update(bench.uids[0], "pump replaced, testing"))
        async with bench.app.db.read() as s:
            state = await s.scalar(select(ConversationState))
            reply = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()))).first()
            inbox = (await s.scalars(select(InboundEvent).order_by(InboundEvent.id.desc()))).first()
        assert inbox.status.value == "done" and inbox.payload is None
        return ({"flow": state.flow, "step": state.step, "data": state.data, "version": state.version},
                {k: getattr(reply, k) for k in ("person_id", "channel", "chat_id", "payload", "purpose", "ref",
                                                "ticket_id", "status", "attempts", "valid_if", "supersede_key")}
                | {"dedupe": reply.dedupe_key.rsplit(":", 1)[1], "at": reply.not_before == reply.created_at},
                bench.rt.core.hot_handled)
    finally:
        await bench.close()


@pytest.fixture
def two_urls(backend: str, tmp_path: Path):  # noqa: ANN201
    (tmp_path / "hot").mkdir()
    (tmp_path / "orm").mkdir()
    with contextlib.ExitStack() as stack:
        fresh = contextlib.contextmanager(_fresh_url)
        yield [stack.enter_context(fresh(backend, tmp_path / d)) for d in ("hot", "orm")]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_hot_path_writes_what_the_ordinary_way_writes(two_urls: list[str], tmp_path: Path) -> None:
    hot_state, hot_reply, hot_count = await _note_rows(tmp_path / "hot", True, two_urls[0])
    orm_state, orm_reply, orm_count = await _note_rows(tmp_path / "orm", False, two_urls[1])
    assert hot_count == 1 and orm_count == 0
    assert hot_state == orm_state and hot_state["data"]["notes"] == ["pump replaced, testing"]
    assert hot_reply == orm_reply


@pytest.fixture
def any_url(backend: str, tmp_path: Path):  # noqa: ANN201
    with contextlib.contextmanager(_fresh_url)(backend, tmp_path) as url:
        yield url


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_fast_part_is_one_transaction_on_every_database(any_url: str) -> None:
    """The plain-SQL part is atomic with the rest of its unit: a FALLBACK after a write (which it
    must not do) or an exception after a write leaves nothing behind.  On PostgreSQL the part runs
    on the session's own asyncpg connection — inside the session's transaction, never autocommitted
    statement by statement (which once let a kill -9 close an inbox row without its dialog write,
    losing a check-in note)."""
    async def fails_after_writing(q) -> object:  # noqa: ANN001
        await q.run("INSERT INTO channel_state (name, value) VALUES ('half', 'x')")
        raise RuntimeError("cut short after its first write")

    async def declines_after_writing(q) -> object:  # noqa: ANN001
        await q.run("INSERT INTO channel_state (name, value) VALUES ('declined', 'x')")
        return FALLBACK

    async def slow(session) -> str:  # noqa: ANN001
        raise RuntimeError("the unit fails too")

    db = Database(any_url)
    try:
        await upgrade(db)
        with pytest.raises(RuntimeError, match="cut short"):
            await db.unit(None, fast=fails_after_writing)
        with pytest.raises(RuntimeError, match="the unit fails too"):
            await db.unit(slow, fast=declines_after_writing)
        async with db.read() as s:
            assert set((await s.scalars(select(ChannelState.name))).all()) == set()
    finally:
        await db.dispose()
