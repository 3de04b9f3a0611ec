"""The kill -9 suite on WeCom: the real ``fieldbot run`` serving only the WeCom callback, the WeCom
emulator (its own process) delivering the engineers' check-ins as WeCom does, the bot SIGKILLed —
or frozen (SIGSTOP) past WeCom's 5 s, so WeCom gives up on the answer and re-delivers — at random
moments (seeded), and an attacker posting replays, stale and forged callbacks throughout.

    python -m tests.fault.wecom_kill --db sqlite --kills 50 --pauses 10 [--json out.json]

Counted from outside (the emulator's delivery records and call log, ``fieldbot ticket show
--json``, the database read-only), as in :mod:`tests.fault.harness`:

* **confirmed**: a callback some attempt of which got a 200; **given up by WeCom**: every attempt
  failed (the bot was down for all of them) — WeCom drops it, Fieldbot never saw it; reported,
  not Fieldbot's loss (several instances behind a load balancer close that gap: README).  A
  check-in cycle with such a message is *broken*: the engineer cancels it (``/cancel``) and starts
  the next; its effects are not expected, but its messages that got through must be stored and
  handled like every other;
* **lost**: a confirmed callback whose effect is missing (note, photo, Done, ``/help`` answer), or
  whose plaintext (sha256) is not a handled inbox row;
* **re-delivered after a slow answer**: a confirmed callback with an attempt that got no answer
  within 5 s; its effect must still happen once;
* **duplicated**: two copies of one message carrying a note marker in one chat; each must be a
  send a kill cut short (it arrived while the killed incarnation was alive);
* **attacks**: every stale, badly signed or wrong-corp callback refused (4xx) and never stored,
  every replay answered 200 and without a second effect; the inbox holds exactly the confirmed
  callbacks' plaintexts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fault.count import AFTER_KILL, MARKER, Observed, analyse_effects
from tests.fault.figures import log_errors, table
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
from tests.fault.seed import ALL_DAY, seed, wecom_userid
from tests.fault.wecom_load import Attacker, WecomLoad, wecom_probe

DEFAULT_KILLS, DEFAULT_PAUSES = 6, 2
SLOW = "no answer within"


@dataclass
class WecomSpec:
    db: str = "sqlite"
    kills: int = DEFAULT_KILLS
    pauses: int = DEFAULT_PAUSES
    pause_s: float = 7.0  # frozen longer than WeCom's 5 s: the attempt in hand fails, WeCom re-delivers
    seed: int = 1
    engineers: int = 15
    rate: float = 4.0  # callbacks/s from all engineers; WeCom lets an app send a member 30/min
    early_share: float = 0.2
    retry_delay: float = 1.5  # WeCom's pause before each of its 3 re-deliveries (not documented)
    attack_interval: float = 1.0
    #: Seconds each message/send answer is held back after the message is delivered (a real
    #: network's round trip, as the Telegram run's ``send_latency``): kills land inside sends.
    send_latency: float = 0.15
    pg_url: str | None = None
    workdir: Path | None = None
    answer_timeout: float = 90.0
    drain_timeout: float = 180.0


def write_config(path: Path, *, db_url: str, settings: dict[str, Any], port: int, media: Path) -> Path:
    """WeCom only (no Telegram token): the self-built app, its callback on ``port``."""
    path.write_text(
        f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n'
        f'[wecom]\nenabled = true\ncorp_id = "{settings["corp_id"]}"\nagent_id = {settings["agent_id"]}\n'
        f'secret = "{settings["secret"]}"\ntoken = "{settings["token"]}"\n'
        f'aes_key = "{settings["encoding_aes_key"]}"\napi_base = "{settings["base_url"]}"\n'
        f'callback_url = "http://127.0.0.1:{port}/wecom/callback"\ncallback_listen = "127.0.0.1:{port}"\n'
        f'[storage]\nmedia_dir = "{media}"\n[reports]\nmonthly = false\n'
        '[scheduler]\nenabled = true\ntick = "5s"\n[chase]\ndaily_checkin_due = "23:59"\n' + ALL_DAY)
    return path


class Calls:
    """The emulator's call log (bounded at 10,000 there), pulled every few seconds and merged."""

    def __init__(self, emu: Emulator):
        self.emu = emu
        self.calls: dict[tuple, dict] = {}

    async def pull(self) -> None:
        for path in ("message/send", "message/update_template_card"):
            for call in await self.emu.call("api_calls", path=path, http_timeout=120):
                self.calls[(call["path"], call["at"], call.get("done"))] = call

    def all(self) -> list[dict]:
        return sorted(self.calls.values(), key=lambda c: c["at"])


