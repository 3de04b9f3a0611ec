"""Missing daily check-in on a controllable clock and a real business calendar (08:30–22:00
Mon–Fri, Asia/Shanghai; Wed 2026-03-04 a holiday, Sat 2026-03-07 a make-up working day): who is
reminded at 18:00 exactly and whose supervisor is told at 20:00, the exact outbox rows, and every
message written once however often and by however many instances the job runs.

The helpers at the top (an App on that calendar, people, tickets, reading the outbox) are shared
with ``test_callback.py``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import App, FixedClock, build_app
from bot.config import Config, parse_config
from models.enums import Action, Channel, CheckinKind, Role, ServiceType
from models.invites import create_invite, join, team_by_name
from models.migrate import upgrade
from models.people import Person
from models.registry import Registration, register_ticket
from models.runtime import OutboxMessage
from models.tickets import Ticket, TicketEvent
from models.transitions import apply_action
from models.work import Checkin
from scheduler import daily
from scheduler.runner import Scheduler

TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
CALENDAR = """
[bot]
language = "en"
timezone = "Asia/Shanghai"
holidays = ["2026-03-04"]
makeup_workdays = ["2026-03-07"]
[bot.working_hours]
mon = "08:30-22:00"
tue = "08:30-22:00"
wed = "08:30-22:00"
thu = "08:30-22:00"
fri = "08:30-22:00"
sat = "off"
sun = "off"
[chase]
daily_checkin_due = "18:00"
daily_checkin_escalate = "2h"
callback_after = "3d"
callback_expire = "2d"
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local Shanghai time in March 2026, as UTC (what the database holds)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def shown(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def calendar_config(db_url: str, tmp_path: Path) -> Config:
    return parse_config(CALENDAR + f'[database]\nurl = "{db_url}"\n[storage]\nmedia_dir = "{tmp_path / "media"}"\n',
                        environ={})


def make_app(db_url: str, tmp_path: Path) -> App:
    return build_app(calendar_config(db_url, tmp_path), FixedClock(at(2, 9)))


@pytest.fixture
async def capp(db_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """An App on the test calendar whose clock the test moves (``capp.clock.at = ...``)."""
    application = make_app(db_url, tmp_path)
    await upgrade(application.db)
    yield application
    await application.close()


# -- people, tickets ------------------------------------------------------------------------------
_uids = itertools.count(5000)


async def person(app: App, role: Role, name: str, team: str | None = "North", lang: str = "en", *,
                 customer_id: int | None = None, ticket_id: int | None = None) -> int:
    """Someone who joined through an invite (staff) or a ticket link (customer), in ``lang``."""
    now = app.clock.now()
    async with app.db.write() as s:
        team_row = await team_by_name(s, team, create=True) if team else None
        token = await create_invite(s, role=role, name=name, now=now, ttl=timedelta(days=30),
                                    team_id=team_row.id if team_row else None, customer_id=customer_id,
                                    ticket_id=ticket_id)
        uid = str(next(_uids))
        joined, _ = await join(s, token, channel=Channel.TELEGRAM, external_user_id=uid, chat_id=uid, now=now,
                               language=lang)
        return joined.id


async def new_ticket(app: App, *, engineer: int | None = None, then: tuple[Action, ...] = (), team: str = "North",
                     severity: int = 2, service: ServiceType = ServiceType.ONSITE, customer: str = "Acme Ltd",
                     contact: str = "Mr Lin", phone: str = "+8613800000001", **kw: object) -> Ticket:
    """Register a ticket (clocks running) and, with ``engineer``, dispatch it and apply ``then``."""
    now = app.clock.now()
    async with app.db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        reg = Registration(customer=customer, phone=phone, contact=contact, address="1 Harbour Rd", model="X200",
                           fault="Display flickers", severity=severity, service=service, team_id=team_row.id)
        ticket = await register_ticket(s, reg, now=now, today=date(2026, 3, 1), warranty=timedelta(days=365),
                                       clocks=app.sla)
        if engineer is not None:
            apply_action(s, ticket, Action.DISPATCH, now=now, assignee_id=engineer, clocks=app.sla)
            for action in then:
                apply_action(s, ticket, action, now=now, actor_id=engineer, clocks=app.sla, **kw)
        return ticket


async def act(app: App, ticket: Ticket, *actions: Action, actor: int | None = None, **kw: object) -> None:
    async with app.db.write() as s:
        row = await s.get(Ticket, ticket.id)
        for action in actions:
            apply_action(s, row, action, now=app.clock.now(), actor_id=actor, clocks=app.sla, **kw)


async def report(app: App, engineer: int, ticket: Ticket, kind: CheckinKind = CheckinKind.PROGRESS) -> None:
    """A check-in as stored by the check-in flow (the flow itself is tested in test_flow_checkins)."""
    async with app.db.write() as s:
        s.add(Checkin(ticket_id=ticket.id, engineer_id=engineer, kind=kind, text="Progress",
                      server_at=app.clock.now()))


# -- reading what was written ---------------------------------------------------------------------
class Outbox:
    """Outbox rows written since the last look: (recipient, text, buttons, not_before local)."""

    def __init__(self, app: App):
        self.app, self.last = app, 0

    async def new(self) -> list[tuple[str, str, list[list[tuple[str, str]]], str]]:
        async with self.app.db.read() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.id > self.last)
                                    .order_by(OutboxMessage.id))).all()
            names = dict((await s.execute(select(Person.id, Person.name))).all())
        if rows:
            self.last = rows[-1].id
        return [(names.get(r.person_id, ""), r.payload["text"],
                 [[(b["label"], b["data"]) for b in row] for row in r.payload.get("buttons", [])],
                 shown(r.not_before)) for r in rows]


