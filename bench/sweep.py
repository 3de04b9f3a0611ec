"""Sweep cost: one scheduler scan that finds 1000 due rows, at 100k and at 1M tickets.

The chases scan ``*_next_at`` columns through partial indexes, so the cost of a scan should
depend on how many rows are due, not on how many tickets exist: time at 1M ÷ time at 100k is
expected to stay ≤ 1.3×.  Each size gets a fresh SQLite file; the SLA job itself (claims, outbox
rows, timeline events) is what is timed, several times, best run counted.  Beside it, how long the
scan held the single SQLite writer (every write transaction, timed at the writer gate): a reply
waits behind a hold, so the targets are ≤ 200 ms in all and ≤ 50 ms at a time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from bot.app import FixedClock, build_app
from bot.config import parse_config
from models.customers import Customer
from models.enums import Channel, Role, ServiceType, TicketStatus
from models.migrate import upgrade
from models.people import ChannelIdentity, Person, Team
from models.tickets import Ticket

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)  # a Tuesday, 11:00 in Shanghai
DUE = 1000
CHUNK = 20_000


def _ticket_rows(start: int, count: int, team_id: int, engineer_id: int, due: set[int]) -> list[dict]:
    rows = []
    for n in range(start, start + count):
        is_due = n in due
        created = NOW - timedelta(hours=2 if is_due else 1, minutes=n % 50)
        rows.append({
            "number": f"FS-2026-{n:07d}", "status": TicketStatus.ON_SITE if is_due else TicketStatus.CLOSED,
            "customer_id": 1, "contact_name": "Bench", "contact_phone": "13800138000", "address": "Bench Rd",
            "product_model": f"M{n % 40}", "fault_symptom": "bench", "severity": 3,
            "service_type": ServiceType.ONSITE, "team_id": team_id, "assignee_id": engineer_id,
            "created_at": created, "updated_at": created, "sla_start_at": created,
            "respond_due_at": created + timedelta(hours=4), "respond_met_at": created + timedelta(minutes=5),
            "arrive_due_at": created + timedelta(hours=2, minutes=30) if is_due else created + timedelta(days=2),
            "arrive_met_at": None if is_due else created + timedelta(hours=1),
            "resolve_due_at": created + timedelta(days=5),
            "resolve_met_at": None if is_due else created + timedelta(hours=3),
            "sla_next_at": NOW - timedelta(minutes=1) if is_due else None,
        })
    return rows


async def populate(url: str, tickets: int, due_rows: int = DUE) -> None:
    """``tickets`` tickets, ``due_rows`` of them due for an SLA step (the memory part wants none:
    an idle instance, not one sending a thousand escalations)."""
    app = build_app(parse_config(f'[database]\nurl = "{url}"\n', environ={}))
    await upgrade(app.db)
    async with app.db.write() as s:
        team = Team(name="Bench")
        s.add(team)
        await s.flush()
        people = [Person(name=n, role=r, team_id=team.id) for n, r in
                  (("Sup", Role.SUPERVISOR), ("Mgr", Role.MANAGER), ("Eng", Role.ENGINEER))]
        s.add_all(people)
        s.add(Customer(id=1, name="Bench Co", phone="13800138000"))
        await s.flush()
        team.supervisor_id, team.manager_id = people[0].id, people[1].id
        for i, p in enumerate(people):
            s.add(ChannelIdentity(person_id=p.id, channel=Channel.TELEGRAM, external_user_id=str(i + 1),
                                  chat_id=str(i + 1)))
        engineer_id, team_id = people[2].id, team.id
    step = max(1, tickets // max(due_rows, 1))
    due = set(range(0, step * due_rows, step))
    for start in range(0, tickets, CHUNK):
        async with app.db.write() as s:
            await s.execute(insert(Ticket), _ticket_rows(start, min(CHUNK, tickets - start), team_id, engineer_id, due))
    await app.close()


async def time_scan(url: str, repeats: int = 3) -> tuple[float, list[float], list[float]]:
    """Best of ``repeats`` runs of one SLA scan over the same 1000 due rows (reset in between),
    with how long each of its write transactions held the single writer (seconds, wall) and the
    writer thread's CPU seconds for each (steadier on a shared machine)."""
    from sqlalchemy import update

    from models.runtime import OutboxMessage
    from models.tickets import TicketEvent
    from scheduler import sla

    app = build_app(parse_config(f'[database]\nurl = "{url}"\n', environ={}), FixedClock(NOW))
    best = float("inf")
    holds: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        async with app.db.write() as s:  # the same 1000 tickets become due again
            await s.execute(update(Ticket).where(Ticket.status == TicketStatus.ON_SITE)
                            .values(sla_next_at=NOW - timedelta(minutes=1), arrive_level=0, resolve_level=0))
            await s.execute(OutboxMessage.__table__.delete())
            await s.execute(TicketEvent.__table__.delete())
        app.db.gate.holds = []
        if app.db.thread is not None:
            app.db.thread.cpu = []
        started = time.perf_counter()
        acted = await sla.run(app, NOW)
        took = time.perf_counter() - started
        if took < best:
            best, holds = took, app.db.gate.holds
            cpu[:] = app.db.thread.cpu if app.db.thread is not None else []
        app.db.gate.holds = None
        if acted < DUE:
            raise RuntimeError(f"the scan acted on {acted} tickets, expected {DUE}")
    await app.close()
    return best, holds, cpu


async def measure(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> dict[int, tuple[float, list[float], list[float]]]:
    results = {}
    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-") as tmp:
        for size in sizes:
            url = f"sqlite+aiosqlite:///{Path(tmp) / f'sweep-{size}.db'}"
            started = time.perf_counter()
            await populate(url, size)
            print(f"  populated {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
            results[size] = await time_scan(url)
    return results


#: Writer time of a 1000-due scan: in all, and at most at a time (a reply waits at most that long).
HOLD_TOTAL_MS = 200.0
HOLD_MAX_MS = 50.0


def run(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> dict:
    times = asyncio.run(measure(sizes))
    (small, _, _), (large, holds, cpu) = times[sizes[0]], times[sizes[-1]]
    total, longest = sum(holds) * 1000, max(holds, default=0.0) * 1000
    cpu_total, cpu_longest = sum(cpu) * 1000, max(cpu, default=0.0) * 1000
    return {"part": "sweep", "figure": f"scan at {sizes[-1]:,}: {large * 1000:.0f} ms",
            "baseline": f"scan at {sizes[0]:,}: {small * 1000:.0f} ms", "ratio": large / small,
            "target": 1.3, "pass": large / small <= 1.3,
            "writer_holds_ms": [round(h * 1000, 1) for h in holds],
            "writer_cpu_ms": [round(c * 1000, 1) for c in cpu],
            "checks": [
                {"figure": f"writer held {total:.0f} ms in {len(holds)} transactions",
                 "baseline": f"writer thread CPU {cpu_total:.0f} ms; target {HOLD_TOTAL_MS:.0f} ms",
                 "ratio": total / HOLD_TOTAL_MS, "target": "≤ 1.0", "pass": total <= HOLD_TOTAL_MS},
                {"figure": f"longest hold {longest:.0f} ms", "baseline": f"writer CPU {cpu_longest:.0f} ms; "
                 f"target {HOLD_MAX_MS:.0f} ms", "ratio": longest / HOLD_MAX_MS, "target": "≤ 1.0",
                 "pass": longest <= HOLD_MAX_MS},
            ]}