def _text(body: dict) -> str:
    card = body.get("template_card") or {}
    return ((body.get("text") or {}).get("content") or
            "\n".join(filter(None, [(card.get("main_title") or {}).get("title"), card.get("sub_title_text")])))


def _killed(at: float, lives: list[Life]) -> Life | None:
    killed = [life for life in lives if life.how == "killed" and life.started <= at <= life.ended + AFTER_KILL]
    return min(killed, key=lambda life: life.ended) if killed else None


def duplicates(calls: list[dict], lives: list[Life]) -> tuple[list[dict], list[dict]]:
    """Extra copies of a message carrying a note marker, by (member, marker, first line): those a
    kill cut short, and those nothing accounts for."""
    marked: dict[tuple, list[dict]] = defaultdict(list)
    for call in calls:
        body = call.get("body") or {}
        text = _text(body)
        found = MARKER.search(text)
        if call.get("path") == "message/send" and call.get("errcode") == 0 and found:
            marked[(body.get("touser"), found.group(1), text.split("\n", 1)[0])].append(call)
    cut, unexplained = [], []
    for copies in marked.values():
        for call in copies[:-1]:  # the last copy is the one the outbox recorded
            (cut if _killed(call["at"], lives) is not None else unexplained).append(call)
    return cut, unexplained


