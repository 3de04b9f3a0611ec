"""The kill -9 fault suite's harness: the real ``fieldbot run`` against the emulator (each its own
process), engineers sending check-ins with photos at a steady rate, the bot SIGKILLed at random
moments (seeded) and restarted at once; then everything counted from outside.

    python -m tests.fault.harness --mode polling --db sqlite --kills 50 [--json out.json]
    python -m tests.fault.harness --failover --kills 10          # PostgreSQL: --pg-url or FIELDBOT_TEST_PG_URL

The pieces: :mod:`.procs` (processes, CLI, read-only database), :mod:`.seed` (config, people),
:mod:`.load` (the engineers, the ``/help`` probes), :mod:`.count` (what the figures mean, exactly),
:mod:`.figures` (the table), :mod:`.proxy` and :mod:`.failover` (two instances behind a load
balancer, the leader killed).  Everything a run leaves — each incarnation's log, the emulator's
log, the config, the SQLite file, ``observed.json`` (the raw call log, outbox, inbox, check-ins) —
stays in its work directory, printed with the figures.

A kill lands at a random moment: most after the restarted bot answered its ``/help`` (then
0.2–3 s later), a share (``early_share``) 0.3–3 s after the spawn whether or not it has answered,
i.e. during start-up or crash recovery ("before answer" in the table counts the kills that came
before the answer).  After the last restart the load stops (each engineer
finishes the cycle in hand), the bot drains (no update left at the emulator, no inbox row pending,
no outbox row pending), and it is stopped cleanly before counting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fault.count import CallLog, Effects, Sends, analyse_effects, analyse_sends, observe
from tests.fault.figures import COLUMNS, figures, report, table
from tests.fault.load import Load, Probe, probe
from tests.fault.procs import (
    BotProcess,
    Emulator,
    Life,
    ReadOnly,
    cli,
    create_pg_database,
    drop_pg_database,
    free_port,
    ticket_show,
)
from tests.fault.seed import Cast, seed, write_config

DEFAULT_KILLS = 8


def default_kills() -> int:
    return int(os.environ.get("FIELDBOT_FAULT_KILLS", DEFAULT_KILLS))


@dataclass
class Spec:
    mode: str = "polling"  # or "webhook"
    db: str = "sqlite"  # or "postgresql"
    kills: int = DEFAULT_KILLS
    seed: int = 1
    engineers: int = 20
    rate: float = 12.0  # updates/s from all engineers together
    early_share: float = 0.2
    pg_url: str | None = None  # a server URL; a database of its own is made for the run
    workdir: Path | None = None
    #: Seconds every sendMessage / sendPhoto reply is held back after the message is stored (the
    #: emulator's ``storm(status=-1, when="after")``): Telegram's round trip over a real network,
    #: where the emulator on localhost answers in a millisecond.  A kill then lands inside a send
    #: about as often as it would in production; 0 turns it off.
    send_latency: float = 0.15
    answer_timeout: float = 90.0
    drain_timeout: float = 180.0


@dataclass
class Run:
    """One run's world: work directory, database, emulator, config, cast, load, probes, bots."""

    spec: Spec
    workdir: Path
    db_url: str = ""
    emu: Emulator | None = None
    db: ReadOnly | None = None
    cast: Cast | None = None
    load: Load | None = None
    calllog: CallLog | None = None
    probes: list[Probe] = field(default_factory=list)
    bots: list[BotProcess] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    phases: dict[str, float] = field(default_factory=dict)  # phase → seconds since the start, when it ended
    _puller: asyncio.Task | None = None

    def mark(self, phase: str) -> None:
        self.phases[phase] = round(time.time() - self.started, 1)

    async def open(self, engineers: int, probers: int) -> None:
        spec = self.spec
        if spec.db == "postgresql":
            if not spec.pg_url:
                raise RuntimeError("PostgreSQL needs a server URL (--pg-url or FIELDBOT_TEST_PG_URL)")
            self.db_url = await create_pg_database(spec.pg_url)
        else:
            self.db_url = f"sqlite+aiosqlite:///{self.workdir / 'fieldbot.db'}"
        self.emu = Emulator(self.workdir)
        await self.emu.start()
        if spec.send_latency > 0:
            for method in ("sendMessage", "sendPhoto"):
                await self.emu.call("storm", duration=24 * 3600, status=-1, delay=spec.send_latency,
                                    when="after", method=method)
        self.db = ReadOnly(self.db_url)

    def config(self, name: str, *, listen_port: int | None = None, webhook_url: str | None = None,
               scheduler: str = "", chase: str = "") -> Path:
        assert self.emu is not None
        return write_config(self.workdir / f"{name}.toml", db_url=self.db_url, api_base=self.emu.base,
                            media=self.workdir / "media", mode=self.spec.mode, listen_port=listen_port,
                            webhook_url=webhook_url, scheduler=scheduler, chase=chase)

    async def populate(self, config: Path, engineers: int, probers: int) -> None:
        """Schema (``fieldbot db upgrade``), people and tickets, and their chats at the emulator."""
        rc, out, err = await cli(config, "db", "upgrade")
        if rc != 0:
            raise RuntimeError(f"fieldbot db upgrade failed ({rc}): {out}{err}")
        self.cast = await seed(config, engineers, probers)
        for uid, name in self.cast.everyone():
            await self.emu.call("add_user", user_id=uid, first_name=name, language_code="en")
        self.load = Load(self.emu, self.cast.engineers, rate=self.spec.rate, seed=self.spec.seed,
                         tag=f"S{self.spec.seed}")
        self.calllog = CallLog(self.emu)

        async def pull() -> None:
            while True:
                await asyncio.sleep(5)
                with contextlib.suppress(Exception):
                    await self.calllog.pull()

        self._puller = asyncio.create_task(pull())

    async def probe(self, restart: int) -> Probe:
        p = await probe(self.load, restart, self.cast.probers[restart], self.spec.answer_timeout + 60)
        self.probes.append(p)
        return p

    async def answered(self, p: Probe, timeout: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(p.watcher), timeout)
        return p.answered is not None

    def lives(self) -> list[Life]:
        return [life for bot in self.bots for life in bot.lives]

    async def drain(self, extra_sql: list[str] = ()) -> bool:
        """Wait until the emulator holds no update, no inbox or outbox row is pending (and each
        ``extra_sql`` count is 0) and every probe is answered."""
        deadline = time.monotonic() + self.spec.drain_timeout
        checks = ["SELECT COUNT(*) AS n FROM inbound_events WHERE status = 'pending'",
                  "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'", *extra_sql]
        while time.monotonic() < deadline:
            for bot in self.bots:
                if bot.exited():
                    self.anomalies.append(f"{bot.name} exited by itself ({bot.life.how}) while draining; restarted")
                    bot.spawn()
            busy = len(await self.emu.call("pending_updates"))
            for sql in checks:
                busy += (await self.db.rows(sql))[0]["n"]
            busy += sum(1 for p in self.probes if p.answered is None)
            if busy == 0:
                return True
            await asyncio.sleep(0.5)
        self.anomalies.append(f"not drained after {self.spec.drain_timeout:.0f} s")
        return False

    async def count(self, config: Path) -> tuple[Sends, Effects, Any]:
        tickets = await ticket_show(config, [s.number for s in self.cast.engineers])
        obs = await observe(self.emu, self.db, self.calllog, tickets)
        # The raw observations stay beside the logs, for whoever has to explain a figure.
        (self.workdir / "observed.json").write_text(json.dumps(
            {**obs.__dict__, "sent": [{**s.__dict__, "cycle": None} for s in self.load.sent],
             "lives": [life.as_dict() for life in self.lives()]}, default=str))
        sends = analyse_sends(obs, self.lives())
        effects = analyse_effects(obs, self.load.sent, self.load.cycles, self.probes)
        return sends, effects, obs

    async def close(self) -> None:
        if self._puller is not None:
            self._puller.cancel()
        for p in self.probes:
            if p.watcher is not None:
                p.watcher.cancel()
        for bot in self.bots:
            bot.cleanup()
        if self.emu is not None:
            await self.emu.stop()
        if self.db is not None:
            await self.db.close()
        if self.spec.db == "postgresql" and self.db_url:
            with contextlib.suppress(Exception):
                await drop_pg_database(self.spec.pg_url, self.db_url)


