"""What every job shares: the job signature, sending with a dedupe key, and claiming rows.

A job is ``async def run(app, now) -> int`` (the number of rows it acted on).  It opens its own
write transaction(s), claims due rows with :func:`claim` and sends with :func:`send`; the
runner wakes the outbox sender afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import push
from handlers.messages import Msg

if TYPE_CHECKING:
    from bot.app import App

Job = Callable[["App", datetime], Awaitable[int]]
#: Rows handled per transaction; a scan finds at most this many due rows at once.  Small, so a
#: scan holds SQLite's single writer a few milliseconds at a time and replies slip in between.
BATCH = 50


#: Batches per run at most, so one run cannot hold the writer forever; the rest waits a tick.
MAX_BATCHES = 200


async def in_batches(batch: Callable[[App, datetime], Awaitable[tuple[int, int]]], app: App,
                     now: datetime) -> int:
    """Run ``batch`` (one transaction; returns (acted, seen)) until a batch finds fewer than
    ``BATCH`` rows or acts on none; returns the total acted on."""
    total = 0
    for _ in range(MAX_BATCHES):
        acted, seen = await batch(app, now)
        total += acted
        if seen < BATCH or acted == 0:
            break
    return total


async def claim(session: AsyncSession, model: Any, row_id: int, expected: dict[str, Any],
                changes: dict[str, Any]) -> bool:
    """Conditional UPDATE: apply ``changes`` only if the row still has the ``expected`` values.

    On PostgreSQL a second instance scanning at the same moment blocks on the row lock, then sees
    the new values and claims nothing; on SQLite the single writer serialises the scans anyway.
    """
    result = await session.execute(claim_statement(model, row_id, expected, changes))
    return result.rowcount == 1


def claim_statement(model: Any, row_id: int, expected: dict[str, Any], changes: dict[str, Any]) -> Any:  # noqa: ANN401
    """The conditional UPDATE of :func:`claim`, to run later (a scan that plans outside the
    write transaction claims in the writer)."""
    stmt = update(model).where(model.id == row_id)
    for column, value in expected.items():
        attr = getattr(model, column)
        stmt = stmt.where(attr.is_(None) if value is None else attr == value)
    return stmt.values(**changes).execution_options(synchronize_session=False)


async def send(session: AsyncSession, app: App, person_id: int | None, msg: Msg, *, dedupe: str,
               now: datetime, ticket_id: int | None = None, purpose: str = "chase",
               urgent: bool = False, ref: str | None = None, valid_if: dict[str, Any] | None = None) -> bool:
    """Push with a unique dedupe key; a key already used (a second instance, a re-run after a
    crash) is skipped silently.  Quiet hours apply unless urgent (see :func:`push`); a reminder
    held until morning carries ``valid_if`` (:mod:`models.still`), so it is dropped if what it
    chases was done in the night."""
    if person_id is None:
        return False
    try:
        async with session.begin_nested():
            return await push(session, app, person_id, msg, purpose=purpose, ticket_id=ticket_id,
                              dedupe=dedupe, now=now, urgent=urgent, ref=ref, valid_if=valid_if)
    except IntegrityError:
        return False