async def run_wecom_kills(spec: WecomSpec) -> dict[str, Any]:
    workdir = spec.workdir or Path(tempfile.mkdtemp(prefix=f"fieldbot-fault-wecom-{spec.db}-"))
    rng = random.Random(spec.seed)
    port = free_port()
    url = f"http://127.0.0.1:{port}/wecom/callback"
    emu = Emulator(workdir, ("wecom-emulator", "--callback-url", url, "--retry-delay", str(spec.retry_delay)),
                   "wecom-emulator.log")
    db_url, db, bot, puller, anomalies = "", None, None, None, []
    started, phases = time.time(), {}
    try:
        if spec.db == "postgresql":
            if not spec.pg_url:
                raise RuntimeError("PostgreSQL needs a server URL (--pg-url or FIELDBOT_TEST_PG_URL)")
            db_url = await create_pg_database(spec.pg_url)
        else:
            db_url = f"sqlite+aiosqlite:///{workdir / 'fieldbot.db'}"
        await emu.start()
        settings = await emu.call("settings")
        if spec.send_latency > 0:
            await emu.call("fail_next", count=10**9, path="message/send", delay=spec.send_latency, when="after")
        config = write_config(workdir / "bot.toml", db_url=db_url, settings=settings, port=port,
                              media=workdir / "media")
        rc, out, err = await cli(config, "db", "upgrade")
        if rc != 0:
            raise RuntimeError(f"fieldbot db upgrade failed ({rc}): {out}{err}")
        faults = ["kill"] * spec.kills + ["pause"] * spec.pauses
        rng.shuffle(faults)
        cast = await seed(config, spec.engineers, len(faults) + 1, channel="wecom")
        for uid, name in cast.everyone():
            await emu.call("add_member", userid=wecom_userid(uid), name=name)
        db = ReadOnly(db_url)
        load = WecomLoad(emu, cast.engineers, rate=spec.rate, seed=spec.seed, tag=f"W{spec.seed}")
        attacker = Attacker(url, settings, load, spec.seed, spec.attack_interval)
        calls = Calls(emu)

        async def pull() -> None:
            while True:
                await asyncio.sleep(5)
                with contextlib.suppress(Exception):
                    await calls.pull()

        puller = asyncio.create_task(pull())
        bot = BotProcess("bot", config, workdir)
        phases["set up"] = round(time.time() - started, 1)
        bot.spawn()
        load_task = asyncio.create_task(load.run())
        attack_stop = asyncio.Event()
        attack_task = asyncio.create_task(attacker.run(attack_stop))
        probes = [await wecom_probe(load, 0, cast.probers[0], spec.answer_timeout + 60)]
        pauses: list[tuple[float, float]] = []

        async def answered(timeout: float) -> bool:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(probes[-1].watcher), timeout)
            return probes[-1].answered is not None

        for k, fault in enumerate(faults, 1):
            if rng.random() < spec.early_share:
                await asyncio.sleep(rng.uniform(0.3, 3.0))
                probes[-1].cut_short = probes[-1].answered is None and fault == "kill"
            else:
                if not await answered(spec.answer_timeout):
                    anomalies.append(f"restart {k - 1}: no answer to /help within {spec.answer_timeout:.0f} s")
                await asyncio.sleep(rng.uniform(0.2, 3.0))
            if bot.exited():
                anomalies.append(f"bot life {bot.life.index} exited by itself ({bot.life.how})")
                bot.spawn()
            elif fault == "kill":
                bot.kill()
                bot.spawn()
            else:
                frozen = time.time()
                os.kill(bot.proc.pid, signal.SIGSTOP)
                await asyncio.sleep(spec.pause_s)
                os.kill(bot.proc.pid, signal.SIGCONT)
                pauses.append((frozen, time.time()))
            probes.append(await wecom_probe(load, k, cast.probers[k], spec.answer_timeout + 60))
        if not await answered(spec.answer_timeout):
            anomalies.append(f"the last restart: no answer to /help within {spec.answer_timeout:.0f} s")
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        phases["faults"] = round(time.time() - started, 1)
        load.stop.set()
        await load_task
        attack_stop.set()
        await attack_task
        deadline = time.monotonic() + spec.drain_timeout
        while time.monotonic() < deadline:
            busy = sum(1 for p in probes if p.answered is None)
            for table_name in ("inbound_events", "outbox"):
                busy += (await db.rows(f"SELECT COUNT(*) AS n FROM {table_name} WHERE status = 'pending'"))[0]["n"]
            if busy == 0:
                break
            await asyncio.sleep(0.5)
        else:
            anomalies.append(f"not drained after {spec.drain_timeout:.0f} s")
        await bot.stop()
        phases["drained"] = round(time.time() - started, 1)
        await calls.pull()
        tickets = await ticket_show(config, [s.number for s in cast.engineers])
        result = await count(spec, load, attacker, probes, bot.lives, pauses, calls.all(), db, tickets,
                             await emu.call("deliveries", http_timeout=120), emu)
        result["anomalies"] = anomalies + load.anomalies + result["anomalies"]
        result.update(wall_s=round(time.time() - started, 1), phases=phases, workdir=str(workdir))
        (workdir / "result.json").write_text(json.dumps(result, indent=2, default=str))
        return result
    finally:
        if puller is not None:
            puller.cancel()
        if bot is not None:
            bot.cleanup()
        await emu.stop()
        if db is not None:
            await db.close()
        if spec.db == "postgresql" and db_url:
            with contextlib.suppress(Exception):
                await drop_pg_database(spec.pg_url, db_url)