async def outbox_keys(app: App, prefix: str) -> list[str]:
    async with app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage.dedupe_key)
                                     .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))
                                     .order_by(OutboxMessage.id))).all())


async def ticket_events(app: App, ticket: Ticket, prefix: str) -> list[tuple[str, dict, str]]:
    async with app.db.read() as s:
        rows = (await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.id))).all()
    return [(e.kind, e.details, shown(e.at)) for e in rows if e.kind.startswith(prefix)]


async def tick(app: App, moment: datetime, job: Callable[[App, datetime], Awaitable[int]] = daily.run) -> int:
    app.clock.at = moment
    return await job(app, moment)


def remind(numbers: str) -> str:
    return (f"Reminder: you have not sent today's progress check-in for {numbers} (due 18:00). "
            "Please report to your supervisor: send /checkin.")


# -- the week -------------------------------------------------------------------------------------
async def test_a_week_of_daily_checkins(capp: App) -> None:
    sup = await person(capp, Role.SUPERVISOR, "Wang Wei", lang="zh-CN")
    li = await person(capp, Role.ENGINEER, "Li Lei")
    zhao = await person(capp, Role.ENGINEER, "Zhao Min")
    sun = await person(capp, Role.ENGINEER, "Sun Qi", lang="zh-CN")
    qian = await person(capp, Role.ENGINEER, "Qian Hu")
    zhou = await person(capp, Role.ENGINEER, "Zhou Yu")
    onsite = (Action.ACCEPT, Action.DEPART, Action.ARRIVE)
    # Monday 09:00: three engineers on site (one pauses for parts), one on a phone ticket.
    t_li = await new_ticket(capp, engineer=li, then=onsite)
    t_zhao = await new_ticket(capp, engineer=zhao, then=onsite)
    t_sun = await new_ticket(capp, engineer=sun, then=onsite)
    await act(capp, t_sun, Action.PAUSE, actor=sun, pause_reason="parts")
    t_phone = await new_ticket(capp, engineer=qian, then=(Action.ACCEPT,), service=ServiceType.PHONE)
    await report(capp, zhao, t_zhao, CheckinKind.ARRIVAL)  # an arrival is not a progress report
    capp.clock.at = at(2, 14)
    await report(capp, li, t_li)
    capp.clock.at = at(2, 19)  # arrives after the due time: reports from tomorrow on
    t_zhou = await new_ticket(capp, engineer=zhou, then=onsite)
    out = Outbox(capp)
    await out.new()

    assert await tick(capp, at(2, 17, 59)) == 0
    assert await tick(capp, at(2, 18)) == 2
    assert await out.new() == [
        ("Zhao Min", remind(t_zhao.number), [], "2026-03-02 18:00"),
        ("Sun Qi", f"提醒：您今天还没有提交 {t_sun.number} 的进展签到（截止 18:00）。请向主管汇报：发送 /checkin。",
         [], "2026-03-02 18:00"),
    ]
    for moment in (at(2, 18), at(2, 18, 30), at(2, 19, 59)):
        assert await tick(capp, moment) == 0
    assert await out.new() == []

    assert await tick(capp, at(2, 20)) == 2
    assert await out.new() == [
        ("Wang Wei", f"Zhao Min 今天仍未提交 {t_zhao.number} 的进展签到（截止 18:00）。", [], "2026-03-02 20:00"),
        ("Wang Wei", f"Sun Qi 今天仍未提交 {t_sun.number} 的进展签到（截止 18:00）。", [], "2026-03-02 20:00"),
    ]
    assert await tick(capp, at(2, 21)) == 0 and await tick(capp, at(2, 23)) == 0
    assert await ticket_events(capp, t_zhao, "daily_") == [
        ("daily_checkin_reminded", {"engineer": "Zhao Min"}, "2026-03-02 18:00"),
        ("daily_checkin_escalated", {"engineer": "Zhao Min"}, "2026-03-02 20:00"),
    ]
    assert await ticket_events(capp, t_li, "daily_") == [] and await ticket_events(capp, t_phone, "daily_") == []

    # Tuesday: yesterday's report does not count; Zhao Min reports in the morning.
    capp.clock.at = at(3, 10)
    await report(capp, zhao, t_zhao)
    assert await tick(capp, at(3, 18)) == 3
    assert [(to, text) for to, text, _, _ in await out.new()] == [
        ("Li Lei", remind(t_li.number)),
        ("Sun Qi", f"提醒：您今天还没有提交 {t_sun.number} 的进展签到（截止 18:00）。请向主管汇报：发送 /checkin。"),
        ("Zhou Yu", remind(t_zhou.number)),
    ]
    # Li Lei reports before 20:00: only the other two reach the supervisor.
    capp.clock.at = at(3, 19)
    await report(capp, li, t_li)
    assert await tick(capp, at(3, 20)) == 2
    assert [(to, text.split(" ")[0]) for to, text, _, _ in await out.new()] == [("Wang Wei", "Sun"),
                                                                               ("Wang Wei", "Zhou")]

    # Wednesday is a holiday: no daily chase at all.
    for moment in (at(4, 18), at(4, 20), at(4, 21, 59)):
        assert await tick(capp, moment) == 0
    assert await out.new() == []

    # Thursday Sun Qi resumes and resolves before the due time: no longer chased.
    capp.clock.at = at(5, 11)
    await act(capp, t_sun, Action.RESUME, Action.RESOLVE, actor=sun, findings="f", actions_taken="a")
    assert await tick(capp, at(5, 18)) == 3
    assert [to for to, _, _, _ in await out.new()] == ["Li Lei", "Zhao Min", "Zhou Yu"]

    # Saturday is a make-up working day: the chase runs; Sunday it does not.
    assert await tick(capp, at(7, 17)) == 0
    assert await tick(capp, at(7, 18)) == 3
    assert await tick(capp, at(7, 20)) == 3
    assert await tick(capp, at(8, 18)) == 0 and await tick(capp, at(8, 20)) == 0
    assert await outbox_keys(capp, "daily:2026-03-07") == [
        f"daily:2026-03-07:{li}:remind", f"daily:2026-03-07:{zhao}:remind", f"daily:2026-03-07:{zhou}:remind",
        f"daily:2026-03-07:{li}:escalate", f"daily:2026-03-07:{zhao}:escalate", f"daily:2026-03-07:{zhou}:escalate",
    ]
    assert await outbox_keys(capp, "daily:2026-03-04") == [] and await outbox_keys(capp, "daily:2026-03-08") == []
    assert sup and qian  # joined, never chased (the supervisor only hears about others)


