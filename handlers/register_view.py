"""What the ``/new`` registration dialog shows: each step's question with its buttons, the
warranty verdict, and the summary (before confirming, and again with the ticket's own values
after registering).

Button data is ``reg:RID:WHAT[:VALUE]``: ``RID`` names this run of the dialog, so a button left
over from an earlier ``/new`` can never answer a later one (see :mod:`handlers.flows.register`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from handlers.fault_types import buttons as fault_buttons
from handlers.fault_types import fault_label
from handlers.i18n import preview
from handlers.messages import L, Lines, Msg, Raw
from models.enums import ServiceType

SEVERITIES = (1, 2, 3, 4)
SERVICES = (ServiceType.PHONE, ServiceType.REMOTE, ServiceType.ONSITE)


@dataclass(frozen=True)
class Facts:
    """One registration as shown to people, whether still in the dialog or already a ticket."""

    customer: str
    known: bool
    phone: str
    address: str
    model: str
    serial: str | None
    purchased: date | None
    warranty_end: date | None
    in_warranty: bool | None
    fault: str
    severity: int
    service: str
    billable: bool
    fault_type: str | None = None  # None: the team has no fault types (not asked)
    contact: str | None = None  # None: not given (nobody is greeted by a name)


def warranty_of(purchased: date | None, warranty: timedelta, today: date) -> tuple[date | None, bool | None]:
    """(warranty end, in warranty today) the way :class:`models.customers.Asset` computes them."""
    if purchased is None:
        return None, None
    end = purchased + warranty
    return end, today <= end


def warranty_line(purchased: date | None, end: date | None, inside: bool | None) -> L:
    if purchased is None or end is None:
        return L("reg.warranty.unknown")
    key = "reg.warranty.in" if inside else "reg.warranty.out"
    return L(key, {"date": purchased.isoformat(), "end": end.isoformat()})


def facts_from_dialog(data: dict[str, Any], warranty: timedelta, today: date) -> Facts:
    purchased = date.fromisoformat(data["purchased"]) if data.get("purchased") else None
    end, inside = warranty_of(purchased, warranty, today)
    return Facts(customer=data["customer"], known=data.get("customer_id") is not None, phone=data["phone"],
                 address=data["address"], model=data["model"], serial=data.get("serial"), purchased=purchased,
                 warranty_end=end, in_warranty=inside, fault=data["fault"], severity=data["severity"],
                 service=data["service"], billable=data["billable"], fault_type=data.get("fault_type"),
                 contact=data.get("contact"))


def summary(facts: Facts) -> Lines:
    customer_key = "reg.summary.customer_known" if facts.known else "reg.summary.customer_new"
    serial = Raw(facts.serial) if facts.serial else L("reg.summary.no_serial")
    return Lines((
        L(customer_key, {"customer": Raw(facts.customer)}),
        L("reg.summary.contact", {"contact": Raw(facts.contact)}) if facts.contact else L("reg.summary.no_contact"),
        L("reg.summary.phone", {"phone": Raw(facts.phone)}),
        L("reg.summary.address", {"address": Raw(facts.address)}),
        L("reg.summary.product", {"model": Raw(facts.model), "serial": serial}),
        warranty_line(facts.purchased, facts.warranty_end, facts.in_warranty),
        L("reg.summary.fault", {"fault": Raw(facts.fault)}),
        L("reg.summary.fault_type", {"fault_type": fault_label(facts.fault_type)}) if facts.fault_type else None,
        L("reg.summary.severity", {"severity": L(f"severity.{facts.severity}")}),
        L("reg.summary.service", {"service": L(f"service.{facts.service}")}),
        L("reg.summary.billable" if facts.billable else "reg.summary.free"),
    ))


def _buttons(rid: str, step: str, data: dict[str, Any]) -> list[list[tuple[Any, str]]]:
    if step == "contact":  # a known customer's contact on record is one tap
        known = [(Raw(data["known_contact"]), f"reg:{rid}:o")] if data.get("known_contact") else []
        return [[*known, ("reg.btn.no_contact", f"reg:{rid}:k")]]
    if step == "serial":
        return [[("reg.btn.no_serial", f"reg:{rid}:s")]]
    if step == "purchased":
        return [[("reg.btn.date_unknown", f"reg:{rid}:p")]]
    if step == "fault_type":
        return fault_buttons(f"reg:{rid}:f", data.get("fault_types", []))
    if step == "severity":
        return [[(f"severity.{n}", f"reg:{rid}:v:{n}")] for n in SEVERITIES]
    if step == "service":
        return [[(f"service.{s.value}", f"reg:{rid}:t:{s.value}") for s in SERVICES]]
    if step == "billable":
        return [[("reg.btn.billable", f"reg:{rid}:b:1"), ("reg.btn.free", f"reg:{rid}:b:0")]]
    if step == "confirm":
        return [[("reg.btn.confirm", f"reg:{rid}:ok"), ("reg.btn.cancel", f"reg:{rid}:x")]]
    return []


def question(step: str, rid: str, data: dict[str, Any], *head: L | Raw | None,
             facts: Facts | None = None) -> Msg:
    """The question of ``step`` (with its buttons), below ``head`` lines: the reason the last
    answer was refused, or what the last answer established."""
    if step == "confirm":
        ask: Any = Lines((L("reg.ask.confirm"), summary(facts)))
    else:
        ask = L(f"reg.ask.{step}", {"customer": Raw(preview(data.get("customer", "")))})  # what was typed
    return Msg(body=Lines((*head, ask)), buttons=_buttons(rid, step, data))


def matches_message(rid: str, query: str, customers: list[tuple[int, str, str]], more: bool,
                    offer_new: bool) -> Msg:
    """Known customers found for ``query`` as buttons, and "new customer" unless the query was a
    phone number (a new customer needs a name)."""
    buttons: list[list[tuple[Any, str]]] = [
        [(Raw(f"{name} · {phone}"), f"reg:{rid}:c:{cid}")] for cid, name, phone in customers]
    if offer_new:
        buttons.append([(L("reg.btn.new_customer", {"name": Raw(query)}), f"reg:{rid}:n")])
    lines = (L("reg.customer.matches", {"query": Raw(query)}),
             L("reg.customer.more") if more else None,
             L("reg.customer.pick_or_new") if offer_new else L("reg.customer.pick"))
    return Msg(body=Lines(lines), buttons=buttons)