async def count(spec: WecomSpec, load: WecomLoad, attacker: Attacker, probes: list, lives: list[Life],
                pauses: list, calls: list[dict], db: ReadOnly, tickets: dict, deliveries: list[dict],
                emu: Emulator) -> dict[str, Any]:
    outbox = await db.rows("SELECT id, status FROM outbox")
    inbox = await db.rows("SELECT external_id, status, last_error FROM inbound_events")
    checkins = await db.rows("SELECT id, ticket_id, text, kind FROM checkins ORDER BY id")
    photos = {r["checkin_id"]: r["n"] for r in await db.rows(
        "SELECT checkin_id, COUNT(*) AS n FROM attachments WHERE checkin_id IS NOT NULL GROUP BY checkin_id")}
    obs = Observed(calls=[], pending=[], outbox=outbox, inbox=inbox, checkins=checkins, photos_by_checkin=photos,
                   tickets=tickets)
    confirmed = load.confirmed()
    eff = analyse_effects(obs, load.sent, load.cycles, probes, confirmed=confirmed)

    # The inbox holds exactly the confirmed callbacks (by the sha256 of their plaintext), handled.
    def key(plaintext: str) -> str:
        return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()

    expected = {key(r["plaintext"]) for r in load.records.values() if r.get("delivered")}
    expected |= {key(a.plaintext) for a in attacker.attacks if a.kind == "replay" and a.status == 200}
    rows = {r["external_id"]: r for r in inbox}
    eff.inbox_not_done = [r for r in inbox if r["status"] != "done"]
    missing = sorted(expected - set(rows))
    stored_unasked = sorted(set(rows) - expected)

    forged = [a for a in attacker.attacks if a.marker]
    forged_kept = [c["id"] for c in checkins if "FORGED:" in (c["text"] or "")]
    wrong_answers = [f"{a.kind}: {a.status}" for a in attacker.attacks if a.status is not None and (
        (a.kind == "replay" and a.status != 200) or (a.kind == "stale" and a.status != 400)
        or (a.kind == "bad signature" and a.status != 403) or (a.kind == "wrong corp" and not 400 <= a.status < 500))]
    answered_kinds = {a.kind for a in attacker.attacks if a.status is not None}

    by_id = {d["id"]: d for d in deliveries}
    slow = [d for d in (by_id.get(r["id"]) for r in load.records.values()) if d and d["delivered"]
            and any(SLOW in (a.get("error") or "") for a in d["attempts"])]
    retried = [d for d in (by_id.get(r["id"]) for r in load.records.values()) if d and d["delivered"]
               and len(d["attempts"]) > 1]
    given_up = load.given_up()
    cut, unexplained = duplicates(calls, lives)
    violations = await emu.call("violations")
    dropped = await emu.call("dropped")
    answered = [p for p in probes if p.answered is not None and not p.cut_short]
    anomalies = [f"duplicate effect: {d}" for d in eff.duplicate_effects[:10]]
    anomalies += [f"per-session order: {d}" for d, _ in eff.misordered[:10]]
    anomalies += [f"stored without being a confirmed callback: {k[:12]}" for k in stored_unasked[:10]]
    anomalies += [f"a forged note kept in check-in {i}" for i in forged_kept]
    anomalies += [f"attack answered wrongly: {w}" for w in wrong_answers[:10]]
    anomalies += [f"no {k!r} attack reached a running bot" for k in ("replay", "stale", "bad signature",
                                                                     "wrong corp") if k not in answered_kinds]
    if spec.pauses and not slow:
        anomalies.append("no callback was re-delivered after a slow answer: the pauses tested nothing")
    anomalies += [f"emulator violation: {v}" for v in violations[:10]]
    anomalies += [f"WeCom dropped a message (pacing): {d}" for d in dropped[:10]]
    anomalies += [f"duplicate send no kill accounts for: to {c['body'].get('touser')} at {c['at']:.3f}: "
                  f"{_text(c['body'])[:80]!r}" for c in unexplained[:10]]
    if eff.inbox_not_done:
        anomalies.append(f"inbox rows not done: {[(r['external_id'][:12], r['status']) for r in eff.inbox_not_done[:10]]}")
    latencies = [p.latency for p in answered]
    return {
        "channel": "wecom", "db": spec.db, "seed": spec.seed,
        "kills": sum(1 for life in lives if life.how == "killed"), "pauses": len(pauses),
        "callbacks": len(load.sent), "confirmed": len(load.delivered_ids()), "given_up_by_wecom": len(given_up),
        "cycles": len(load.cycles), "cycles_broken_by_wecom": len(load.broken_cycles),
        "lost": len(eff.lost) + len(missing) + len(eff.inbox_not_done),
        "lost_detail": [f"{what}: {detail}" for what, detail, _ in eff.lost[:20]]
                       + [f"callback {k[:12]} confirmed but never stored" for k in missing[:20]],
        "redelivered": len(retried), "redelivered_after_slow_answer": len(slow),
        "duplicated": len(cut) + len(unexplained), "sends_cut_by_kills": len(cut),
        "unexplained": len(unexplained) + len(eff.duplicate_effects) + len(stored_unasked) + len(forged_kept),
        "attacks": attacker.summary(), "forged": len(forged),
        "checkins": eff.checkins, "photos_sent": sum(1 for s in load.sent if s.kind == "photo"),
        "photos_stored": eff.photos_stored,
        "answers": f"{len([p for p in probes if p.answered is not None])}/{len(probes)}",
        "unanswered_restarts": [p.restart for p in probes if p.answered is None],
        "max_answer_s": round(max(latencies), 2) if latencies else None,
        "log_errors": log_errors(lives), "anomalies": anomalies,
        "lives": [life.as_dict() for life in lives],
    }


