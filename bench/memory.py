"""Memory: RSS of an idle instance, over a bare-import baseline, and its growth with the database.

An empty database (migrated, a team, no tickets) and one filled with ``--tickets`` tickets
(:func:`bench.sweep.populate`, SQLite files).  For each, a real instance — ``python -m bot --config
… run``, the same code path as ``fieldbot run`` — is started in a subprocess, polling the Bot API
emulator served from this process, with its scheduler ticking every few seconds.  Once it has
polled and stayed idle for a while, its ``VmRSS`` (and peak ``VmHWM``) is read from
``/proc/<pid>/status``.

Baseline: the RSS of a bare Python process that imports aiogram and SQLAlchemy, same run.
Targets: idle RSS (full database) ≤ baseline + 25 MB ("ratio" = what the bot adds ÷ 25 MB), and
growth from the empty database to the full one ≤ 10 MB (a second table line).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

OVER_BASELINE_MB = 25.0
GROWTH_MB = 10.0
TOKEN = "123456:BENCHTOKEN"
ROOT = Path(__file__).resolve().parent.parent


def _status_kb(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


async def baseline_rss_mb() -> float:
    """RSS of a bare Python process after ``import aiogram, sqlalchemy`` (plus aiosqlite)."""
    code = ("import aiogram, sqlalchemy, sqlalchemy.ext.asyncio, aiosqlite, time, pathlib\n"
            "time.sleep(0.5)\n"
            "print(next(l.split()[1] for l in pathlib.Path('/proc/self/status').read_text().splitlines()"
            " if l.startswith('VmRSS:')))\n")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE,
                                                cwd=str(ROOT))
    out, _ = await proc.communicate()
    return int(out.decode().strip()) / 1024


async def instance_rss_mb(url: str, tmp: Path, idle: float = 15.0, tick: str = "3s") -> dict:
    """Start ``python -m bot run`` against an emulator served here; RSS after ``idle`` seconds."""
    from bot.emulator import BotApiEmulator

    emu = BotApiEmulator(TOKEN)
    await emu.start()
    config = tmp / "memory.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{emu.base_url}"\n'
        f'[storage]\nmedia_dir = "{tmp / "media"}"\n'
        f'[scheduler]\nenabled = true\ntick = "{tick}"\n', encoding="utf-8")
    log = open(tmp / "instance.log", "wb")  # noqa: SIM115
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), "run", "--log-level", "WARNING",
        cwd=str(ROOT), stdout=log, stderr=log)
    try:
        try:
            await emu.wait_for_calls("getUpdates", 1, timeout=60.0)
        except TimeoutError:
            raise RuntimeError(f"the instance never polled; see {tmp / 'instance.log'}: "
                               + (tmp / "instance.log").read_text(errors="replace")[-2000:]) from None
        polled_at = time.monotonic()
        samples = []
        while time.monotonic() - polled_at < idle:
            await asyncio.sleep(1.0)
            if proc.returncode is not None:
                raise RuntimeError("the instance exited: " + (tmp / "instance.log").read_text(errors="replace")[-2000:])
            samples.append(_status_kb(proc.pid, "VmRSS") / 1024)
        hwm = _status_kb(proc.pid, "VmHWM") / 1024
        polls = len(emu.api_calls("getUpdates"))
        return {"rss_mb": samples[-1], "rss_max_mb": max(samples), "hwm_mb": hwm, "idle_s": idle,
                "getUpdates_calls": polls, "pid": proc.pid}
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()
        await emu.stop()


async def measure(tickets: int, db: Path | None = None, idle: float = 15.0) -> dict:
    from bench.sweep import populate

    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-mem-") as tmp_name:
        tmp = Path(tmp_name)
        empty_url = f"sqlite+aiosqlite:///{tmp / 'memory-empty.db'}"
        await populate(empty_url, 0, due_rows=0)
        path = db or tmp / f"memory-{tickets}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if db is not None and db.exists():
            print(f"  memory: reusing {db} (not repopulated)", flush=True)
        else:
            print(f"  memory: populating {tickets:,} tickets …", flush=True)
            started = time.perf_counter()
            await populate(url, tickets, due_rows=0)
            print(f"  memory: populated {tickets:,} tickets in {time.perf_counter() - started:.0f} s "
                  f"({os.path.getsize(path) / 2**20:.0f} MB file)", flush=True)
        base = await baseline_rss_mb()
        empty = await instance_rss_mb(empty_url, tmp, idle=idle)
        inst = await instance_rss_mb(url, tmp, idle=idle)
        inst["baseline_mb"] = base
        inst["empty_rss_mb"] = empty["rss_mb"]
        inst["db_mb"] = os.path.getsize(path) / 2**20
        return inst


def run(tickets: int = 1_000_000, db: Path | None = None, idle: float = 15.0) -> dict:
    m = asyncio.run(measure(tickets, db, idle))
    rss, base, empty = m["rss_mb"], m["baseline_mb"], m["empty_rss_mb"]
    over, growth = rss - base, rss - empty
    return {"part": "memory", "figure": f"idle RSS at {tickets:,}: {rss:.0f} MB (+{over:.0f})",
            "baseline": f"bare aiogram+SQLAlchemy: {base:.0f} MB",
            "ratio": over / OVER_BASELINE_MB, "target": 1.0, "pass": over <= OVER_BASELINE_MB,
            "checks": [{"figure": f"growth empty → {tickets:,}: {growth:+.1f} MB",
                        "baseline": f"empty database: {empty:.0f} MB", "ratio": max(growth, 0.0) / GROWTH_MB,
                        "target": "≤ 1.0", "pass": growth <= GROWTH_MB}],
            "tickets": tickets, "rss_mb": round(rss, 1), "rss_max_mb": round(m["rss_max_mb"], 1),
            "hwm_mb": round(m["hwm_mb"], 1), "baseline_mb": round(base, 1), "empty_rss_mb": round(empty, 1),
            "over_baseline_mb": round(over, 1), "growth_mb": round(growth, 1), "db_mb": round(m["db_mb"], 1),
            "idle_s": m["idle_s"], "getUpdates_calls": m["getUpdates_calls"]}


if __name__ == "__main__":
    import json

    with contextlib.suppress(KeyboardInterrupt):
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000), indent=2))
