"""The run's config file and its people, seeded before the first start with the project's own
models (as ``bench/throughput.py`` does): teams of ``team_size`` engineers, each team with its
supervisor, one manager over them all, every engineer on an on-site ticket (so ``/checkin`` goes
straight into the check-in dialog), and one prober per restart who asks ``/help`` right after it.
Everyone has a Telegram identity (their private chat id is their user id), or for the WeCom run a
WeCom one (a member of the app, :func:`wecom_userid`).

Why several teams: every check-in goes to the team's supervisor, one chat; twenty engineers
checking in every few seconds would send one supervisor more than Telegram lets a bot send to one
chat (about one message a second), and the suite would measure that queue instead of the crashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from tests.fault.procs import TOKEN, WEBHOOK_SECRET

MANAGER = 5000
FIRST_SUPERVISOR = 5001
FIRST_ENGINEER = 6001
FIRST_PROBER = 7001

#: Work round the clock (nothing waits for quiet hours), as ``bot.stage.ALL_DAY``.
ALL_DAY = "[bot.working_hours]\n" + "".join(
    f'{d} = "00:00-24:00"\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


@dataclass
class Seat:
    uid: int
    name: str
    ticket_id: int
    number: str


@dataclass
class Cast:
    manager: int = MANAGER
    supervisors: list[int] = field(default_factory=list)
    engineers: list[Seat] = field(default_factory=list)
    probers: list[int] = field(default_factory=list)

    def everyone(self) -> list[tuple[int, str]]:
        return ([(self.manager, "Zhao Min")] + [(uid, f"Supervisor {uid}") for uid in self.supervisors]
                + [(s.uid, s.name) for s in self.engineers] + [(p, f"Prober {p}") for p in self.probers])


def write_config(path: Path, *, db_url: str, api_base: str, media: Path, mode: str, listen_port: int | None = None,
                 webhook_url: str | None = None, scheduler: str = "", chase: str = "") -> Path:
    """A ``fieldbot`` config for one instance (``listen_port``: its webhook server's port)."""
    telegram = (f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{api_base}"\nchat_interval = "0s"\nrate = 60.0\n'
                f'mode = "{mode}"\n')
    if mode == "webhook":
        telegram += (f'webhook_url = "{webhook_url or f"http://127.0.0.1:{listen_port}/telegram"}"\n'
                     f'webhook_listen = "127.0.0.1:{listen_port}"\nwebhook_secret = "{WEBHOOK_SECRET}"\n')
    scheduler = scheduler or 'enabled = true\ntick = "5s"\n'
    text = (f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n{telegram}'
            f'[storage]\nmedia_dir = "{media}"\n'
            # The monthly report would push a chart to supervisor and manager on every fresh database
            # on the month's first working day: noise for this suite.
            '[reports]\nmonthly = false\n'
            f'[scheduler]\n{scheduler}'
            # Nobody is reminded of a missing daily check-in during a run (due a minute before midnight).
            f'[chase]\ndaily_checkin_due = "23:59"\n{chase}'
            + ALL_DAY)
    path.write_text(text)
    return path


def wecom_userid(uid: int) -> str:
    """A seeded person's WeCom member userid (the WeCom run's people are members of the app)."""
    return f"u{uid}"


async def seed(config_path: Path, engineers: int, probers: int, team_size: int = 5,
               channel: str = "telegram") -> Cast:
    """People and tickets, straight into the (upgraded) database through the project's models;
    everyone's identity on ``channel`` (``telegram``: user id = chat id = the number; ``wecom``:
    the member :func:`wecom_userid`)."""
    from bot.app import build_app
    from bot.config import load_config
    from models.enums import Action, Channel, Role, ServiceType
    from models.people import ChannelIdentity, Person, Team
    from models.registry import Registration, register_ticket
    from models.transitions import apply_action

    app = build_app(load_config(config_path, environ={}))
    cast = Cast()
    try:
        now = app.clock.now()
        async with app.db.write() as s:
            mgr = Person(name="Zhao Min", role=Role.MANAGER, language="en")
            s.add(mgr)
            people: list[tuple[int, Person]] = [(MANAGER, mgr)]
            for t in range(-(-engineers // team_size)):
                team = Team(name=f"Team {t + 1}")
                s.add(team)
                await s.flush()
                uid = FIRST_SUPERVISOR + t
                sup = Person(name=f"Supervisor {uid}", role=Role.SUPERVISOR, team_id=team.id, language="en")
                s.add(sup)
                await s.flush()
                team.supervisor_id, team.manager_id = sup.id, mgr.id
                cast.supervisors.append(uid)
                people.append((uid, sup))
                for e in range(t * team_size, min(engineers, (t + 1) * team_size)):
                    uid = FIRST_ENGINEER + e
                    eng = Person(name=f"Engineer {uid}", role=Role.ENGINEER, team_id=team.id, language="en")
                    s.add(eng)
                    await s.flush()
                    people.append((uid, eng))
                    reg = Registration(customer=f"Plant {uid}", phone="+86 138 0013 8000", address=f"{uid} River Road",
                                       model="X100", fault="No power", severity=2, service=ServiceType.ONSITE,
                                       team_id=team.id)
                    row = await register_ticket(s, reg, now=now, today=app.today(), warranty=app.config.bot.warranty,
                                                clocks=app.sla)
                    for action in (Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE):
                        apply_action(s, row, action, now=now, actor_id=eng.id, clocks=app.sla,
                                     assignee_id=eng.id if action is Action.DISPATCH else None,
                                     **({"eta_at": now + timedelta(hours=1)} if action is Action.DEPART else {}))
                    await s.flush()
                    cast.engineers.append(Seat(uid=uid, name=eng.name, ticket_id=row.id, number=row.number))
            for i in range(probers):
                uid = FIRST_PROBER + i
                prober = Person(name=f"Prober {uid}", role=Role.DISPATCHER, language="en")
                s.add(prober)
                people.append((uid, prober))
                cast.probers.append(uid)
            await s.flush()
            for uid, person in people:
                ident = wecom_userid(uid) if channel == "wecom" else str(uid)
                s.add(ChannelIdentity(person_id=person.id, channel=Channel(channel), external_user_id=ident,
                                      chat_id=ident))
    finally:
        await app.close()
    return cast
