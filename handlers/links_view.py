"""A ticket's customer links as staff see them in chat: who may issue one (the ticket page's
**Customer link** button, ``cln:TICKET``) and the message that hands a new link out.  No flow
imports here, so the ticket page and the flow share it (:mod:`handlers.flows.links`)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from handlers.messages import L, Lines, Listed, Msg, Raw
from handlers.views import local_time
from models.customer_links import Issued
from models.enums import Role
from models.lifecycle import FINAL_STATES
from models.people import Person
from models.tickets import Ticket

#: Who may issue a ticket's customer link (a ticket of their team: :mod:`models.access`).
LINKERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.MANAGER})
#: At most this many names in one line of the message (a big customer has many contacts).
NAMES_SHOWN = 10


def page_button(role: Role | None, ticket: Ticket) -> list[list[tuple[Any, str]]]:
    """**Customer link** on the ticket page, for the desk, while the ticket is not closed."""
    if role in LINKERS and ticket.status not in FINAL_STATES:
        return [[("links.btn", f"cln:{ticket.id}")]]
    return []


def listed(items: list[Any]) -> Listed:
    """At most :data:`NAMES_SHOWN` names, in the reader's language."""
    return Listed(tuple(items[:NAMES_SHOWN]), more=len(items) > NAMES_SHOWN)


def names(items: list[str], lang: str = "en") -> str:
    return listed(items).render(lang)


def issued_message(ticket: Ticket, issued: Issued, links: list[str], *, following: list[Person], tz: tzinfo,
                   photo: str) -> Msg:
    """The new link (``links``: the QR code's first, then the other channels'), whether an
    earlier one stopped working, who follows the ticket already and which other links wait to
    be opened; with the QR code, and secret (the outbox forgets it once delivered)."""
    lines: list[Any] = [L("links.head", {"number": Raw(ticket.number), "name": Raw(issued.name),
                                         "expires": Raw(local_time(issued.expires_at, tz))}),
                        *(Raw(link) for link in links)]
    if issued.replaced:
        lines.append(L("links.replaced", {"name": Raw(issued.name)}))
    lines.append(L("links.following", {"names": listed([p.name for p in following])}) if following
                 else L("links.nobody"))
    if issued.others:
        lines.append(L("links.pending", {"names": listed([
            L("links.cli.until", {"name": Raw(i.name), "expires": Raw(local_time(i.expires_at, tz))})
            for i in issued.others])}))
    lines.append(L("links.another", {"number": Raw(ticket.number)}))
    return Msg(body=Lines(tuple(lines)), photos=[{"path": photo}], secret=True)