async def test_per_ticket_and_severity_one_and_no_supervisor(capp: App) -> None:
    """Two sites, one reported: reminded of the other.  A severity-1 ticket's reminder is never held
    by quiet hours (due time set after closing here).  No supervisor: nobody to tell, no error."""
    li = await person(capp, Role.ENGINEER, "Li Lei", team="South")
    zhao = await person(capp, Role.ENGINEER, "Zhao Min", team="South")
    onsite = (Action.ACCEPT, Action.DEPART, Action.ARRIVE)
    first = await new_ticket(capp, engineer=li, then=onsite, team="South")
    second = await new_ticket(capp, engineer=li, then=onsite, team="South")
    urgent = await new_ticket(capp, engineer=zhao, then=onsite, team="South", severity=1)
    calm = await new_ticket(capp, engineer=zhao, then=onsite, team="South", severity=3)
    capp.clock.at = at(2, 12)
    await report(capp, li, first)
    capp.config.chase.daily_checkin_due = datetime(2026, 1, 1, 22, 30).time()  # after closing
    out = Outbox(capp)
    await out.new()
    assert await tick(capp, at(2, 22, 30)) == 2
    assert await out.new() == [
        ("Li Lei", remind(second.number).replace("18:00", "22:30"), [], "2026-03-03 08:30"),  # waits for morning
        ("Zhao Min", remind(f"{urgent.number}, {calm.number}").replace("18:00", "22:30"), [], "2026-03-02 22:30"),
    ]
    # Escalation stays on the same local day (22:30 + 2h would pass midnight): 23:59, to nobody.
    assert daily.moments(capp, date(2026, 3, 2))[2] == at(2, 23, 59)
    assert await tick(capp, at(2, 23, 59)) == 0
    assert await out.new() == []


