"""The processes of the fault suite and how the harness talks to them, all from outside the bot:
the Bot API emulator (its own process, driven over its HTTP control API), ``fieldbot run``
incarnations (spawned, SIGKILLed, restarted), the command line (``db upgrade``, ``ticket show
--json``) and the database read-only.

Nothing here imports the bot's runtime: the harness sees what Telegram (the emulator), an operator
(the CLI) and a read-only SQL session would see.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

TOKEN = "123456:FAULTSUITE"
WEBHOOK_SECRET = "fault-suite-secret"


def fieldbot_command() -> list[str]:
    """``.venv/bin/fieldbot`` beside the running interpreter, else ``python -m bot``."""
    exe = Path(sys.executable).with_name("fieldbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]


def clean_env() -> dict[str, str]:
    """The harness's environment without FIELDBOT_* (they would override the run's config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBOT_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- the emulator --------------------------------------------------------------------------------
class Emulator:
    """``fieldbot emulator`` (or ``command``: ``("wecom-emulator", ...)``, whose control API has the
    same shape) in its own process; :meth:`call` is its control API over HTTP."""

    def __init__(self, workdir: Path, command: tuple[str, ...] = ("emulator",), log: str = "emulator.log"):
        self.workdir = workdir
        self.command = list(command)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / log
        self.proc: subprocess.Popen | None = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                fieldbot_command() + self.command + ["--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=clean_env(), cwd=self.workdir, start_new_session=True)
        self.session = aiohttp.ClientSession()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the emulator exited ({self.proc.returncode}); see {self.log}")
            try:
                async with self.session.get(f"{self.base}/_control/help",
                                            timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the emulator did not come up; see {self.log}")

    async def call(self, action: str, *, http_timeout: float = 60.0, **kwargs: Any) -> Any:
        """One control action; its keyword arguments as the emulator names them (a wait's own
        ``timeout`` included: give ``http_timeout`` longer than it)."""
        assert self.session is not None
        async with self.session.post(f"{self.base}/_control/{action}", json=kwargs,
                                     timeout=aiohttp.ClientTimeout(total=http_timeout)) as resp:
            body = await resp.json(content_type=None)
        if resp.status == 408:
            raise TimeoutError(body.get("error"))
        if not body.get("ok"):
            raise RuntimeError(f"emulator {action}({kwargs}): {body}")
        return body["result"]

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.proc.wait, 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- the bot -------------------------------------------------------------------------------------
@dataclass
class Life:
    """One incarnation of a ``fieldbot run`` process: from spawn to SIGKILL (or a clean stop)."""

    process: str
    index: int
    pid: int
    started: float  # unix time of the spawn
    log: Path
    ended: float | None = None  # unix time just before the signal (or when the exit was seen)
    how: str | None = None  # "killed", "stopped", "stopped by SIGKILL", "exited N"

    def covers(self, moment: float) -> bool:
        return self.started <= moment and (self.ended is None or moment <= self.ended)

    def as_dict(self) -> dict[str, Any]:
        return {"process": self.process, "index": self.index, "pid": self.pid, "started": self.started,
                "ended": self.ended, "how": self.how, "log": str(self.log)}


class BotProcess:
    """``fieldbot --config FILE run``, respawned after every kill; each life logs to its own file."""

    def __init__(self, name: str, config: Path, workdir: Path):
        self.name = name
        self.config = config
        self.workdir = workdir
        self.lives: list[Life] = []
        self.proc: subprocess.Popen | None = None

    @property
    def life(self) -> Life:
        return self.lives[-1]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def spawn(self) -> Life:
        log = self.workdir / f"{self.name}-{len(self.lives):03d}.log"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(fieldbot_command() + ["--config", str(self.config), "run"],
                                         stdout=out, stderr=subprocess.STDOUT, env=clean_env(), cwd=self.workdir,
                                         start_new_session=True)
        life = Life(self.name, len(self.lives), self.proc.pid, time.time(), log)
        self.lives.append(life)
        return life

    def kill(self) -> Life:
        """SIGKILL now, and reap at once (a zombie still answers ``kill(pid, 0)``: the next
        incarnation would take its predecessor for alive)."""
        assert self.proc is not None
        life = self.life
        life.ended = time.time()
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
            life.how = "killed"
        except ProcessLookupError:
            life.how = f"exited {self.proc.poll()} (before the kill)"
        self.proc.wait()
        return life

    async def stop(self, timeout: float = 20.0) -> Life:
        """A clean stop (SIGINT); SIGKILL if it does not end within ``timeout``."""
        assert self.proc is not None
        life = self.life
        if self.proc.poll() is not None:
            life.ended = life.ended or time.time()
            life.how = life.how or f"exited {self.proc.returncode}"
            return life
        life.ended = time.time()
        self.proc.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(self.proc.wait, timeout)
            life.how = "stopped"
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            life.how = "stopped by SIGKILL"
        return life

    def exited(self) -> Life | None:
        """The current life, if its process ended by itself (nobody killed it)."""
        if self.proc is not None and self.life.ended is None and self.proc.poll() is not None:
            self.life.ended = time.time()
            self.life.how = f"exited {self.proc.returncode}"
            return self.life
        return None

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- the command line ----------------------------------------------------------------------------
async def cli(config: Path, *args: str, timeout: float = 120.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*fieldbot_command(), "--config", str(config), *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=clean_env())
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def ticket_show(config: Path, numbers: list[str], parallel: int = 6) -> dict[str, dict]:
    """``fieldbot ticket show NUMBER --json`` for each ticket (a few at a time)."""
    gate = asyncio.Semaphore(parallel)

    async def one(number: str) -> tuple[str, dict]:
        async with gate:
            rc, out, err = await cli(config, "ticket", "show", number, "--json")
        if rc != 0:
            raise RuntimeError(f"fieldbot ticket show {number} --json failed ({rc}): {err}")
        return number, json.loads(out)

    return dict(await asyncio.gather(*(one(n) for n in numbers)))


# -- databases -----------------------------------------------------------------------------------
def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def create_pg_database(server_url: str) -> str:
    """A fresh database on the server named by ``server_url``; returns its SQLAlchemy URL."""
    import asyncpg

    name = f"fbfault_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{server_url.rpartition('/')[0]}/{name}"


async def drop_pg_database(server_url: str, url: str) -> None:
    import asyncpg

    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class ReadOnly:
    """Read-only SQL on the run's database (SQLite opened ``mode=ro``; PostgreSQL sessions with
    ``default_transaction_read_only``).  JSON columns come back parsed."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith("postgresql")
        self._pg = None

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        if self.postgres:
            import asyncpg

            if self._pg is None:
                self._pg = await asyncpg.connect(_asyncpg_dsn(self.url), server_settings={
                    "default_transaction_read_only": "on", "application_name": "fieldbot fault harness"})
            records = await self._pg.fetch(sql)
            return [dict(r) for r in records]
        return await asyncio.to_thread(self._sqlite_rows, sql)

    def _sqlite_rows(self, sql: str) -> list[dict[str, Any]]:
        path = self.url.split(":///", 1)[1]
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql).fetchall()]
        finally:
            conn.close()

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
            self._pg = None


def as_json(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value
