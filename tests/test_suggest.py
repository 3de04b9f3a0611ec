"""Dispatch suggestions (models/suggest.py): the ordering rules on plain numbers, the distance
arithmetic, and the query on a real database (open load counted from the lifecycle's states,
only the team's active engineers, the current engineer left out on a reassignment)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from models.db import Database
from models.enums import Action, Role, ServiceType
from models.invites import team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.suggest import Candidate, haversine_km, rank, suggest_engineers
from models.tickets import Ticket
from models.transitions import apply_action

T0 = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)
#: People's Square, Shanghai: the site.
SITE = (31.2304, 121.4737)
PUDONG = (31.2397, 121.4998)  # ~2.7 km east
HONGQIAO = (31.1979, 121.3363)  # ~13.5 km west
BEIJING = (39.9042, 116.4074)


def cand(pid: int, name: str, load: int, where: tuple[float, float] | None = None) -> Candidate:
    lat, lon = where if where else (None, None)
    return Candidate(pid, name, load, lat, lon, T0 - timedelta(hours=pid) if where else None)


def order(suggestions) -> list[str]:  # noqa: ANN001
    return [s.name for s in suggestions]


# -- distance ------------------------------------------------------------------------------------
def test_haversine_distances() -> None:
    assert haversine_km(*SITE, *SITE) == 0
    assert 2.4 < haversine_km(*SITE, *PUDONG) < 3.0
    assert 13.0 < haversine_km(*SITE, *HONGQIAO) < 14.5
    assert 1060 < haversine_km(*SITE, *BEIJING) < 1075
    assert haversine_km(*SITE, *BEIJING) == pytest.approx(haversine_km(*BEIJING, *SITE))
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015.1, rel=1e-3)  # half the equator


# -- ordering rules ------------------------------------------------------------------------------
def test_load_comes_before_distance() -> None:
    ranked = rank([cand(1, "Near busy", 2, PUDONG), cand(2, "Far idle", 0, BEIJING)], SITE)
    assert order(ranked) == ["Far idle", "Near busy"]
    assert ranked[0].distance_km > 1000 and ranked[1].distance_km < 3


def test_equal_load_nearest_first() -> None:
    ranked = rank([cand(1, "Hongqiao", 1, HONGQIAO), cand(2, "Beijing", 1, BEIJING), cand(3, "Pudong", 1, PUDONG)],
                  SITE)
    assert order(ranked) == ["Pudong", "Hongqiao", "Beijing"]


def test_unknown_location_goes_after_known_ones_of_the_same_load_only() -> None:
    ranked = rank([cand(1, "Aaron unknown", 1), cand(2, "Zed far", 1, BEIJING), cand(3, "Yuri unknown idle", 0),
                   cand(4, "Busy near", 3, PUDONG)], SITE)
    assert order(ranked) == ["Yuri unknown idle", "Zed far", "Aaron unknown", "Busy near"]
    assert [s.distance_km is None for s in ranked] == [True, False, True, False]
    assert ranked[0].located_at is None and ranked[1].located_at == T0 - timedelta(hours=2)


def test_site_unknown_orders_by_load_then_name() -> None:
    ranked = rank([cand(1, "Zhao", 0, PUDONG), cand(2, "Li", 1, PUDONG), cand(3, "Chen", 0),
                   cand(4, "Chen", 0, HONGQIAO)], None)
    assert order(ranked) == ["Chen", "Chen", "Zhao", "Li"]
    assert [s.person_id for s in ranked] == [3, 4, 1, 2]  # same name: by id, stable
    assert all(s.distance_km is None for s in ranked)
    assert ranked[1].located_at == T0 - timedelta(hours=4)  # the age is still known


def test_empty() -> None:
    assert rank([], SITE) == [] and rank([], None) == []


# -- the query -----------------------------------------------------------------------------------
async def _engineer(db: Database, name: str, team: str = "North", *, role: Role = Role.ENGINEER,
                    active: bool = True, where: tuple[float, float] | None = None,
                    located_at: datetime | None = None) -> int:
    async with db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        person = Person(name=name, role=role, team_id=team_row.id, active=active,
                        last_lat=where[0] if where else None, last_lon=where[1] if where else None,
                        last_located_at=located_at if where else None)
        s.add(person)
        await s.flush()
        return person.id


async def _ticket(db: Database, *, where: tuple[float, float] | None = SITE, address: str = "1 Nanjing Rd",
                  actions: tuple[tuple[Action, dict], ...] = ()) -> Ticket:
    async with db.write() as s:
        team_row = await team_by_name(s, "North", create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address=address, model="X200",
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=team_row.id,
                           lat=where[0] if where else None, lon=where[1] if where else None)
        ticket = await register_ticket(s, reg, now=T0, today=date(2026, 3, 2), warranty=timedelta(days=365))
        for action, kw in actions:
            apply_action(s, ticket, action, now=T0, **kw)
        return ticket


async def test_query_counts_open_load_and_ranks_the_team(db: Database) -> None:
    pudong = await _engineer(db, "Pudong", where=PUDONG, located_at=T0 - timedelta(minutes=20))
    hongqiao = await _engineer(db, "Hongqiao", where=HONGQIAO, located_at=T0 - timedelta(days=3))
    nowhere = await _engineer(db, "Nowhere")
    await _engineer(db, "Retired", active=False, where=SITE, located_at=T0)
    await _engineer(db, "South", team="South", where=SITE, located_at=T0)
    await _engineer(db, "Desk", role=Role.DISPATCHER, where=SITE, located_at=T0)
    # Pudong: one accepted (open) and one cancelled (not open); Hongqiao: one dispatched.
    await _ticket(db, address="2 A Rd", actions=((Action.DISPATCH, {"assignee_id": pudong}), (Action.ACCEPT, {})))
    await _ticket(db, address="3 B Rd", actions=((Action.DISPATCH, {"assignee_id": pudong}),
                                                 (Action.CANCEL, {"reason": "duplicate"})))
    await _ticket(db, address="4 C Rd", actions=((Action.DISPATCH, {"assignee_id": hongqiao}),))
    ticket = await _ticket(db)
    async with db.read() as s:
        team_id = ticket.team_id
        ranked = await suggest_engineers(s, ticket, team_id)
        assert [(x.name, x.open_load) for x in ranked] == [("Nowhere", 0), ("Pudong", 1), ("Hongqiao", 1)]
        assert ranked[0].distance_km is None and ranked[0].located_at is None
        assert 2.4 < ranked[1].distance_km < 3.0 and ranked[1].located_at == T0 - timedelta(minutes=20)
        assert 13.0 < ranked[2].distance_km < 14.5 and ranked[2].located_at == T0 - timedelta(days=3)
        # Reassigning away from Pudong: they are not suggested back.
        assert [x.person_id for x in await suggest_engineers(s, ticket, team_id, exclude_id=pudong)] == \
            [nowhere, hongqiao]

    # A site without coordinates: load, then name; no distances.
    blind = await _ticket(db, where=None, address="5 Unknown Rd")
    async with db.read() as s:
        ranked = await suggest_engineers(s, blind, team_id)
    assert [(x.name, x.distance_km) for x in ranked] == [("Nowhere", None), ("Hongqiao", None), ("Pudong", None)]
