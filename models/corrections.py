"""Correcting a ticket's registration (登记) after the fact: the address, the product model, its
serial, the contact's name and phone, the purchase date (→ in or out of warranty) and the severity
(→ the SLA clocks).  The chat's **Edit** dialog and ``fieldbot ticket edit`` both come here.

Each change is one ``edited`` event on the timeline — the field, old → new, who — and the
statistics rebuilt from the log follow a corrected model (:mod:`models.rebuild`).

A corrected severity applies from registration, as if the ticket had been registered with it:
every clock's due time is replayed with the new level's durations and calendar through the
ticket's pauses (and, for the resolve clock, the time it sat resolved before a reopen) by
:func:`models.verdicts.explain` — the same replay ``ticket show --explain`` checks the stored due
times against, so the two agree afterwards.  A clock already met keeps its met time and is judged
again against its new due time; a running clock whose due time moved starts its ladder (warning,
breach, escalation) again: the SLA chase's dedupe keys carry the due time, so nothing already said
about the old due time is said twice.

Only an open ticket (new … paused) is corrected: once it is resolved, its service report and SLA
verdicts are on record (and in the log the statistics are rebuilt from).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.blanks import is_blank
from models.clocks import NONE, SlaPolicy
from models.customers import Asset, Site
from models.errors import DomainError
from models.lifecycle import OPEN_STATES
from models.queries import timeline
from models.registry import normalise_phone, parse_severity
from models.sla import clocks_for, met_diff_minutes, shift_for_pause
from models.tickets import Ticket
from models.transitions import record_event
from models.verdicts import explain, holds

#: What may be corrected, in the order the chat offers it; the name is also the catalog's
#: ``field.*`` key and the CLI's option.
FIELDS = ("address", "model", "serial", "contact", "phone", "purchased", "severity")
COLUMNS = {"address": "address", "model": "product_model", "serial": "serial", "contact": "contact_name",
           "phone": "contact_phone", "purchased": "purchase_date", "severity": "severity"}
#: The longest value each text field takes (the ticket's columns, as registration checks them).
LIMITS = {"address": 400, "model": 120, "serial": 120, "contact": 120}
#: Fields the assigned engineer needs to hear about: where to go, how urgent it is.
ENGINEER_NEEDS = frozenset({"address", "severity"})


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any
    #: A severity change: each clock's new due time.
    due: dict[str, datetime] | None = None


def check_editable(ticket: Ticket) -> None:
    if ticket.status not in OPEN_STATES:
        raise DomainError("edit_not_open", number=ticket.number, status=ticket.status.value)


def clean(field: str, value: Any, *, today: date) -> Any:
    """The value as the ticket stores it; raises the registry's errors (``required``, ``too_long``,
    ``bad_phone``, ``bad_severity``, ``future_date``) like registration does."""
    if field not in FIELDS:
        raise DomainError("edit_bad_field", value=str(field))
    if field == "phone":
        return normalise_phone(str(value or ""))
    if field == "severity":
        return parse_severity(value)
    if field == "purchased":
        if value is not None and value > today:
            raise DomainError("future_date", field="purchased", value=value.isoformat())
        return value
    text = str(value or "").strip()
    if field == "serial" and is_blank(text):  # "无", "none", "n/a": no serial
        return None
    if not text:
        raise DomainError("required", field=field)
    if len(text) > LIMITS[field]:
        raise DomainError("too_long", field=field, limit=LIMITS[field])
    return text or None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def correct(session: AsyncSession, ticket: Ticket, field: str, value: Any, *, now: datetime, today: date,
                  warranty: timedelta, policy: SlaPolicy | None, actor_id: int | None) -> Change | None:
    """Change one field and log it; None when the value is what the ticket already has."""
    check_editable(ticket)
    new = clean(field, value, today=today)
    column = COLUMNS[field]
    old = getattr(ticket, column)
    if new == old:
        return None
    setattr(ticket, column, new)
    details: dict[str, Any] = {"field": field, "old": _plain(old), "new": _plain(new)}
    if field == "purchased":
        ticket.in_warranty = None if new is None else today <= new + warranty
        details["in_warranty"] = ticket.in_warranty
    elif field == "address":
        ticket.site_id = (await _site(session, ticket)).id
    elif field in ("model", "serial"):
        ticket.asset_id = (await _asset(session, ticket, warranty)).id
    due = None
    if field == "severity" and policy is not None and any(
            getattr(ticket, f"{c}_due_at") is not None for c in clocks_for(ticket.service_type)):
        due = await recompute_clocks(session, ticket, policy, now)
        details["due"] = {clock: moment.isoformat() for clock, moment in due.items()}
    ticket.updated_at = now
    record_event(session, ticket, "edited", now=now, actor_id=actor_id, **details)
    return Change(field, old, new, due)


async def recompute_clocks(session: AsyncSession, ticket: Ticket, policy: SlaPolicy,
                           now: datetime) -> dict[str, datetime]:
    """Replay every clock with the ticket's (new) severity; returns the due times."""
    events = list(await timeline(session, ticket.id))
    calendar = policy.calendar(ticket)
    due: dict[str, datetime] = {}
    for clock in clocks_for(ticket.service_type):
        before = getattr(ticket, f"{clock}_due_at")
        if before is None:
            continue
        after = explain(ticket, events, policy, clock, now).due
        setattr(ticket, f"{clock}_due_at", after)
        met = getattr(ticket, f"{clock}_met_at")
        if met is not None:
            setattr(ticket, f"{clock}_diff_min", met_diff_minutes(after, met, calendar))
        elif after != before:
            setattr(ticket, f"{clock}_level", NONE)
        due[clock] = after
    if ticket.sla_start_at is not None:  # the warnings count from here: registration, moved by pauses
        start = ticket.created_at
        for hold in holds(events, "respond"):
            if hold.end is not None:
                start = shift_for_pause(start, hold.start, hold.end, calendar)
        ticket.sla_start_at = start
    policy.plan(ticket)
    return due


async def _site(session: AsyncSession, ticket: Ticket) -> Site:
    """The customer's site at the corrected address (a new one: the old one's map position was
    another place's)."""
    found = await session.scalar(select(Site).where(Site.customer_id == ticket.customer_id,
                                                    Site.address == ticket.address).limit(1))
    if found is None:
        found = Site(customer_id=ticket.customer_id, address=ticket.address)
        session.add(found)
        await session.flush()
    return found


async def _asset(session: AsyncSession, ticket: Ticket, warranty: timedelta) -> Asset:
    """The customer's equipment with the corrected model and serial, as registration finds it."""
    found = None
    if ticket.serial:
        found = await session.scalar(select(Asset).where(
            Asset.customer_id == ticket.customer_id, Asset.model == ticket.product_model,
            Asset.serial == ticket.serial).limit(1))
    if found is None:
        found = Asset(customer_id=ticket.customer_id, site_id=ticket.site_id, model=ticket.product_model,
                      serial=ticket.serial, purchase_date=ticket.purchase_date,
                      warranty_end=ticket.purchase_date + warranty if ticket.purchase_date else None)
        session.add(found)
        await session.flush()
    return found