# -- the kill run ---------------------------------------------------------------------------------
async def run_kills(spec: Spec) -> dict[str, Any]:
    """Polling or webhook, SQLite or PostgreSQL: kill the one instance ``spec.kills`` times."""
    workdir = spec.workdir or Path(tempfile.mkdtemp(prefix=f"fieldbot-fault-{spec.mode}-{spec.db}-"))
    run = Run(spec, workdir)
    rng = random.Random(spec.seed)
    try:
        await run.open(spec.engineers, spec.kills + 1)
        config = run.config("bot", listen_port=free_port() if spec.mode == "webhook" else None)
        await run.populate(config, spec.engineers, spec.kills + 1)
        bot = BotProcess("bot", config, workdir)
        run.bots.append(bot)
        run.mark("set up")
        bot.spawn()
        load_task = asyncio.create_task(run.load.run())
        current = await run.probe(0)
        for k in range(1, spec.kills + 1):
            if rng.random() < spec.early_share:
                await asyncio.sleep(rng.uniform(0.3, 3.0))
                current.cut_short = current.answered is None
            else:
                if not await run.answered(current, spec.answer_timeout):
                    run.anomalies.append(f"restart {current.restart}: no answer to /help within "
                                         f"{spec.answer_timeout:.0f} s")
                await asyncio.sleep(rng.uniform(0.2, 3.0))
            if bot.exited():
                run.anomalies.append(f"bot life {bot.life.index} exited by itself ({bot.life.how})")
            else:
                bot.kill()
            bot.spawn()
            current = await run.probe(k)
        if not await run.answered(current, spec.answer_timeout):
            run.anomalies.append(f"restart {current.restart}: no answer to /help within {spec.answer_timeout:.0f} s")
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        run.mark("killed")
        run.load.stop.set()
        await load_task
        await run.drain()
        await bot.stop()
        run.mark("drained")
        counted = await run.count(config)
        run.mark("counted")
        return figures(run, *counted)
    finally:
        await run.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fault.harness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--kills", type=int, default=default_kills())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engineers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=12.0, help="updates/s from all engineers together")
    parser.add_argument("--early-share", type=float, default=0.2)
    parser.add_argument("--send-latency", type=float, default=0.15,
                        help="seconds each send's reply is held back (a real network's round trip); 0: none")
    parser.add_argument("--failover", action="store_true", help="two instances on PostgreSQL, the leader killed")
    parser.add_argument("--pg-url", default=os.environ.get("FIELDBOT_TEST_PG_URL", ""))
    parser.add_argument("--workdir", type=Path, help="keep logs and the SQLite file here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    spec = Spec(mode=args.mode, db="postgresql" if args.failover else args.db, kills=args.kills, seed=args.seed,
                engineers=args.engineers, rate=args.rate, early_share=args.early_share,
                send_latency=args.send_latency,
                pg_url=args.pg_url or None, workdir=args.workdir)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    if args.failover:
        from tests.fault.failover import FAILOVER_COLUMNS, FailoverSpec, run_failover

        spec = FailoverSpec(**{**spec.__dict__, "mode": "webhook", "engineers": min(args.engineers, 8),
                               "rate": min(args.rate, 5.0)})
        result, columns = asyncio.run(run_failover(spec)), FAILOVER_COLUMNS
    else:
        result, columns = asyncio.run(run_kills(spec)), COLUMNS
    print(table([result], columns))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
