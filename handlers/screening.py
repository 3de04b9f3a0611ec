"""What the core refuses before any flow sees an update, and the role check before a route runs.

Refused at once (DESIGN §4.9: a short reply, nothing changed): senders that are not a person
(another bot, a message sent on behalf of a chat — Telegram's anonymous group admins all share one
account), anything but /help and /lang outside a private chat (staff views show customer data),
and coordinates that cannot be on Earth (or are 0, 0: what a phone without a GPS fix sends).
Group chatter that is not a command is ignored silently.
"""

from __future__ import annotations

import math

from handlers.channel import Inbound
from models.enums import Role
from models.errors import DomainError
from models.people import Person

#: The only commands answered outside a private chat: they show nobody's data.
GROUP_COMMANDS = frozenset({"help", "lang"})


def screen(inbound: Inbound) -> None:
    """What is refused before any flow sees the update (see the module doc)."""
    if inbound.impersonal:
        raise DomainError("impersonal_sender")
    if not inbound.private:
        if inbound.callback_data is None and not inbound.command:
            raise DomainError("silent")  # group chatter is not for us
        if inbound.callback_data is not None or inbound.command not in GROUP_COMMANDS:
            raise DomainError("private_only")
    location = inbound.location
    if location is not None and not (
            math.isfinite(location.lat) and math.isfinite(location.lon)
            and -90.0 <= location.lat <= 90.0 and -180.0 <= location.lon <= 180.0) \
            or (location is not None and location.lat == 0.0 and location.lon == 0.0):  # a phone without a fix
        raise DomainError("bad_location")


def check_roles(person: Person | None, roles: frozenset[Role] | None) -> None:
    """A route's roles (None: anyone, joined or not); refuses strangers and other roles."""
    if roles is None:
        return
    if person is None:
        raise DomainError("not_joined")
    if person.role not in roles:
        raise DomainError("not_allowed")
