"""Work that is already done, written straight into the database as the flows leave it: finished
jobs for the monthly statistics and reports, and resolved tickets for the knowledge base."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from models.db import Database
from models.enums import Action, CheckinKind, FeedbackSource, Role, ServiceType, SignoffMethod, TicketStatus
from models.invites import team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from models.transitions import apply_action
from models.work import Checkin, Complaint, Feedback, Signoff
from tests.support.cast import pid
from tests.support.world import World

#: 10:30 in Shanghai on 2 March 2026 (the knowledge-base tests' "now").
NOW = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)
#: The engineers :func:`october` gives the jobs to (they join the world first).
ENG, ENG2, SOUTH_ENG = 203, 204, 206
#: How every PNG starts (the report chart is one).
PNG = b"\x89PNG\r\n\x1a\n"


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


async def engineer(db: Database, name: str, team: str) -> int:
    """An engineer of ``team`` (created if new) who never joined a chat."""
    async with db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        person = Person(name=name, role=Role.ENGINEER, team_id=team_row.id)
        s.add(person)
        await s.flush()
        return person.id


async def job(db: Database, engineer: int, *, model: str, fault: str | None, created: datetime,
              resolved: datetime, signed: datetime | None, team: str = "North",
              service: ServiceType = ServiceType.ONSITE, arrivals: int = 1, paused: timedelta = timedelta(0),
              late: bool = False, ratings: tuple[int, ...] = (), complaints: int = 0,
              findings: str = "Loose power connector", signoff: bool = True) -> int:
    """A finished job written as the flows leave it: registration, clocks, check-ins, the report,
    the sign-off record, ratings and complaints."""
    async with db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address="1 Harbour Rd", model=model,
                           fault="Display flickers", fault_type=fault, severity=3, service=service,
                           team_id=team_row.id)
        t = await register_ticket(s, reg, now=created, today=date(2026, 11, 1), warranty=timedelta(days=365))
        t.assignee_id = engineer
        t.findings, t.actions_taken = findings, "Replaced the connector"
        t.resolved_at, t.paused_seconds = resolved, int(paused.total_seconds())
        t.respond_due_at, t.respond_met_at, t.respond_diff_min = created + timedelta(hours=4), created, 240
        t.resolve_due_at, t.resolve_met_at = resolved + timedelta(minutes=30 if late else -30), resolved
        t.resolve_diff_min = -30 if late else 30
        t.signed_off_at = signed
        t.status = TicketStatus.CLOSED if signed else TicketStatus.RESOLVED
        for n in range(arrivals):
            s.add(Checkin(ticket_id=t.id, engineer_id=engineer, kind=CheckinKind.ARRIVAL,
                          server_at=created + timedelta(minutes=10 + n)))
        s.add(Checkin(ticket_id=t.id, engineer_id=engineer, kind=CheckinKind.PROGRESS, server_at=resolved))
        if signed and signoff:
            s.add(Signoff(ticket_id=t.id, method=SignoffMethod.CHAT, at=signed))
        for n, rating in enumerate(ratings):
            source = FeedbackSource.SIGNOFF if n == 0 else FeedbackSource.CALLBACK
            s.add(Feedback(ticket_id=t.id, source=source, rating=rating, at=signed or resolved))
        for _ in range(complaints):
            s.add(Complaint(ticket_id=t.id, engineer_id=engineer, text="Came late", created_at=resolved))
        return t.id


async def past_fix(db: Database, *, model: str = "X200", findings: str, actions: str, fault: str = "Display flickers",
                   fault_type: str | None = None, parts: str | None = None, result: str | None = None,
                   resolved: datetime = NOW - timedelta(days=10), status: TicketStatus = TicketStatus.CLOSED,
                   customer: str = "Acme Ltd", phone: str = "+8613800000001", address: str = "1 Harbour Rd",
                   contact: str | None = None, team_id: int | None = None) -> Ticket:
    """A phone ticket registered a day before ``resolved``, resolved with this service report,
    then signed off / closed as ``status`` asks."""
    async with db.write() as s:
        engineer = Person(name="Old Hand", role=Role.ENGINEER)
        s.add(engineer)
        await s.flush()
        reg = Registration(customer=customer, phone=phone, address=address, model=model, fault=fault,
                           fault_type=fault_type, contact=contact, severity=3, service=ServiceType.PHONE,
                           team_id=team_id)
        ticket = await register_ticket(s, reg, now=resolved - timedelta(days=1), today=resolved.date(),
                                       warranty=timedelta(days=365))
        apply_action(s, ticket, Action.DISPATCH, now=resolved - timedelta(hours=5), assignee_id=engineer.id)
        apply_action(s, ticket, Action.ACCEPT, now=resolved - timedelta(hours=4), actor_id=engineer.id)
        if status is not TicketStatus.ACCEPTED:
            apply_action(s, ticket, Action.RESOLVE, now=resolved, actor_id=engineer.id, findings=findings,
                         actions_taken=actions, parts_replaced=parts, result=result)
        if status in (TicketStatus.SIGNED_OFF, TicketStatus.CLOSED):
            apply_action(s, ticket, Action.SIGN_OFF, now=resolved + timedelta(hours=1))
        if status is TicketStatus.CLOSED:
            apply_action(s, ticket, Action.CLOSE, now=resolved + timedelta(hours=2))
        return ticket


async def october(w: World) -> None:
    """Three counted North jobs, one with an incomplete report, one South job."""
    li, wang, sun = await pid(w, ENG), await pid(w, ENG2), await pid(w, SOUTH_ENG)
    db = w.app.db
    await job(db, li, model="X200", fault="power", created=utc(10, 5, 1), resolved=utc(10, 5, 5),
              signed=utc(10, 5, 6), ratings=(5,))
    await job(db, li, model="X200", fault="power", created=utc(10, 10), resolved=utc(10, 10, 10),
              signed=utc(10, 11), arrivals=2, paused=timedelta(hours=2), late=True, ratings=(2, 4), complaints=1)
    await job(db, wang, model="Z9", fault=None, created=utc(10, 20), resolved=utc(10, 20, 1), signed=utc(10, 21),
              service=ServiceType.PHONE, arrivals=0, ratings=(4,))
    await job(db, wang, model="Z9", fault="display", created=utc(10, 22), resolved=utc(10, 22, 1),
              signed=utc(10, 22, 2), findings="")
    await job(db, sun, model="Q1", fault="power", created=utc(10, 9), resolved=utc(10, 9, 3),
              signed=utc(10, 9, 4), team="South", ratings=(1,))
