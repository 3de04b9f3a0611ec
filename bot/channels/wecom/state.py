"""What the WeCom adapters keep in the database for every instance to share (``channel_state``):
the access token, each card's latest single-use response code, the customer-service cursor."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.runtime import ChannelState


class StateStore:
    def __init__(self, db):  # noqa: ANN001
        self.db = db

    async def get(self, name: str) -> str | None:
        async with self.db.read() as session:
            row = (await session.execute(select(ChannelState.value, ChannelState.expires_at)
                                         .where(ChannelState.name == name))).first()
        if row is None or (row.expires_at is not None and row.expires_at <= datetime.now(timezone.utc)):
            return None
        return row.value

    async def put(self, name: str, value: str, expires_at: datetime | None = None) -> None:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = insert(ChannelState).values(name=name, value=value, expires_at=expires_at)
        async with self.db.write() as session:
            await session.execute(stmt.on_conflict_do_update(
                index_elements=["name"], set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at}))

    async def pop(self, name: str) -> str | None:
        """Take a value once (a single-use response code): None if absent, expired or taken."""
        async with self.db.write() as session:
            row = (await session.execute(
                delete(ChannelState).where(ChannelState.name == name)
                .returning(ChannelState.value, ChannelState.expires_at))).first()
        if row is None or (row.expires_at is not None and row.expires_at <= datetime.now(timezone.utc)):
            return None
        return row.value
