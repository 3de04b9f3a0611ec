"""Alembic environment: runs on the connection the caller hands over (see models/migrate.py).

``render_as_batch`` makes ALTERs work on SQLite (copy-and-move) as well as on PostgreSQL.
"""

from alembic import context

import models  # noqa: F401  (registers every table)
from models.base import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI directly
    raise SystemExit("run migrations with `fieldbot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
