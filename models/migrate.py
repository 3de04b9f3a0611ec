"""Schema migrations (Alembic), run programmatically on the app's own writer connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from models.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _run(sync_conn: Any, fn: Any, *args: Any) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    fn(cfg, *args)


async def upgrade(db: Database, revision: str = "head") -> None:
    async with db.writer.begin() as conn:
        await conn.run_sync(_run, command.upgrade, revision)


async def downgrade(db: Database, revision: str) -> None:
    async with db.writer.begin() as conn:
        await conn.run_sync(_run, command.downgrade, revision)


async def current_revision(db: Database) -> str | None:
    async with db.reader.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
