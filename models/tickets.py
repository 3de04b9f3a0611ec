"""Tickets, their append-only event log, and the per-year number counter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text, CheckConstraint, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.customers import Customer
from models.enums import Action, ServiceType, TicketStatus, db_enum

def _present(column: str) -> dict[str, object]:
    """Partial-index predicate: only rows with something scheduled are in the index."""
    where = f"{column} IS NOT NULL"
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


def _pending(column: str) -> dict[str, str]:
    """Partial-index predicate: only rows whose clock still runs are scanned by the scheduler."""
    where = f"{column} IS NULL"
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


#: ``Ticket.dispatch_chase_level``: the engineer was reminded; the desk was alerted (and may
#: press **Reassign** on the alert).
DISPATCH_REMINDED, DISPATCH_ALERTED = 1, 2


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity_range"),
        Index("ix_tickets_status_assignee", "status", "assignee_id"),
        Index("ix_tickets_dispatch_wait", "status", "dispatched_at"),
        Index("ix_tickets_respond_due", "respond_due_at", **_pending("respond_met_at")),
        Index("ix_tickets_arrive_due", "arrive_due_at", **_pending("arrive_met_at")),
        Index("ix_tickets_resolve_due", "resolve_due_at", **_pending("resolve_met_at")),
        # The scheduler's scans: one "next time to look" column per chase, NULL when nothing is due.
        Index("ix_tickets_sla_next", "sla_next_at", **_present("sla_next_at")),
        Index("ix_tickets_dispatch_next", "dispatch_next_at", **_present("dispatch_next_at")),
        Index("ix_tickets_callback_next", "callback_next_at", **_present("callback_next_at")),
        Index("ix_tickets_callback_expired", "team_id", "signed_off_at",
              sqlite_where=text("callback_state = 'expired'"), postgresql_where=text("callback_state = 'expired'")),
        Index("ix_tickets_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[TicketStatus] = mapped_column(db_enum(TicketStatus, "ticket_status"), default=TicketStatus.NEW)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Registration (登记), DESIGN §2: who, where, what, how bad, how served, who pays.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(400))
    product_model: Mapped[str] = mapped_column(String(120), index=True)
    serial: Mapped[str | None] = mapped_column(String(120))
    purchase_date: Mapped[date | None]
    in_warranty: Mapped[bool | None]
    fault_symptom: Mapped[str] = mapped_column(Text)
    #: The symptom category chosen at registration (``[faults] types``, or "other").
    fault_type: Mapped[str | None] = mapped_column(String(120), index=True)
    #: The cause the engineer confirmed at resolve; the statistics count by it (else fault_type).
    fault_cause: Mapped[str | None] = mapped_column(String(120), index=True)
    severity: Mapped[int]
    service_type: Mapped[ServiceType] = mapped_column(db_enum(ServiceType, "service_type"))
    billable: Mapped[bool] = mapped_column(default=False)

    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    # SLA clocks (DESIGN §2 time limits): due, when met, and minutes early (+) or late (-).
    respond_due_at: Mapped[datetime | None]
    respond_met_at: Mapped[datetime | None]
    respond_diff_min: Mapped[int | None]
    arrive_due_at: Mapped[datetime | None]
    arrive_met_at: Mapped[datetime | None]
    arrive_diff_min: Mapped[int | None]
    resolve_due_at: Mapped[datetime | None]
    resolve_met_at: Mapped[datetime | None]
    resolve_diff_min: Mapped[int | None]
    #: When the clocks started (registration), moved later by pauses; for the 80 % warning.
    sla_start_at: Mapped[datetime | None]
    #: Escalation reached per clock: 0 none, 1 warned, 2 breached (supervisor), 3 escalated (manager).
    respond_level: Mapped[int] = mapped_column(default=0)
    arrive_level: Mapped[int] = mapped_column(default=0)
    resolve_level: Mapped[int] = mapped_column(default=0)
    #: The next moment one of the clocks needs the scheduler (warning, breach, escalation).
    sla_next_at: Mapped[datetime | None]

    # Unaccepted-dispatch chase: 0 nothing sent, 1 engineer reminded, 2 desk alerted
    # (DISPATCH_REMINDED, DISPATCH_ALERTED).
    dispatch_chase_level: Mapped[int] = mapped_column(default=0)
    dispatch_next_at: Mapped[datetime | None]

    # Callback survey (回访): due → sent → answered, or expired (listed for the dispatcher); the
    # values are models.enums.CallbackState's, stored as plain strings.
    callback_state: Mapped[str | None] = mapped_column(String(12))
    callback_next_at: Mapped[datetime | None]
    callback_sent_at: Mapped[datetime | None]

    # Lifecycle timestamps.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    departed_at: Mapped[datetime | None]
    eta_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(24))
    paused_seconds: Mapped[int] = mapped_column(default=0)
    resolved_at: Mapped[datetime | None]
    signed_off_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: How often the ticket was reopened (the customer disputed the fix, or the desk reopened it):
    #: a reopened job is not a first-visit fix in the statistics.
    reopens: Mapped[int] = mapped_column(default=0)

    # The service report (技术支持现场服务单): filled at resolve.
    findings: Mapped[str | None] = mapped_column(Text)
    actions_taken: Mapped[str | None] = mapped_column(Text)
    parts_replaced: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(lazy="raise_on_sql")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="save-update, merge"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def report_complete(self) -> bool:
        """A service report counts toward statistics only when it is filled in (DESIGN §2): the
        symptom, what was found and what was done (parts replaced may rightly be none)."""
        return bool(self.fault_symptom and self.findings and self.actions_taken)


class TicketEvent(Base):
    """Append-only: who did what to a ticket, when, with details.  Never updated or deleted."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(40))
    action: Mapped[Action | None] = mapped_column(db_enum(Action, "action"))
    from_status: Mapped[TicketStatus | None] = mapped_column(db_enum(TicketStatus, "ticket_status"))
    to_status: Mapped[TicketStatus | None] = mapped_column(db_enum(TicketStatus, "ticket_status"))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


@event.listens_for(TicketEvent, "before_update")
@event.listens_for(TicketEvent, "before_delete")
def _append_only(mapper: Any, connection: Any, target: TicketEvent) -> None:
    raise RuntimeError("ticket_events is append-only")


class TicketCounter(Base):
    """Last number handed out per year: ``FS-2026-000123`` is year 2026, value 123."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)
