"""Which engineer to send: the team's active engineers ranked for a ticket.

The desk picks from this list in ``/dispatch`` and **Reassign**, so the order is the advice:

1. fewest open jobs first (an idle engineer beats a near but busy one — the regulations'
   time limits are kept by free hands, not by short drives);
2. among equal load, the nearest first, where both the ticket's site and the engineer's last
   known location (set by arrival check-ins) are known; engineers whose location is unknown
   come after those with a distance, because "unknown" may be far;
3. then by name, so the list is stable from one look to the next.

:func:`rank` is pure (numbers in, order out) so the rules are tested without a database;
:func:`suggest_engineers` is the query that feeds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Site
from models.enums import Role, TicketStatus
from models.lifecycle import OPEN_STATES
from models.people import Person
from models.tickets import Ticket

#: States in which an engineer is busy with a ticket (the "open load" of the picker).
BUSY = OPEN_STATES - {TicketStatus.NEW}
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Candidate:
    """An engineer as stored: open load and last known location (any of them may be missing)."""

    person_id: int
    name: str
    open_load: int
    lat: float | None = None
    lon: float | None = None
    located_at: datetime | None = None


@dataclass(frozen=True)
class Suggestion:
    """An engineer as suggested: ``distance_km`` only when both ends are known."""

    person_id: int
    name: str
    open_load: int
    distance_km: float | None
    located_at: datetime | None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km: good to a few metres at city scale, and needs no map service."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def rank(candidates: Iterable[Candidate], site: tuple[float, float] | None) -> list[Suggestion]:
    """The candidates in the order to suggest them (see the module docstring for the rules)."""
    out = []
    for c in candidates:
        distance = None
        if site is not None and c.lat is not None and c.lon is not None:
            distance = haversine_km(site[0], site[1], c.lat, c.lon)
        out.append(Suggestion(c.person_id, c.name, c.open_load, distance,
                              c.located_at if c.lat is not None and c.lon is not None else None))
    out.sort(key=lambda s: (s.open_load, s.distance_km is None, s.distance_km or 0.0, s.name, s.person_id))
    return out


async def site_location(session: AsyncSession, ticket: Ticket) -> tuple[float, float] | None:
    """The ticket's site coordinates, if registration (or a later edit) recorded them."""
    if ticket.site_id is None:
        return None
    row = (await session.execute(select(Site.lat, Site.lon).where(Site.id == ticket.site_id))).first()
    if row is None or row.lat is None or row.lon is None:
        return None
    return row.lat, row.lon


async def suggest_engineers(session: AsyncSession, ticket: Ticket, team_id: int, *,
                            exclude_id: int | None = None) -> list[Suggestion]:
    """The team's active engineers (but ``exclude_id``, the engineer the ticket is taken from),
    ranked for ``ticket``."""
    query = (
        select(Person.id, Person.name, func.count(Ticket.id), Person.last_lat, Person.last_lon,
               Person.last_located_at)
        .outerjoin(Ticket, and_(Ticket.assignee_id == Person.id, Ticket.status.in_(BUSY)))
        .where(Person.role == Role.ENGINEER, Person.team_id == team_id, Person.active.is_(True))
        .group_by(Person.id, Person.name, Person.last_lat, Person.last_lon, Person.last_located_at)
    )
    if exclude_id is not None:
        query = query.where(Person.id != exclude_id)
    rows = (await session.execute(query)).all()
    candidates = [Candidate(pid, name, load, lat, lon, at) for pid, name, load, lat, lon, at in rows]
    return rank(candidates, await site_location(session, ticket))
