"""The SLA fortnight (March 2026 in Shanghai, 08:30–22:00 Mon–Fri, Wednesday 4 March a holiday,
Saturday 14 March a make-up working day, short round ``[sla]`` levels), a crew of three, tickets
registered and moved at given moments, and the SLA job run minute by minute: shared by the SLA chase
tests and ``fieldbot ticket show``'s.

A module that uses the fixtures binds them under their names: ``app = sla.app; crew = sla.crew``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import App, FixedClock
from bot.config import Config, parse_config
from models.db import Database
from models.enums import Action, Channel, Role, ServiceType
from models.migrate import upgrade
from models.people import ChannelIdentity, Person, Team
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from models.transitions import apply_action
from scheduler import sla

SH = ZoneInfo("Asia/Shanghai")
MINUTE = timedelta(minutes=1)


def config_text(db_url: str) -> str:
    return f"""
[bot]
language = "en"
timezone = "Asia/Shanghai"
holidays = [2026-03-04]
makeup_workdays = [2026-03-14]

[bot.working_hours]
mon = "08:30-22:00"
tue = "08:30-22:00"
wed = "08:30-22:00"
thu = "08:30-22:00"
fri = "08:30-22:00"
sat = "off"
sun = "off"

[database]
url = "{db_url}"

[sla]
warn_at = 0.8
escalate_after = "1h"

[sla.1]
respond = "50m"
arrive = "4h"
resolve = "10h"
calendar = "24x7"

[sla.2]
respond = "1h"
arrive = "5h"
resolve = "10h"

[sla.3]
respond = "2h"
arrive = "10h"
resolve = "20h"

[sla.4]
respond = "4h"
arrive = "20h"
resolve = "40h"
"""


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Shanghai time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SH)


def make_config(db_url: str) -> Config:
    return parse_config(config_text(db_url), environ={})


async def new_app(db_url: str, at: datetime) -> App:
    return App(config=make_config(db_url), db=Database(db_url), clock=FixedClock(at))


@dataclass
class Crew:
    team: int
    engineer: int  # Li Lei, reads English
    supervisor: int  # Wang Fang, reads Chinese
    manager: int  # Zhao Min, reads English


async def hire(app: App) -> Crew:
    async with app.db.write() as s:
        team = Team(name="North")
        s.add(team)
        await s.flush()
        ids = []
        for n, (name, role, lang) in enumerate([("Li Lei", Role.ENGINEER, "en"), ("Wang Fang", Role.SUPERVISOR, "zh-CN"),
                                                ("Zhao Min", Role.MANAGER, "en")]):
            person = Person(name=name, role=role, team_id=team.id, language=lang)
            s.add(person)
            await s.flush()
            s.add(ChannelIdentity(person_id=person.id, channel=Channel.TELEGRAM, external_user_id=str(100 + n),
                                  chat_id=str(100 + n)))
            ids.append(person.id)
        team.supervisor_id, team.manager_id = ids[1], ids[2]
        return Crew(team.id, *ids)


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    application = await new_app(db_url, sh(2, 8))
    await upgrade(application.db)
    yield application
    await application.close()


@pytest.fixture
async def crew(app: App) -> Crew:
    return await hire(app)


async def register(app: App, crew: Crew, when: datetime, severity: int,
                   service: ServiceType = ServiceType.ONSITE) -> str:
    app.clock.at = when
    async with app.db.write() as s:
        reg = Registration(customer="ACME Ltd", phone="13800138000", address="1 Road", model="X200",
                           fault="won't start", severity=severity, service=service, team_id=crew.team)
        ticket = await register_ticket(s, reg, now=when, today=app.today(), warranty=app.config.bot.warranty,
                                       clocks=app.sla)
        return ticket.number


async def act(app: App, number: str, action: Action, when: datetime, **kw: object) -> None:
    app.clock.at = when
    async with app.db.write() as s:
        ticket = await s.scalar(select(Ticket).where(Ticket.number == number))
        apply_action(s, ticket, action, now=when, clocks=app.sla, **kw)


async def ticket(app: App, number: str) -> Ticket:
    async with app.db.read() as s:
        return await s.scalar(select(Ticket).where(Ticket.number == number))


async def run_every(app: App, start: datetime, end: datetime, step: timedelta = MINUTE) -> None:
    """Run the job at ``start``, every ``step`` after it, and at ``end``."""
    moment = start
    while moment <= end:
        app.clock.at = moment
        await sla.run(app, moment)
        moment += step
