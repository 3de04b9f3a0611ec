"""Registering a service request (登记): validate every field, find or create the customer, site
and asset, compute warranty, number the ticket and log the registration.

Used by the CLI, the CSV import and (later) the chat registration dialog, so the rules live once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.blanks import is_blank
from models.customers import Asset, Customer, Site
from models.enums import ServiceType
from models.errors import DomainError
from models.numbering import next_ticket_number
from models.tickets import Ticket, TicketEvent

if TYPE_CHECKING:
    from models.clocks import SlaPolicy

_PHONE_JUNK = re.compile(r"[\s\-().]")


def normalise_phone(raw: str) -> str:
    """``+86 138-0013-8000`` → ``+8613800138000``; raises ``DomainError('bad_phone')``."""
    compact = _PHONE_JUNK.sub("", raw or "")
    digits = compact[1:] if compact.startswith("+") else compact
    if not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise DomainError("bad_phone", value=raw)
    return compact


def parse_severity(raw: object) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise DomainError("bad_severity", value=raw) from None
    if not 1 <= value <= 4:
        raise DomainError("bad_severity", value=raw)
    return value


def parse_service(raw: object) -> ServiceType:
    text = str(raw).strip().lower().replace("-", "").replace("_", "")
    aliases = {"onsite": ServiceType.ONSITE, "phone": ServiceType.PHONE, "remote": ServiceType.REMOTE,
               "上门": ServiceType.ONSITE, "现场": ServiceType.ONSITE, "电话": ServiceType.PHONE,
               "远程": ServiceType.REMOTE}
    if text not in aliases:
        raise DomainError("bad_service", value=raw)
    return aliases[text]


def parse_date(raw: str, *, today: date, field_name: str) -> date:
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise DomainError("bad_date", field=field_name, value=raw) from None
    if value > today:
        raise DomainError("future_date", field=field_name, value=raw)
    return value


def _required(value: str | None, name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError("required", field=name)
    if len(text) > limit:
        raise DomainError("too_long", field=name, limit=limit)
    return text


@dataclass
class Registration:
    """Everything DESIGN §2 asks to be recorded for a request; validated by :meth:`clean`."""

    customer: str
    phone: str
    address: str
    model: str
    fault: str
    severity: int
    service: ServiceType
    contact: str | None = None
    serial: str | None = None
    purchased: date | None = None
    billable: bool = False
    fault_type: str | None = None
    team_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    extra: dict = field(default_factory=dict)

    def clean(self, today: date) -> Registration:
        self.customer = _required(self.customer, "customer", 200)
        self.phone = normalise_phone(self.phone)
        self.address = _required(self.address, "address", 400)
        self.model = _required(self.model, "model", 120)
        self.fault = _required(self.fault, "fault", 4000)
        self.severity = parse_severity(self.severity)
        # No contact person given: None, never the company's name (it would be greeted as one).
        self.contact = (self.contact or "").strip() or None
        if self.contact is not None and len(self.contact) > 120:
            raise DomainError("too_long", field="contact", limit=120)
        self.serial = None if is_blank(self.serial) else self.serial.strip()  # "无", "n/a": no serial
        self.fault_type = (self.fault_type or "").strip() or None
        if self.fault_type is not None and len(self.fault_type) > 120:
            raise DomainError("too_long", field="fault_type", limit=120)
        if self.purchased is not None and self.purchased > today:
            raise DomainError("future_date", field="purchased", value=self.purchased.isoformat())
        return self


async def _customer(session: AsyncSession, reg: Registration) -> Customer:
    found = await session.scalar(
        select(Customer).where(Customer.name == reg.customer, Customer.phone == reg.phone).limit(1)
    )
    if found:
        if found.contact_name is None and reg.contact:  # the first contact person named is kept
            found.contact_name = reg.contact
        return found
    customer = Customer(name=reg.customer, contact_name=reg.contact, phone=reg.phone)
    session.add(customer)
    await session.flush()
    return customer


async def _site(session: AsyncSession, customer: Customer, reg: Registration) -> Site:
    found = await session.scalar(
        select(Site).where(Site.customer_id == customer.id, Site.address == reg.address).limit(1)
    )
    if found:
        if reg.lat is not None and found.lat is None:
            found.lat, found.lon = reg.lat, reg.lon
        return found
    site = Site(customer_id=customer.id, address=reg.address, lat=reg.lat, lon=reg.lon)
    session.add(site)
    await session.flush()
    return site


async def _asset(session: AsyncSession, customer: Customer, site: Site, reg: Registration,
                 warranty: timedelta) -> Asset:
    found = None
    if reg.serial:
        found = await session.scalar(
            select(Asset).where(Asset.customer_id == customer.id, Asset.model == reg.model,
                                Asset.serial == reg.serial).limit(1)
        )
    if found:
        if reg.purchased and found.purchase_date is None:
            found.purchase_date = reg.purchased
            found.warranty_end = reg.purchased + warranty
        return found
    asset = Asset(
        customer_id=customer.id, site_id=site.id, model=reg.model, serial=reg.serial,
        purchase_date=reg.purchased,
        warranty_end=reg.purchased + warranty if reg.purchased else None,
    )
    session.add(asset)
    await session.flush()
    return asset


async def register_ticket(
    session: AsyncSession,
    reg: Registration,
    *,
    now: datetime,
    today: date,
    warranty: timedelta,
    actor_id: int | None = None,
    clocks: SlaPolicy | None = None,
) -> Ticket:
    """Create a ``new`` ticket from a registration; the caller commits.

    ``today`` is the team's local date (warranty and "not in the future" are local-date rules).
    """
    reg.clean(today)
    customer = await _customer(session, reg)
    site = await _site(session, customer, reg)
    asset = await _asset(session, customer, site, reg, warranty)
    ticket = Ticket(
        number=await next_ticket_number(session, today.year),
        customer_id=customer.id, site_id=site.id, asset_id=asset.id,
        contact_name=reg.contact, contact_phone=reg.phone, address=reg.address,
        product_model=reg.model, serial=reg.serial, purchase_date=asset.purchase_date,
        in_warranty=asset.in_warranty(today), fault_symptom=reg.fault, fault_type=reg.fault_type,
        severity=reg.severity, service_type=reg.service, billable=reg.billable,
        team_id=reg.team_id, created_by_id=actor_id, created_at=now, updated_at=now,
    )
    if clocks is not None:
        clocks.start(ticket, now)
    session.add(ticket)
    await session.flush()
    session.add(TicketEvent(
        ticket_id=ticket.id, at=now, actor_id=actor_id, kind="registered",
        details={"severity": reg.severity, "service": reg.service.value, "in_warranty": ticket.in_warranty,
                 # What the statistics are broken down by, so they can be rebuilt from the log
                 # alone (models.rebuild): the model, the symptom and its category, the team.
                 "product_model": ticket.product_model, "fault_type": ticket.fault_type,
                 "fault_symptom": ticket.fault_symptom, "team_id": ticket.team_id},
    ))
    return ticket
