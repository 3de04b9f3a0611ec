"""The schema version without Alembic: the revision the database is at (``alembic_version``, read
with plain SQL) and the newest migration's revision id (read from the migration files' text).

Why: ``fieldbot run`` checks the schema once at start, and importing Alembic for that costs
~11 MB of resident memory for the life of the process.  Migrating (``fieldbot db upgrade``,
:mod:`models.migrate`) still uses Alembic; ``tests/test_storage.py`` checks both answers agree.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from models.db import Database

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.M)


def head_revision() -> str | None:
    """The revision no other migration builds on (one head: the migrations are a line)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            downs.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    heads = sorted(revisions - downs)
    if len(heads) > 1:
        raise RuntimeError(f"several migration heads: {', '.join(heads)}")
    return heads[0] if heads else None


async def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    async with db.reader.connect() as conn:
        try:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except Exception:  # noqa: BLE001  (no such table: never migrated)
            return None
