"""Storage on a real SQLite file and (in CI) a real PostgreSQL server: migrations, numbering,
the event log, invites, idempotency keys, and transaction ownership."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from models import Base, InboundEvent, OutboxMessage, Ticket, TicketEvent
from models.db import Database
from models.enums import Action, Channel, Role, ServiceType, TicketStatus
from models.errors import DomainError
from models.invites import create_invite, join, redeem_invite
from models.lifecycle import TransitionError, replay
from models import schema_version
from models.migrate import current_revision, downgrade, head_revision, upgrade
from models.people import Person
from models.queries import ticket_by_number
from models.registry import Registration, register_ticket
from models.transitions import apply_action

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 23)


def registration(**overrides: object) -> Registration:
    fields = dict(customer="ACME", phone="+86 138 0013 8000", address="1 Road", model="X200", serial="S1",
                  purchased=date(2026, 1, 5), fault="won't start", severity=2, service=ServiceType.ONSITE)
    fields.update(overrides)
    return Registration(**fields)  # type: ignore[arg-type]


async def new_ticket(db: Database, **overrides: object) -> Ticket:
    async with db.write() as s:
        return await register_ticket(s, registration(**overrides), now=NOW, today=TODAY,
                                     warranty=timedelta(days=365))


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    assert await current_revision(db) == head_revision()
    async with db.writer.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert diff == []


async def test_downgrade_and_upgrade_again(db: Database) -> None:
    await downgrade(db, "base")
    assert await current_revision(db) is None
    assert await schema_version.current_revision(db) is None
    await upgrade(db)
    assert await current_revision(db) == head_revision()


async def test_the_schema_check_without_alembic_agrees_with_alembic(db: Database) -> None:
    """``fieldbot run`` checks the schema without importing Alembic (models.schema_version)."""
    assert schema_version.head_revision() == head_revision()
    assert await schema_version.current_revision(db) == await current_revision(db) == head_revision()


async def test_sqlite_pragmas(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("SQLite only")
    async with db.read() as s:
        assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await s.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    assert db.writer.pool.size() == 1


async def test_registration_fills_every_field(db: Database) -> None:
    ticket = await new_ticket(db)
    async with db.read() as s:
        stored = await ticket_by_number(s, "fs-2026-1", with_events=True)
    assert stored is not None and stored.id == ticket.id
    assert stored.number == "FS-2026-000001"
    assert stored.contact_phone == "+8613800138000"
    assert stored.in_warranty is True
    assert stored.status is TicketStatus.NEW
    assert stored.created_at == NOW and stored.created_at.tzinfo is not None
    assert [e.kind for e in stored.events] == ["registered"]
    old = await new_ticket(db, purchased=date(2024, 1, 1), serial="S2")
    assert old.in_warranty is False
    unknown = await new_ticket(db, purchased=None, serial=None)
    assert unknown.in_warranty is None


async def test_bad_registration_changes_nothing(db: Database) -> None:
    with pytest.raises(DomainError) as info:
        await new_ticket(db, phone="12")
    assert info.value.code == "bad_phone"
    with pytest.raises(DomainError):
        await new_ticket(db, severity=5)
    with pytest.raises(DomainError) as info:
        await new_ticket(db, purchased=date(2027, 1, 1))
    assert info.value.code == "future_date"
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_numbers_are_unique_and_gap_free_under_concurrency(db: Database) -> None:
    tickets = await asyncio.gather(*(new_ticket(db, serial=f"S{i}") for i in range(20)))
    numbers = sorted(t.number for t in tickets)
    assert numbers == [f"FS-2026-{i:06d}" for i in range(1, 21)]


async def test_transitions_write_the_event_log_which_replays(db: Database) -> None:
    ticket = await new_ticket(db)
    async with db.write() as s:
        eng = Person(name="Li", role=Role.ENGINEER)
        s.add(eng)
        await s.flush()
        t = await s.get(Ticket, ticket.id)
        apply_action(s, t, Action.DISPATCH, now=NOW, assignee_id=eng.id)
        apply_action(s, t, Action.DECLINE, now=NOW, actor_id=eng.id, reason="too far")
        apply_action(s, t, Action.DISPATCH, now=NOW, assignee_id=eng.id)
        apply_action(s, t, Action.ACCEPT, now=NOW, actor_id=eng.id)
        apply_action(s, t, Action.DEPART, now=NOW, eta_at=NOW + timedelta(minutes=40))
        apply_action(s, t, Action.ARRIVE, now=NOW + timedelta(minutes=45))
        apply_action(s, t, Action.PAUSE, now=NOW + timedelta(hours=1), pause_reason="parts")
        apply_action(s, t, Action.RESUME, now=NOW + timedelta(hours=3))
        apply_action(s, t, Action.RESOLVE, now=NOW + timedelta(hours=4), findings="bad PSU",
                     actions_taken="replaced PSU", parts_replaced="PSU-1", result="runs")
    async with db.read() as s:
        t = await ticket_by_number(s, ticket.number, with_events=True)
    assert t.status is TicketStatus.RESOLVED
    assert t.paused_seconds == 7200 and t.paused_at is None
    assert t.eta_at == NOW + timedelta(minutes=40)
    assert t.report_complete
    actions = [e.action for e in t.events if e.action]
    assert replay(actions, t.service_type) is t.status
    decline = next(e for e in t.events if e.action is Action.DECLINE)
    assert decline.details["reason"] == "too far" and decline.from_status is TicketStatus.DISPATCHED


async def test_refused_actions_change_nothing(db: Database) -> None:
    ticket = await new_ticket(db)
    with pytest.raises(TransitionError):
        async with db.write() as s:
            t = await s.get(Ticket, ticket.id)
            apply_action(s, t, Action.ACCEPT, now=NOW)
    with pytest.raises(DomainError, match="reason_required"):
        async with db.write() as s:
            t = await s.get(Ticket, ticket.id)
            apply_action(s, t, Action.CANCEL, now=NOW, reason="  ")
    async with db.read() as s:
        t = await s.get(Ticket, ticket.id)
        assert t.status is TicketStatus.NEW
        assert await s.scalar(select(func.count()).select_from(TicketEvent)) == 1


async def test_event_log_is_append_only(db: Database) -> None:
    ticket = await new_ticket(db)
    with pytest.raises(RuntimeError, match="append-only"):
        async with db.write() as s:
            event = await s.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
            event.kind = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        async with db.write() as s:
            event = await s.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
            await s.delete(event)


async def test_the_caller_owns_the_transaction(db: Database) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.write() as s:
            await register_ticket(s, registration(), now=NOW, today=TODAY, warranty=timedelta(days=365))
            1 / 0  # noqa: B018
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_utc_round_trip_and_naive_times_refused(db: Database) -> None:
    shanghai = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    async with db.write() as s:
        s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="1", received_at=shanghai))
    async with db.read() as s:
        got = await s.scalar(select(InboundEvent.received_at))
    assert got == NOW and got.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"):
        async with db.write() as s:
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="2", received_at=datetime(2026, 1, 1)))


async def test_duplicate_inbound_events_and_outbox_keys_are_refused(db: Database) -> None:
    async with db.write() as s:
        s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="42"))
        s.add(InboundEvent(channel=Channel.WECOM, external_id="42"))
        s.add(OutboxMessage(channel=Channel.TELEGRAM, chat_id="1", payload={"text": "hi"}, dedupe_key="k1"))
    with pytest.raises(IntegrityError):
        async with db.write() as s:
            s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="42"))
    with pytest.raises(IntegrityError):
        async with db.write() as s:
            s.add(OutboxMessage(channel=Channel.TELEGRAM, chat_id="1", payload={"text": "again"}, dedupe_key="k1"))
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_invites_are_single_use_and_expire(db: Database) -> None:
    async with db.write() as s:
        token = await create_invite(s, role=Role.ENGINEER, name="Li", now=NOW, ttl=timedelta(days=1))
        old = await create_invite(s, role=Role.ENGINEER, name="Old", now=NOW - timedelta(days=2),
                                  ttl=timedelta(days=1))
    async with db.write() as s:
        person, invite = await join(s, token, channel=Channel.TELEGRAM, external_user_id="100", chat_id="100",
                                    now=NOW)
        assert person.role is Role.ENGINEER and person.name == "Li"
    for bad, code in ((token, "invite_used"), (old, "invite_expired"), ("nope", "invite_invalid"),
                      ("../../etc", "invite_invalid")):
        with pytest.raises(DomainError) as info:
            async with db.write() as s:
                await redeem_invite(s, bad, now=NOW)
        assert info.value.code == code


async def test_racing_redemptions_let_exactly_one_in(db: Database) -> None:
    async with db.write() as s:
        token = await create_invite(s, role=Role.SUPERVISOR, name="Wang", now=NOW, ttl=timedelta(days=1))

    async def attempt(uid: int) -> str:
        try:
            async with db.write() as s:
                await join(s, token, channel=Channel.TELEGRAM, external_user_id=str(uid), chat_id=str(uid), now=NOW)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = await asyncio.gather(*(attempt(i) for i in range(5)))
    assert sorted(results) == ["invite_used"] * 4 + ["ok"]
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Person)) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(service=st.sampled_from(list(ServiceType)), actions=st.lists(st.sampled_from(list(Action)), max_size=25))
async def test_stored_event_log_replays_to_the_stored_status(
    db: Database, service: ServiceType, actions: list[Action]
) -> None:
    ticket = await new_ticket(db, service=service, serial=None)
    async with db.write() as s:
        eng = Person(name="E", role=Role.ENGINEER)
        other = Person(name="F", role=Role.ENGINEER)
        s.add_all([eng, other])
        await s.flush()
        ids = [eng.id, other.id]
    for n, action in enumerate(actions):
        try:
            async with db.write() as s:
                t = await s.get(Ticket, ticket.id)
                assignee = ids[1] if t.assignee_id == ids[0] else ids[0]  # reassign needs someone else
                apply_action(s, t, action, now=NOW + timedelta(minutes=n), assignee_id=assignee, reason="r")
        except TransitionError:
            pass
    async with db.read() as s:
        t = await ticket_by_number(s, ticket.number, with_events=True)
    transitions = [e for e in t.events if e.kind == "transition"]
    assert replay([e.action for e in transitions], service) is t.status
    for before, after in zip(transitions, transitions[1:]):
        assert before.to_status is after.from_status
