"""Ticket histories played through the real model functions (registration, lifecycle moves with the
SLA policy, check-ins) plus the rows and events the flows write for sign-offs, ratings, callbacks
and complaints — so every figure of the month has its event in the log, as in production.

Used by the event-log verification (tests/test_report_verify.py) and the performance sheet's tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from models.checkins import add_checkin
from models.clocks import SlaPolicy
from models.corrections import correct
from models.db import Database
from models.enums import Action, Channel, CheckinKind, FeedbackSource, PauseReason, Role, ServiceType, SignoffMethod
from models.invites import team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.tickets import Ticket, TicketEvent
from models.transitions import apply_action, record_event
from models.work import Complaint, Feedback, Signoff


async def staff(db: Database, name: str, team: str | None, role: Role = Role.ENGINEER) -> int:
    async with db.write() as s:
        team_id = (await team_by_name(s, team, create=True)).id if team else None
        person = Person(name=name, role=role, team_id=team_id)
        s.add(person)
        await s.flush()
        return person.id


@dataclass
class Play:
    """One ticket's history, step by step; ``now`` moves on with :meth:`wait`."""

    db: Database
    sla: SlaPolicy | None
    now: datetime
    ticket_id: int = 0
    customer_id: int | None = None
    log: list[str] = field(default_factory=list)

    def wait(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    async def register(self, *, model: str = "X200", fault_type: str | None = "power", severity: int = 3,
                       service: ServiceType = ServiceType.ONSITE, team: str | None = "North",
                       symptom: str = "Display flickers") -> Play:
        async with self.db.write() as s:
            team_id = (await team_by_name(s, team, create=True)).id if team else None
            reg = Registration(customer="Acme Ltd", phone="+8613800000001", address="1 Harbour Rd", model=model,
                               fault=symptom, fault_type=fault_type, severity=severity, service=service,
                               team_id=team_id)
            ticket = await register_ticket(s, reg, now=self.now, today=self.now.date(), warranty=timedelta(days=365),
                                           clocks=self.sla)
            self.ticket_id = ticket.id
            customer = Person(name="Customer", role=Role.CUSTOMER)
            s.add(customer)
            await s.flush()
            self.customer_id = customer.id
        self.log.append("register")
        return self

    async def act(self, action: Action, **details: object) -> None:
        async with self.db.write() as s:
            ticket = await s.get(Ticket, self.ticket_id)
            apply_action(s, ticket, action, now=self.now, clocks=self.sla, **details)
        self.log.append(action.value)

    async def correct(self, field: str, value: object) -> None:
        """A correction of the registration (the desk's Edit), as :mod:`models.corrections` makes it."""
        async with self.db.write() as s:
            ticket = await s.get(Ticket, self.ticket_id)
            await correct(s, ticket, field, value, now=self.now, today=self.now.date(), warranty=timedelta(days=365),
                          policy=self.sla, actor_id=None)
        self.log.append(f"correct {field}")

    async def checkin(self, engineer_id: int, kind: CheckinKind) -> None:
        async with self.db.write() as s:
            ticket = await s.get(Ticket, self.ticket_id)
            engineer = await s.get(Person, engineer_id)
            await add_checkin(s, ticket, engineer, kind, text="on site", photos=[], location=(31.2, 121.4),
                              client_at=None, channel=Channel.TELEGRAM, now=self.now)
        self.log.append(f"checkin_{kind.value}")

    async def arrive(self, engineer_id: int) -> None:
        """The arrival check-in (photo and location), then the move, as the engineer's flow does."""
        await self.checkin(engineer_id, CheckinKind.ARRIVAL)
        await self.act(Action.ARRIVE)

    async def pause(self, reason: PauseReason = PauseReason.PARTS) -> None:
        await self.act(Action.PAUSE, pause_reason=reason.value)

    async def resolve(self, findings: str = "Loose connector", actions: str = "Reseated it", **more: object) -> None:
        await self.act(Action.RESOLVE, findings=findings, actions_taken=actions, parts_replaced="", **more)

    async def sign_off(self, paper: bool = False) -> None:
        """The customer's confirmation in chat, or the engineer's photo of the signed paper form."""
        async with self.db.write() as s:
            ticket = await s.get(Ticket, self.ticket_id)
            if paper:
                record = Signoff(ticket_id=ticket.id, method=SignoffMethod.PAPER, signer_name="Mr Chen",
                                 collected_by_id=ticket.assignee_id, at=self.now)
                s.add(record)
                await s.flush()
                apply_action(s, ticket, Action.SIGN_OFF, now=self.now, clocks=self.sla,
                             method=SignoffMethod.PAPER.value, signoff_id=record.id, signer="Mr Chen")
            else:
                s.add(Signoff(ticket_id=ticket.id, method=SignoffMethod.CHAT, confirmed_by_id=self.customer_id,
                              at=self.now))
                apply_action(s, ticket, Action.SIGN_OFF, now=self.now, clocks=self.sla, actor_id=self.customer_id)
        self.log.append("sign_off")

    async def rate(self, rating: int, *, callback: bool = False) -> None:
        """The rating at sign-off (``rated``) or the callback survey's (``callback_answered``)."""
        source = FeedbackSource.CALLBACK if callback else FeedbackSource.SIGNOFF
        async with self.db.write() as s:
            ticket = await s.get(Ticket, self.ticket_id)
            s.add(Feedback(ticket_id=ticket.id, source=source, rating=rating, person_id=self.customer_id, at=self.now))
            if callback:
                ticket.callback_state, ticket.callback_next_at = "answered", None
            record_event(s, ticket, "callback_answered" if callback else "rated", now=self.now,
                         actor_id=self.customer_id, rating=rating)
        self.log.append(f"rate {rating}")

    async def complain(self, text: str = "Came late") -> None:
        async with self.db.write() as s:
            ticket = await s.get(Ticket, self.ticket_id)
            complaint = Complaint(ticket_id=ticket.id, engineer_id=ticket.assignee_id,
                                  customer_person_id=self.customer_id, text=text, created_at=self.now)
            s.add(complaint)
            await s.flush()
            record_event(s, ticket, "complaint_made", now=self.now, actor_id=self.customer_id,
                         complaint_id=complaint.id, photos=0)
        self.log.append("complain")

    async def whole_job(self, engineer_id: int, *, rating: int | None = 5, paper: bool = False,
                        findings: str = "Loose connector") -> None:
        """Dispatch to sign-off (and the rating) on the usual path, an hour between steps."""
        await self.act(Action.DISPATCH, assignee_id=engineer_id)
        self.wait(60)
        await self.act(Action.ACCEPT)
        if await self.service() is ServiceType.ONSITE:
            self.wait(60)
            await self.act(Action.DEPART)
            self.wait(60)
            await self.arrive(engineer_id)
        self.wait(60)
        await self.resolve(findings=findings)
        self.wait(60)
        await self.sign_off(paper=paper)
        if rating is not None:
            await self.rate(rating)

    async def service(self) -> ServiceType:
        async with self.db.read() as s:
            return (await s.get(Ticket, self.ticket_id)).service_type


async def october_jobs(db: Database, sla: SlaPolicy) -> dict[str, int]:
    """Three October jobs in Shanghai: one with a pause, a second visit, two ratings and a complaint."""
    li, wang = await staff(db, "Li Lei", "North"), await staff(db, "Wang Fang", "North")
    start = datetime(2026, 10, 5, 1, tzinfo=timezone.utc)
    first = await Play(db, sla, start).register()
    await first.whole_job(li, rating=4)
    second = await Play(db, sla, start + timedelta(hours=1)).register(model="Z9", fault_type="display")
    await second.act(Action.DISPATCH, assignee_id=wang)
    second.wait(30)
    await second.act(Action.ACCEPT)
    await second.act(Action.DEPART)
    second.wait(30)
    await second.arrive(wang)
    await second.pause()
    second.wait(120)
    await second.act(Action.RESUME)
    await second.resolve()
    second.wait(10)
    await second.act(Action.REOPEN, reason="still flickers")
    await second.act(Action.DEPART)
    await second.arrive(wang)
    second.wait(60)
    await second.resolve()
    await second.sign_off(paper=True)
    await second.rate(2, callback=True)
    await second.complain()
    phone = await Play(db, sla, start + timedelta(hours=2)).register(service=ServiceType.PHONE, fault_type=None)
    await phone.whole_job(li, rating=5)
    return {"li": li, "wang": wang, "first": first.ticket_id, "second": second.ticket_id}


async def make_legacy(db: Database, ticket_id: int) -> None:
    """Rewrite the ticket's registration event the way the previous version wrote it (a migration-
    style UPDATE, which the ORM's append-only guard does not see: this is the old data, not a flow)."""
    async with db.write() as s:
        await s.execute(update(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "registered")
                        .values(details={"severity": 3, "service": "onsite", "in_warranty": None}))
