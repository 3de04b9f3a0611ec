"""The database at start: one line saying what is wrong (PostgreSQL down, a SQLite file that cannot
be written) instead of a driver's traceback, for every command that opens the database.

SQLite is tried with the standard library's ``sqlite3`` before the app opens it: a failed open
through aiosqlite leaves its worker thread to print a traceback of its own when the process ends.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.config import Config
from bot.config_check import sqlite_findings, sqlite_path
from handlers.i18n import t


class StartupError(Exception):
    """What stops a command before it starts, as one line in the CLI's language (exit code 1)."""

    def __init__(self, line: str):
        super().__init__(line)
        self.line = line


def os_reason(exc: OSError) -> str:
    """"Connection refused", "Name or service not known": the system's words, without asyncio's
    "Connect call failed ('127.0.0.1', 1)" wrapping."""
    if isinstance(exc, socket.gaierror) or not (isinstance(exc.errno, int) and exc.errno > 0):
        return exc.strerror or str(exc)
    return os.strerror(exc.errno)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    inner = orig if orig is not None else exc
    if isinstance(inner, OSError) and (inner.strerror or inner.errno):
        return os_reason(inner)
    words = str(inner).strip().splitlines()
    text_ = words[0] if words else ""
    return text_ or type(inner).__name__


def probe_sqlite(config: Config, lang: str, *, write: bool = False) -> None:
    """Open the SQLite file (creating it if need be) and, with ``write`` (``run``, ``db upgrade``),
    briefly take its write lock; or raise StartupError.  Readers skip the lock: a running bot may
    hold it."""
    path = sqlite_path(config)
    if path is None:
        return
    for finding in sqlite_findings(config):  # what the file system says without trying
        raise StartupError(finding.text(lang))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=config.database.busy_timeout.total_seconds())
        try:
            connection.isolation_level = None
            version = connection.execute("PRAGMA user_version").fetchone()[0]  # opens the file for real
            if write:
                connection.execute("BEGIN IMMEDIATE")  # the write lock
                connection.execute(f"PRAGMA user_version = {int(version)}")  # a write that changes nothing
                connection.execute("ROLLBACK")
        finally:
            connection.close()
    except (OSError, sqlite3.Error) as exc:
        raise StartupError(t(lang, "cli.start.sqlite_cannot_open", path=str(path), reason=_reason(exc))) from None


def _where(config: Config) -> str:
    url = make_url(config.database.url.get_secret_value())
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def database_failure(exc: BaseException, config: Config, lang: str, *, connecting: bool = False) -> str | None:
    """One line for a database that cannot be used, None for anything else (a bug keeps its
    traceback).  ``connecting``: raised by the first statement, so any driver error is the server's
    answer to connecting (a wrong password, a missing database)."""
    path = sqlite_path(config)
    if path is not None:
        if isinstance(exc, (OSError, sqlite3.Error, OperationalError)):
            return t(lang, "cli.start.sqlite_cannot_open", path=str(path), reason=_reason(exc))
        return None
    if not config.database.url.get_secret_value().startswith("postgresql"):
        return None
    unreachable = isinstance(exc, (OSError, asyncio.TimeoutError)) or (
        isinstance(exc, (OperationalError, InterfaceError)) and isinstance(exc.orig, (OSError, asyncio.TimeoutError)))
    if unreachable:
        return t(lang, "cli.start.database_unreachable", where=_where(config), reason=_reason(exc))
    if isinstance(exc, (OperationalError, InterfaceError)) or (connecting and _is_driver_error(exc)):
        return t(lang, "cli.start.database_refused", where=_where(config), reason=_reason(exc))
    return None


def _is_driver_error(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - installed with the package
        return False
    return isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError))


async def probe_database(app: Any, lang: str) -> None:  # noqa: ANN401
    """One statement on the app's database, or StartupError with the reason."""
    try:
        async with app.db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        line = database_failure(exc, app.config, lang, connecting=True)
        if line is None:
            raise
        raise StartupError(line) from None
