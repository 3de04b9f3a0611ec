"""The SLA chase on a simulated Shanghai fortnight (March 2026), on SQLite and PostgreSQL.

Calendar: 08:30–22:00 Monday to Friday, Wednesday 4 March a holiday, Saturday 14 March a
make-up working day (调休).  ``[sla]`` levels use short round numbers so the ladders are easy
to follow: warn at 80 %, escalate one (working) hour after the breach.

The job runs as the scheduler runs it — ``sla.run(app, now)`` with a fixed clock that the test
moves on, usually every minute — and every assertion is on the exact outbox rows: recipient,
text (in the recipient's language) and not-before time.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.app import App
from models.clocks import BREACHED, ESCALATED, NONE, WARNED
from models.enums import Action, ServiceType
from models.people import Person
from models.runtime import OutboxMessage
from models.tickets import Ticket, TicketEvent
from scheduler import sla
from scheduler.runner import Scheduler
from tests.support import sla as sla_world
from tests.support.sla import MINUTE, SH, Crew, act, new_app, register, run_every, sh, ticket

app = sla_world.app  # the fixtures, found by pytest under these names
crew = sla_world.crew


async def outbox(app: App) -> list[tuple[str, str, str]]:
    """(recipient, text, not-before as 'DD HH:MM' Shanghai time) per row, in order."""
    async with app.db.read() as s:
        rows = (await s.execute(
            select(Person.name, OutboxMessage.payload, OutboxMessage.not_before)
            .join(Person, Person.id == OutboxMessage.person_id).order_by(OutboxMessage.id)
        )).all()
    return [(name, payload["text"], nb.astimezone(SH).strftime("%d %H:%M")) for name, payload, nb in rows]


async def sla_events(app: App, number: str) -> list[tuple[str, str, str, str, bool]]:
    async with app.db.read() as s:
        events = (await s.scalars(
            select(TicketEvent).join(Ticket).where(Ticket.number == number, TicketEvent.kind.like("sla_%"))
            .order_by(TicketEvent.id)
        )).all()
    return [(e.at.astimezone(SH).strftime("%d %H:%M"), e.kind, e.details["clock"], e.details["role"],
             e.details["sent"]) for e in events]


N1 = "FS-2026-000001"
N2 = "FS-2026-000002"


# -- the ladder -------------------------------------------------------------------------------------
async def test_warning_breach_escalation_each_once_while_the_job_runs_every_minute(app: App, crew: Crew) -> None:
    # Severity 2, business clocks: respond 1h → due 10:00, warning at 80 % = 09:48,
    # breach at 10:00 (supervisor), escalation one working hour later at 11:00 (manager).
    number = await register(app, crew, sh(2, 9), 2)
    await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    assert (await ticket(app, number)).sla_next_at == sh(2, 9, 48)

    await run_every(app, sh(2, 9), sh(2, 11, 30))

    assert await outbox(app) == [
        ("Li Lei", f"{number}: the response time limit is due at 10:00 (12 min left).", "02 09:48"),
        ("Wang Fang", f"{number}：响应时限已超时（应于 10:00 完成）。工程师：Li Lei。", "02 10:00"),
        ("Zhao Min", f"{number}: the response time limit was missed at 10:00 and is 60 min overdue; "
                     "the supervisor has been told. Engineer: Li Lei.", "02 11:00"),
    ]
    assert await sla_events(app, number) == [
        ("02 09:48", "sla_warned", "respond", "engineer", True),
        ("02 10:00", "sla_breached", "respond", "supervisor", True),
        ("02 11:00", "sla_escalated", "respond", "manager", True),
    ]
    row = await ticket(app, number)
    assert (row.respond_level, row.arrive_level, row.resolve_level) == (ESCALATED, NONE, NONE)
    # The respond ladder is done; next is the arrive warning (80 % of 5h after 09:00).
    assert row.sla_next_at == sh(2, 13)
    # The outbox keys say which clock, level and due time each row is for.
    async with app.db.read() as s:
        keys = (await s.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))).all()
    due = sh(2, 10).astimezone(ZoneInfo("UTC")).isoformat()
    assert keys == [f"sla:{row.id}:respond:{level}:{due}" for level in ("warned", "breached", "escalated")]


async def test_a_met_clock_stops_its_ladder_and_stores_its_difference(app: App, crew: Crew) -> None:
    number = await register(app, crew, sh(2, 9), 2)
    await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    await run_every(app, sh(2, 9, 40), sh(2, 9, 50))
    await act(app, number, Action.ACCEPT, sh(2, 9, 50))  # 10 min early, after the warning
    await act(app, number, Action.DEPART, sh(2, 10, 30))
    await run_every(app, sh(2, 9, 50), sh(2, 13, 30), 5 * MINUTE)  # arrive warning at 13:00 (80 % of 5h)
    await act(app, number, Action.ARRIVE, sh(2, 13, 30))  # due 14:00: 30 min early
    await run_every(app, sh(2, 13, 30), sh(2, 19, 30), 5 * MINUTE)  # resolve: warned 17:00, breached 19:00
    await act(app, number, Action.RESOLVE, sh(2, 19, 30), findings="f", actions_taken="a")  # 30 min late
    await run_every(app, sh(2, 19, 30), sh(2, 21, 30), 5 * MINUTE)  # no escalation at 20:00: it was met

    assert await outbox(app) == [
        ("Li Lei", f"{number}: the response time limit is due at 10:00 (12 min left).", "02 09:48"),
        ("Li Lei", f"{number}: the arrival time limit is due at 14:00 (60 min left).", "02 13:00"),
        ("Li Lei", f"{number}: the resolution time limit is due at 19:00 (120 min left).", "02 17:00"),
        ("Wang Fang", f"{number}：解决时限已超时（应于 19:00 完成）。工程师：Li Lei。", "02 19:00"),
    ]
    row = await ticket(app, number)
    assert (row.respond_diff_min, row.arrive_diff_min, row.resolve_diff_min) == (10, 30, -30)
    assert (row.respond_met_at, row.arrive_met_at, row.resolve_met_at) == (sh(2, 9, 50), sh(2, 13, 30),
                                                                           sh(2, 19, 30))
    assert (row.respond_level, row.arrive_level, row.resolve_level) == (WARNED, WARNED, BREACHED)
    assert row.sla_next_at is None  # every clock met: nothing left to chase


async def test_an_unassigned_ticket_warns_the_supervisor_and_a_cancelled_one_is_not_chased(
        app: App, crew: Crew) -> None:
    first = await register(app, crew, sh(2, 9), 2)
    second = await register(app, crew, sh(2, 9), 2)
    await run_every(app, sh(2, 9, 45), sh(2, 9, 50))
    await act(app, second, Action.CANCEL, sh(2, 9, 55), reason="duplicate")
    assert (await ticket(app, second)).sla_next_at is None
    await run_every(app, sh(2, 9, 55), sh(2, 10, 5))
    assert await outbox(app) == [
        ("Wang Fang", f"{first}：响应时限将于 10:00 到期（剩余 12 分钟）。", "02 09:48"),
        ("Wang Fang", f"{second}：响应时限将于 10:00 到期（剩余 12 分钟）。", "02 09:48"),
        ("Wang Fang", f"{first}：响应时限已超时（应于 10:00 完成）。工程师：未派单。", "02 10:00"),
    ]


# -- pauses -----------------------------------------------------------------------------------------
async def test_a_pause_over_a_night_and_a_weekend_stops_the_clocks_and_moves_the_warning(
        app: App, crew: Crew) -> None:
    # Severity 3, registered Thursday 5 March 09:00: resolve 20 working hours → due Friday 15:30,
    # warning (80 % = 16h) Friday 11:30.
    number = await register(app, crew, sh(5, 9), 3)
    await act(app, number, Action.DISPATCH, sh(5, 9), assignee_id=crew.engineer)
    await act(app, number, Action.ACCEPT, sh(5, 9, 30))
    await act(app, number, Action.DEPART, sh(5, 10))
    await act(app, number, Action.ARRIVE, sh(5, 11))
    row = await ticket(app, number)
    assert (row.resolve_due_at, row.sla_next_at) == (sh(6, 15, 30), sh(6, 11, 30))

    # Waiting for parts from Thursday 21:00 to Monday 10:00: 8 working hours were left.
    await act(app, number, Action.PAUSE, sh(5, 21), pause_reason="parts")
    assert (await ticket(app, number)).sla_next_at is None  # paused: nothing to chase
    await run_every(app, sh(5, 21), sh(9, 10), timedelta(minutes=30))
    assert await outbox(app) == []

    # Lost working time: Thu 1h + Fri 13.5h + Mon 1.5h = 16h → due Monday 18:00 (8h after the
    # resume, as at the pause); the warning keeps its place 4h before the due time: Monday 14:00.
    await act(app, number, Action.RESUME, sh(9, 10))
    row = await ticket(app, number)
    assert (row.resolve_due_at, row.sla_next_at, row.resolve_level) == (sh(9, 18), sh(9, 14), NONE)
    await run_every(app, sh(9, 10), sh(9, 14, 10))
    assert await outbox(app) == [
        ("Li Lei", f"{number}: the resolution time limit is due at 18:00 (240 min left).", "09 14:00"),
    ]


async def test_a_pause_after_the_warning_does_not_warn_again(app: App, crew: Crew) -> None:
    """The pause keeps the time that was left, so the earlier warning still holds: the next step
    is the breach at the shifted due time (see the dedupe note in scheduler/sla.py)."""
    number = await register(app, crew, sh(5, 9), 3, ServiceType.PHONE)  # resolve due Fri 15:30
    await act(app, number, Action.DISPATCH, sh(5, 9), assignee_id=crew.engineer)
    await act(app, number, Action.ACCEPT, sh(5, 9, 10))
    await run_every(app, sh(6, 11, 30), sh(6, 11, 30))  # the resolve warning
    await act(app, number, Action.PAUSE, sh(6, 12), pause_reason="customer")  # 3.5h left
    await act(app, number, Action.RESUME, sh(9, 9))  # lost Fri 10h + Mon 0.5h → due Mon 12:30
    row = await ticket(app, number)
    assert (row.resolve_due_at, row.sla_next_at, row.resolve_level) == (sh(9, 12, 30), sh(9, 12, 30), WARNED)
    await run_every(app, sh(9, 9), sh(9, 12, 30))
    assert await outbox(app) == [
        ("Li Lei", f"{number}: the resolution time limit is due at 15:30 (240 min left).", "06 11:30"),
        ("Wang Fang", f"{number}：解决时限已超时（应于 12:30 完成）。工程师：Li Lei。", "09 12:30"),
    ]


# -- quiet hours, the holiday and the make-up Saturday -------------------------------------------------
async def test_severity_1_is_chased_at_night_severity_3_waits_for_the_working_day(app: App, crew: Crew) -> None:
    # Severity 3 registered Tuesday 20:24: respond 2 working hours, 96 min of them on Tuesday, so
    # the 80 % warning falls on Tuesday's close (22:00) and the due time on Thursday 08:54
    # (Wednesday is a holiday).  The warning waits for Thursday's opening.
    slow = await register(app, crew, sh(3, 20, 24), 3)
    await act(app, slow, Action.DISPATCH, sh(3, 20, 24), assignee_id=crew.engineer)
    # Severity 1 (24x7) registered Tuesday 23:00: respond 50 min → warned 23:40, breached 23:50,
    # escalated Wednesday 00:50 — each at once, night and holiday notwithstanding.
    fast = await register(app, crew, sh(3, 23), 1)
    await act(app, fast, Action.DISPATCH, sh(3, 23), assignee_id=crew.engineer)

    await run_every(app, sh(3, 20, 30), sh(4, 1), timedelta(minutes=10))
    await act(app, fast, Action.CANCEL, sh(4, 1, 5), reason="the customer's own staff fixed it")
    await run_every(app, sh(5, 8), sh(5, 9, 10))

    assert await outbox(app) == [
        ("Li Lei", f"{slow}: the response time limit is due at 08:54 (24 min left).", "05 08:30"),
        ("Li Lei", f"{fast}: the response time limit is due at 23:50 (10 min left).", "03 23:40"),
        ("Wang Fang", f"{fast}：响应时限已超时（应于 23:50 完成）。工程师：Li Lei。", "03 23:50"),
        ("Zhao Min", f"{fast}: the response time limit was missed at 23:50 yesterday and is 60 min overdue; "
                     "the supervisor has been told. Engineer: Li Lei.", "04 00:50"),
        ("Wang Fang", f"{slow}：响应时限已超时（应于 08:54 完成）。工程师：Li Lei。", "05 08:54"),
    ]
    # The warning was decided at 22:00 Tuesday (recorded then), only its delivery waits.
    assert (await sla_events(app, slow))[0] == ("03 22:00", "sla_warned", "respond", "engineer", True)


async def test_the_make_up_saturday_is_a_working_day(app: App, crew: Crew) -> None:
    # Friday 13 March 21:30, severity 2: 30 min on Friday, the rest on the make-up Saturday.
    number = await register(app, crew, sh(13, 21, 30), 2, ServiceType.PHONE)
    await act(app, number, Action.DISPATCH, sh(13, 21, 30), assignee_id=crew.engineer)
    await run_every(app, sh(13, 21, 30), sh(14, 10, 30), timedelta(minutes=6))
    assert await outbox(app) == [
        ("Li Lei", f"{number}: the response time limit is due at 09:00 (12 min left).", "14 08:48"),
        ("Wang Fang", f"{number}：响应时限已超时（应于 09:00 完成）。工程师：Li Lei。", "14 09:00"),
        ("Zhao Min", f"{number}: the response time limit was missed at 09:00 and is 60 min overdue; "
                     "the supervisor has been told. Engineer: Li Lei.", "14 10:00"),
    ]


async def test_a_late_run_sends_the_missed_steps_in_order_without_a_false_warning(app: App, crew: Crew) -> None:
    """The scheduler was down from 09:00 to 11:30: the respond clock is breached and escalated
    (both said, in order); its warning would say "N min left" of a clock already overdue, so it
    is skipped; the arrive clock, not yet due, is warned normally later."""
    number = await register(app, crew, sh(2, 9), 2)
    await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    await run_every(app, sh(2, 11, 30), sh(2, 11, 30))
    assert await outbox(app) == [
        ("Wang Fang", f"{number}：响应时限已超时（应于 10:00 完成）。工程师：Li Lei。", "02 11:30"),
        ("Zhao Min", f"{number}: the response time limit was missed at 10:00 and is 90 min overdue; "
                     "the supervisor has been told. Engineer: Li Lei.", "02 11:30"),
    ]
    row = await ticket(app, number)
    assert (row.respond_level, row.sla_next_at) == (ESCALATED, sh(2, 13))


# -- safe with several instances ---------------------------------------------------------------------
async def test_two_apps_running_the_job_concurrently_send_each_message_once(app: App, crew: Crew,
                                                                            db_url: str) -> None:
    numbers = [await register(app, crew, sh(2, 9), 2) for _ in range(12)]
    for number in numbers:
        await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    other = await new_app(db_url, sh(2, 9))
    scheduler = Scheduler(other, jobs={"sla": sla.run})
    try:
        for moment in (sh(2, 9, 48), sh(2, 10), sh(2, 11)):
            app.clock.at = other.clock.at = moment
            both = await asyncio.gather(sla.run(app, moment), scheduler.tick())
            assert both[0] + both[1]["sla"] == len(numbers)  # each ticket acted on by exactly one
    finally:
        await scheduler.stop()
        await other.close()
    rows = await outbox(app)
    assert len(rows) == 3 * len(numbers)
    assert sorted({(name, when) for name, _, when in rows}) == [
        ("Li Lei", "02 09:48"), ("Wang Fang", "02 10:00"), ("Zhao Min", "02 11:00")]
    assert len({text for _, text, _ in rows}) == len(rows)


async def test_a_fooled_claim_is_still_kept_single_by_the_dedupe_key(app: App, crew: Crew) -> None:
    """Put the ticket back as it was before the warning (as a stale second leader would see it):
    the claim succeeds again, but the outbox key and the recorded step stop a second message."""
    number = await register(app, crew, sh(2, 9), 2)
    await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    await run_every(app, sh(2, 9, 48), sh(2, 9, 48))
    async with app.db.write() as s:
        await s.execute(update(Ticket).where(Ticket.number == number)
                        .values(respond_level=NONE, sla_next_at=sh(2, 9, 48)))
    await run_every(app, sh(2, 9, 49), sh(2, 9, 49))
    assert [text for _, text, _ in await outbox(app)] == [
        f"{number}: the response time limit is due at 10:00 (12 min left)."]
    assert [kind for _, kind, *_ in await sla_events(app, number)] == ["sla_warned"]
