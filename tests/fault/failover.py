"""Failover: two ``fieldbot run`` instances on one PostgreSQL database, webhook mode behind a
round-robin proxy (:mod:`.proxy`), the scheduler enabled in both with a 1 s tick and something to
chase (every check-in stays unacknowledged: reminders every few seconds, then the escalation to
the manager).  The scheduler's leader is killed ``kills`` times and restarted at once.

The leader is found from outside: ``pg_locks`` shows which backend holds the scheduler's advisory
lock in the run's database, ``pg_stat_activity`` that backend's client port, and ``/proc`` which
of our processes owns the socket with that port.  A watcher samples this every 0.1 s for the whole
run: never more than one holder.  The instances' logs say when each gained and lost leadership
(``scheduler/leader.py``); those intervals must not overlap either.  Then the kill suite's
counting (nothing lost, duplicates only from kills inside a send) and the reminders' (every
ladder complete, no reminder delivered twice unless a kill cut its send short).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.fault.count import reminders
from tests.fault.figures import figures
from tests.fault.harness import Run, Spec
from tests.fault.procs import BotProcess, Life, free_port, port_open
from tests.fault.proxy import RoundRobin

FAILOVER_COLUMNS = [("mode", "mode"), ("db", "db"), ("kills", "kills"), ("updates", "updates_sent"),
                    ("confirmed", "confirmed"), ("lost", "lost"), ("duplicated", "duplicated"),
                    ("kills in send", "kills_inside_send"), ("max leaders", "max_leaders"),
                    ("max takeover s", "max_takeover_s"), ("reminders", "reminder_rows"),
                    ("reminders twice", "reminders_twice"), ("max answer s", "max_answer_s"), ("wall s", "wall_s")]
ACK_MAX = 2
CHASE = 'ack_reminder = "3s"\nack_repeat = "3s"\nack_max_reminders = 2\n'
GAIN = re.compile(r"now runs the scheduler|became the leader|gained leadership")
LOSS = re.compile(r"no longer runs the scheduler|stopped running the scheduler|lost leadership")


@dataclass
class FailoverSpec(Spec):
    mode: str = "webhook"
    db: str = "postgresql"
    kills: int = 3
    engineers: int = 8
    rate: float = 5.0


def lock_parts() -> tuple[int, int]:
    try:
        from scheduler.leader import LOCK_KEY
    except ImportError:  # pragma: no cover - the key as documented in scheduler/leader.py
        LOCK_KEY = 0x46_42_53_43_48
    unsigned = LOCK_KEY & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def _socket_ports(pg_port: int) -> dict[int, int]:
    """Local TCP port → socket inode, for connections to the PostgreSQL port."""
    found: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in open(table).read().splitlines()[1:]:
                parts = line.split()
                local, remote, inode = parts[1], parts[2], int(parts[9])
                if int(remote.rsplit(":", 1)[1], 16) == pg_port:
                    found[int(local.rsplit(":", 1)[1], 16)] = inode
    return found


def _inodes(pid: int) -> set[int]:
    out = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    out.add(int(link[8:-1]))
    return out


class LockWatch:
    """Samples who holds the scheduler lock in the run's database, as (time, [process name])."""

    def __init__(self, db_url: str, bots: list[BotProcess], interval: float = 0.1):
        self.dsn = db_url.replace("postgresql+asyncpg://", "postgresql://")
        self.pg_port = int(re.search(r":(\d+)/", db_url).group(1)) if re.search(r":(\d+)/", db_url) else 5432
        self.bots = bots
        self.interval = interval
        self.samples: list[tuple[float, list[str]]] = []
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        import asyncpg

        hi, lo = lock_parts()
        self.conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "fieldbot fault lockwatch"})
        self.sql = ("SELECT l.pid, a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    f" WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {hi} AND l.objid = {lo}"
                    " AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        self.task = asyncio.create_task(self._run())

    async def sample(self) -> list[str]:
        rows = await self.conn.fetch(self.sql)
        ports = _socket_ports(self.pg_port)
        owners = {bot.name: _inodes(bot.pid) for bot in self.bots if bot.pid}
        holders = []
        for row in rows:
            inode = ports.get(row["client_port"])
            holders.append(next((name for name, inodes in owners.items() if inode in inodes), f"?{row['pid']}"))
        self.samples.append((time.time(), holders))
        return holders

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.sample()
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.conn.close()

    def holder(self) -> str | None:
        return self.samples[-1][1][0] if self.samples and len(self.samples[-1][1]) == 1 else None


def _log_time(line: str) -> float | None:
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()  # logging's asctime, local time
    except ValueError:
        return None


def leadership_from_logs(lives: list[Life]) -> list[tuple[str, float, float]]:
    """(life, from, to): when each incarnation said it ran the scheduler (until it said it stopped,
    or until it was killed)."""
    spans = []
    for life in lives:
        start = None
        with contextlib.suppress(OSError):
            for line in life.log.read_text(errors="replace").splitlines():
                moment = _log_time(line)
                if moment is None:
                    continue
                if GAIN.search(line) and start is None:
                    start = moment
                elif LOSS.search(line) and start is not None:
                    spans.append((f"{life.process}-{life.index}", start, moment))
                    start = None
        if start is not None:
            spans.append((f"{life.process}-{life.index}", start, life.ended or time.time()))
    return spans


def leader_figures(watch: LockWatch, lives: list[Life], kills: list[tuple[str, float]], until: float) -> dict[str, Any]:
    """Holders at most, takeover after each kill, and the longest leaderless spell between the
    first leader and the final stop (a dead leader's lock is gone the moment its session is)."""
    samples = watch.samples
    most = max((len(h) for _, h in samples), default=0)
    unknown = sum(1 for _, h in samples for name in h if name.startswith("?"))
    takeovers = []
    for killed, at in kills:
        after = next((t for t, h in samples if t > at and h and h[0] != killed), None)
        takeovers.append(round(after - at, 2) if after else None)
    leaderless, gap_start = 0.0, None
    first = next((t for t, h in samples if h), None)
    for t, h in samples:
        if first is None or t < first or t > until:
            continue
        if not h and gap_start is None:
            gap_start = t
        elif h and gap_start is not None:
            leaderless, gap_start = max(leaderless, t - gap_start), None
    spans = leadership_from_logs(lives)
    overlaps = [f"{a} ({a0:.3f}–{a1:.3f}) and {b} ({b0:.3f}–{b1:.3f})"
                for i, (a, a0, a1) in enumerate(spans) for (b, b0, b1) in spans[i + 1:]
                if a.split("-")[0] != b.split("-")[0] and a0 < b1 and b0 < a1]
    return {"samples": len(samples), "max_holders": most, "unmapped_holder_samples": unknown,
            "takeover_s": takeovers, "max_leaderless_s": round(leaderless, 2),
            "log_spans": len(spans), "log_overlaps": overlaps}


def order_defect(effects, obs, proxy: RoundRobin, bots: list[BotProcess]) -> dict[str, Any]:  # noqa: ANN001
    """The known cross-instance ordering defect, told apart from anything else.

    An instance stores an update (the webhook's 200 follows) and is killed before handling it; the
    survivor takes the stored row over only at its next heartbeat, while it handles the *newer*
    updates of the same conversation that reach it meanwhile through the proxy.  The signature: a
    check-in whose notes are out of order, or a note / Done whose effect is missing, where one of
    that cycle's updates has inbox ``attempts`` >= 1 (it was taken over after a crash).
    """
    names = {port: bot.name for port, bot in zip(proxy.backends, bots)}
    attempts = {int(r["external_id"]): r["attempts"] for r in obs.inbox}
    items = ([(f"lost {what}: {detail}", keys) for what, detail, keys in effects.lost]
             + [(detail, keys) for detail, keys in effects.misordered])
    evidence, explained = [], 0
    for detail, keys in items:
        adopted = []
        for key in keys:
            d = proxy.deliveries.get(key)
            if d is not None and attempts.get(d["update_id"], 0) >= 1:
                refused = ", ".join(f"{names.get(p, p)} at {t:.3f}" for p, t in d["refused"])
                adopted.append(f"update {d['update_id']} (first posted {d['first']:.3f}, 200 from "
                               f"{names.get(d['stored_by'], d['stored_by'])}{'; refused by ' + refused if refused else ''}) "
                               f"was handled only after a takeover (inbox attempts {attempts[d['update_id']]})")
        explained += bool(adopted)
        evidence.append(f"{detail} — " + ("; ".join(adopted) if adopted else "no update of it was taken over"))
    return {"items": evidence, "all_explained": bool(items) and explained == len(items)}


async def _await(predicate, timeout: float, step: float = 0.1) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return False


async def run_failover(spec: FailoverSpec) -> dict[str, Any]:
    workdir = spec.workdir or Path(tempfile.mkdtemp(prefix="fieldbot-fault-failover-"))
    run = Run(spec, workdir)
    rng = random.Random(spec.seed)
    proxy = RoundRobin(free_port(), [free_port(), free_port()])
    watch: LockWatch | None = None
    kills: list[tuple[str, float]] = []
    try:
        await run.open(spec.engineers, spec.kills + 1)
        configs = [run.config(name, listen_port=port, webhook_url=proxy.url, scheduler='enabled = true\ntick = "1s"\n',
                              chase=CHASE) for name, port in zip("ab", proxy.backends)]
        await run.populate(configs[0], spec.engineers, spec.kills + 1)
        await proxy.start()
        bots = [BotProcess(name, config, workdir) for name, config in zip("ab", configs)]
        run.bots += bots
        watch = LockWatch(run.db_url, bots)
        await watch.start()
        run.mark("set up")
        for bot in bots:
            bot.spawn()
        if not await _await(lambda: all(port_open(p) for p in proxy.backends) and watch.holder() in ("a", "b"), 90):
            run.anomalies.append(f"instances not up with a known leader after 90 s (holder {watch.holder()})")
        load_task = asyncio.create_task(run.load.run())
        current = await run.probe(0)
        for k in range(1, spec.kills + 1):
            if not await run.answered(current, spec.answer_timeout):
                run.anomalies.append(f"restart {current.restart}: no answer to /help within {spec.answer_timeout:.0f} s")
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            leader = watch.holder()
            bot = next((b for b in bots if b.name == leader), None)
            if bot is None:
                run.anomalies.append(f"kill {k}: no single known leader to kill (holders {watch.samples[-1][1]})")
                continue
            bot.kill()
            kills.append((bot.name, bot.life.ended))
            bot.spawn()
            current = await run.probe(k)
            survivor = next(b.name for b in bots if b is not bot)
            if not await _await(lambda: watch.holder() == survivor, 30):
                run.anomalies.append(f"kill {k}: {survivor} did not take the lock within 30 s")
            if not await _await(lambda: port_open(proxy.backends[bots.index(bot)]), 90):
                run.anomalies.append(f"kill {k}: {bot.name} not listening again within 90 s")
        if not await run.answered(current, spec.answer_timeout):
            run.anomalies.append(f"restart {current.restart}: no answer to /help within {spec.answer_timeout:.0f} s")
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        run.mark("killed")
        run.load.stop.set()
        await load_task
        await run.drain(["SELECT COUNT(*) AS n FROM acknowledgements WHERE acked_at IS NULL"
                         " AND next_reminder_at IS NOT NULL"])
        until = time.time()
        for bot in bots:
            await bot.stop()
        await watch.stop()
        run.mark("drained")
        sends, effects, obs = await run.count(configs[0])
        run.mark("counted")
        result = figures(run, sends, effects, obs)
        leader = leader_figures(watch, run.lives(), kills, until)
        (workdir / "lockwatch.json").write_text(json.dumps({"samples": watch.samples, "kills": kills}))
        chased = reminders(obs, sends, ACK_MAX)
        result.update(leader=leader, reminders={**chased, "reminders_missing": chased["reminders_missing"][:20]},
                      max_leaders=leader["max_holders"],
                      max_takeover_s=max((t for t in leader["takeover_s"] if t is not None), default=None),
                      reminder_rows=chased["reminder_rows"], reminders_twice=chased["reminders_delivered_twice"],
                      proxy={"forwarded": proxy.forwarded, "refused": proxy.refused, "failed": proxy.failed})
        result["order_defect"] = order_defect(effects, obs, proxy, bots)
        if leader["log_overlaps"]:
            result["anomalies"].append(f"leadership intervals overlap in the logs: {leader['log_overlaps'][:5]}")
        if chased["reminders_missing"]:
            result["anomalies"].append(f"{len(chased['reminders_missing'])} reminder(s) missing")
        return result
    finally:
        if watch is not None and watch.task is not None and not watch.task.done():
            with contextlib.suppress(Exception):
                await watch.stop()
        await proxy.stop()
        await run.close()