async def test_sent_once_however_often_and_by_two_instances(capp: App, db_url: str, tmp_path: Path) -> None:
    sup = await person(capp, Role.SUPERVISOR, "Wang Wei")
    engineers = [await person(capp, Role.ENGINEER, f"Engineer {i}") for i in range(4)]
    for engineer in engineers:
        await new_ticket(capp, engineer=engineer, then=(Action.ACCEPT, Action.DEPART, Action.ARRIVE))
    other = make_app(db_url, tmp_path)
    try:
        for moment in (at(2, 18), at(2, 20)):
            capp.clock.at = other.clock.at = moment
            counts = await asyncio.gather(daily.run(capp, moment), daily.run(other, moment),
                                          daily.run(capp, moment), daily.run(other, moment))
            assert sum(counts) == len(engineers)
            runner = Scheduler(capp)
            assert (await runner.tick())["daily-checkin"] == 0
            await runner.stop()
    finally:
        await other.close()
    keys = await outbox_keys(capp, "daily:")
    assert sorted(keys) == sorted(f"daily:2026-03-02:{e}:{step}" for e in engineers for step in ("remind", "escalate"))
    async with capp.db.read() as s:
        to = (await s.scalars(select(OutboxMessage.person_id).where(OutboxMessage.dedupe_key.like("daily:%:escalate")))).all()
    assert to == [sup] * len(engineers)


async def test_the_scans_use_their_indexes(capp: App, backend: str) -> None:
    """The daily scan reads tickets by status and check-ins by engineer and time; the callback scan
    reads its partial index (SQLite's query plan; PostgreSQL's depends on table statistics)."""
    if backend != "sqlite":
        pytest.skip("query plans checked on SQLite")
    from sqlalchemy import text

    from scheduler import callback

    async def plan(stmt) -> str:  # noqa: ANN001
        sql = str(stmt.compile(capp.db.reader.sync_engine, compile_kwargs={"literal_binds": True}))
        async with capp.db.read() as s:
            return " | ".join(row[-1] for row in (await s.execute(text("EXPLAIN QUERY PLAN " + sql))).all())

    now = at(2, 18)
    assert "USING INDEX ix_tickets_status_assignee" in await plan(daily.working_tickets())
    assert "USING INDEX ix_checkins_engineer_time" in await plan(daily.reported([1, 2, 3], at(2, 0)))
    assert "USING INDEX ix_tickets_callback_next" in await plan(callback.due_tickets(now))