COLUMNS = [("channel", "channel"), ("db", "db"), ("kills", "kills"), ("pauses", "pauses"),
           ("callbacks", "callbacks"), ("confirmed", "confirmed"), ("given up", "given_up_by_wecom"),
           ("lost", "lost"), ("re-delivered", "redelivered"), ("after slow", "redelivered_after_slow_answer"),
           ("duplicated", "duplicated"), ("max answer s", "max_answer_s"), ("wall s", "wall_s")]


def report(result: dict[str, Any]) -> str:
    lines = [f"  {k}: {json.dumps(result.get(k), default=str)}" for k in
             ("answers", "cycles", "cycles_broken_by_wecom", "checkins", "photos_sent", "photos_stored",
              "sends_cut_by_kills", "attacks", "phases",
              "workdir")]
    for key in ("lost_detail", "anomalies", "log_errors"):
        if result.get(key):
            lines.append(f"  {key}:")
            lines += [f"    - {line}" for line in result[key]]
    return "\n".join(lines)


def check(result: dict[str, Any]) -> None:
    shown = f"\n{table([result], COLUMNS)}\n{report(result)}"
    assert result["lost"] == 0, "confirmed callbacks lost" + shown
    assert result["unexplained"] == 0, "duplicates, forged or unasked rows no kill accounts for" + shown
    assert result["unanswered_restarts"] == [], "a restart never answered /help" + shown
    assert result["anomalies"] == [], "anomalies" + shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fault.wecom_kill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--kills", type=int, default=DEFAULT_KILLS)
    parser.add_argument("--pauses", type=int, default=DEFAULT_PAUSES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engineers", type=int, default=15)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--retry-delay", type=float, default=1.5,
                        help="seconds before each of WeCom's 3 re-deliveries")
    parser.add_argument("--send-latency", type=float, default=0.15,
                        help="seconds each message/send answer is held back; 0: none")
    parser.add_argument("--pg-url", default=os.environ.get("FIELDBOT_TEST_PG_URL", ""))
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    spec = WecomSpec(db=args.db, kills=args.kills, pauses=args.pauses, seed=args.seed, engineers=args.engineers,
                     rate=args.rate, retry_delay=args.retry_delay, send_latency=args.send_latency, pg_url=args.pg_url or None, workdir=args.workdir)
    result = asyncio.run(run_wecom_kills(spec))
    print(table([result], COLUMNS))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
