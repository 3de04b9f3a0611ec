"""Plain SQL for the steps every update takes: on SQLite's writer connection (a ``sqlite3``
connection owned by the writer thread, see :mod:`models.writer`) or on the update's PostgreSQL
connection (asyncpg), through :class:`Sql` — the same statements, ``?`` placeholders.

Why not the ORM here: each ORM statement costs ~0.2–0.4 ms of Python (compile-cache look-up,
unit of work, identity map, greenlet) against ~20 µs for SQLite to run it, and these statements
run for every message: the inbox, who is asking, the dialog state, the reply row.  The rows
written here are exactly the rows the ORM writes (same columns, same text for times, enums and
JSON), so everything else reads them through the ORM as before.

Repositories never commit: these run inside the writer's batch transaction and savepoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from models.enums import Channel, InboxStatus, OutboxStatus, Role, ServiceType, TicketStatus


def stamp(moment: datetime) -> str:
    """A time as SQLAlchemy's SQLite DateTime stores it (UTC, naive, with microseconds)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def dumps(value: Any) -> str:  # noqa: ANN401
    """JSON as SQLAlchemy's JSON type writes it (``json.dumps`` with its defaults)."""
    return json.dumps(value)


class Sql:
    """A connection as the hot path uses it: one row, or a row count, of a ``?`` statement; times
    and JSON in the form the driver takes and gives.  This one: ``sqlite3`` (synchronous: it runs in
    SQLite's writer thread, whose loop has nothing else to do)."""

    def __init__(self, raw: Any) -> None:  # noqa: ANN401
        self.raw = raw

    async def one(self, sql: str, *params: Any) -> Any:  # noqa: ANN401
        return self.raw.execute(sql, params).fetchone()

    async def run(self, sql: str, *params: Any) -> int:  # noqa: ANN401
        return self.raw.execute(sql, params).rowcount

    def at(self, value: datetime) -> Any:  # noqa: ANN401
        return stamp(value)

    def moment(self, value: Any) -> datetime:  # noqa: ANN401
        return moment(value)

    def loads(self, value: Any) -> Any:  # noqa: ANN401
        return json.loads(value) if value else {}


class PgSql(Sql):
    """:class:`Sql` on an asyncpg connection (inside the unit's transaction): ``?`` becomes
    ``$n``; times are timezone-aware datetimes; JSON travels as text."""

    _converted: dict[str, str] = {}

    async def one(self, sql: str, *params: Any) -> Any:  # noqa: ANN401
        return await self.raw.fetchrow(self._pg(sql), *params)

    async def run(self, sql: str, *params: Any) -> int:  # noqa: ANN401
        status = await self.raw.execute(self._pg(sql), *params)
        return int(status.rsplit(" ", 1)[-1])

    def at(self, value: datetime) -> Any:  # noqa: ANN401
        return value.astimezone(timezone.utc)

    def moment(self, value: Any) -> datetime:  # noqa: ANN401
        return value.astimezone(timezone.utc)

    def loads(self, value: Any) -> Any:  # noqa: ANN401
        return (json.loads(value) if isinstance(value, str) else value) or {}

    @classmethod
    def _pg(cls, sql: str) -> str:
        done = cls._converted.get(sql)
        if done is None:
            parts = sql.split("?")
            done = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
            cls._converted[sql] = done
        return done


@dataclass
class Asker:
    """Who sent the update, as the hot path needs them (identity and person in one row)."""

    identity_id: int
    chat_id: str
    last_seen_at: datetime
    unreachable: bool
    person_id: int
    role: Role
    language: str | None
    active: bool
    team_id: int | None


@dataclass
class DialogRow:
    flow: str | None
    step: str | None
    data: dict[str, Any]
    version: int


@dataclass
class TicketBrief:
    """The columns a dialog step re-checks (not the 60 of a ticket)."""

    id: int
    number: str
    status: TicketStatus
    service_type: ServiceType
    assignee_id: int | None
    team_id: int | None


async def earlier_pending(q: Sql, session_key: str, inbox_id: int) -> bool:
    """Whether an earlier update of the same session is still pending in the inbox."""
    return await q.one(
        "SELECT 1 FROM inbound_events WHERE status = ? AND session_key = ? AND id < ? LIMIT 1",
        InboxStatus.PENDING.value, session_key, inbox_id) is not None


async def store_inbox(q: Sql, rows: list[dict[str, Any]]) -> dict[str, int]:
    """The intake's insert (``ON CONFLICT DO NOTHING``): external id → row id of the new rows."""
    stored: dict[str, int] = {}
    for r in rows:
        found = await q.one(
            "INSERT INTO inbound_events (channel, external_id, received_at, status, payload, attempts, last_error,"
            " instance_id, session_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
            r["channel"].value, r["external_id"], q.at(r["received_at"]), r["status"].value, dumps(r["payload"]),
            r["attempts"], r["last_error"], r["instance_id"], r["session_key"])
        if found is not None:
            stored[r["external_id"]] = found[0]
    return stored


async def close_inbox(q: Sql, channel: Channel, external_id: str, *, received_at: datetime, now: datetime) -> bool:
    """:func:`models.inbox.close_inbox_row` (done) in plain SQL; False for a resend."""
    return await q.one(
        "INSERT INTO inbound_events (channel, external_id, received_at, status, last_error, handled_at, attempts)"
        " VALUES (?, ?, ?, ?, NULL, ?, 0) ON CONFLICT (channel, external_id) DO UPDATE SET"
        " status = excluded.status, handled_at = excluded.handled_at, last_error = NULL, payload = 'null'"
        " WHERE inbound_events.status = ? RETURNING id",
        channel.value, external_id, q.at(received_at), InboxStatus.DONE.value, q.at(now),
        InboxStatus.PENDING.value) is not None


async def asker(q: Sql, channel: Channel, user_id: str) -> Asker | None:
    row = await q.one(
        "SELECT i.id, i.chat_id, i.last_seen_at, i.unreachable_reason, p.id, p.role, p.language, p.active,"
        " p.team_id FROM channel_identities i JOIN people p ON p.id = i.person_id"
        " WHERE i.channel = ? AND i.external_user_id = ?", channel.value, user_id)
    if row is None:
        return None
    return Asker(identity_id=row[0], chat_id=row[1], last_seen_at=q.moment(row[2]), unreachable=row[3] is not None,
                 person_id=row[4], role=Role(row[5]), language=row[6], active=bool(row[7]), team_id=row[8])


async def seen(q: Sql, identity_id: int, at: datetime) -> None:
    await q.run("UPDATE channel_identities SET last_seen_at = ? WHERE id = ?", q.at(at), identity_id)


async def dialog(q: Sql, session_key: str) -> DialogRow | None:
    row = await q.one("SELECT flow, step, data, version FROM conversation_states WHERE session_key = ?",
                      session_key)
    if row is None:
        return None
    return DialogRow(flow=row[0], step=row[1], data=q.loads(row[2]), version=row[3])


async def save_dialog(q: Sql, session_key: str, row: DialogRow, now: datetime) -> None:
    """Write the dialog back, with the ORM's optimistic version check (``version_id_col``)."""
    done = await q.run(
        "UPDATE conversation_states SET flow = ?, step = ?, data = ?, version = ?, updated_at = ?"
        " WHERE session_key = ? AND version = ?",
        row.flow, row.step, dumps(row.data), row.version + 1, q.at(now), session_key, row.version)
    if done != 1:
        raise RuntimeError(f"dialog {session_key} changed underneath (version {row.version})")


async def ticket_brief(q: Sql, ticket_id: object) -> TicketBrief | None:
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or not 0 < ticket_id < 2 ** 63:
        return None
    row = await q.one("SELECT id, number, status, service_type, assignee_id, team_id FROM tickets WHERE id = ?",
                      ticket_id)
    if row is None:
        return None
    return TicketBrief(id=row[0], number=row[1], status=TicketStatus(row[2]), service_type=ServiceType(row[3]),
                       assignee_id=row[4], team_id=row[5])


async def add_outbox(q: Sql, *, person_id: int | None, channel: Channel, chat_id: str, payload: dict[str, Any],
                     dedupe: str, now: datetime, purpose: str, ref: str | None = None,
                     ticket_id: int | None = None) -> None:
    """One outbox row, as :func:`handlers.context.add_rows` writes a reply without photos."""
    at = q.at(now)
    await q.run(
        "INSERT INTO outbox (person_id, channel, chat_id, payload, dedupe_key, not_before, status, attempts,"
        " created_at, purpose, ref, ticket_id, valid_if) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, 'null')",
        person_id, channel.value, chat_id, dumps(payload), dedupe, at, OutboxStatus.PENDING.value, at, purpose,
        ref, ticket_id)
