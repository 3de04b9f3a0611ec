"""``fieldbot inbox``: the updates that could not be handled (parked), and what to do with them.

An update is parked when its handling kept failing (an exception three times in a row, or the
process dying while handling it at several starts in a row) or when it could not be read at all.
It keeps the raw update and the last error.  After a fix, ``retry`` hands it back: a running
instance takes it over at its next heartbeat (within seconds) and handles it as if it had just
arrived; ``drop`` closes it for good.
"""

from __future__ import annotations

import argparse
import json

from sqlalchemy import func, select, update

from handlers.i18n import t
from handlers.times import zone_note
from models.enums import InboxStatus
from models.runtime import InboundEvent


def add_commands(sub: argparse._SubParsersAction) -> None:
    inbox = sub.add_parser("inbox", help="parked updates (handling kept failing): list, retry, drop")
    inbox.add_argument("--json", action="store_true", help="list as JSON lines")
    inbox_sub = inbox.add_subparsers(dest="inbox_command")
    retry = inbox_sub.add_parser("retry", help="hand parked updates back to a running instance")
    retry.add_argument("ids", nargs="*", type=int, help="inbox row ids (see the list)")
    retry.add_argument("--all", action="store_true", help="every parked update")
    drop = inbox_sub.add_parser("drop", help="close parked updates for good")
    drop.add_argument("ids", nargs="+", type=int)
    inbox.set_defaults(handler=_inbox)


async def _inbox(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    from bot.cli import UsageError

    command = getattr(args, "inbox_command", None)
    if command is None:
        return await _list(app, args)
    ids = list(dict.fromkeys(args.ids))
    if command == "retry" and not ids and not args.all:
        raise UsageError(key="cli.args.inbox_retry_what")
    where = [InboundEvent.status == InboxStatus.PARKED]
    if ids:
        where.append(InboundEvent.id.in_(ids))
    values = ({"status": InboxStatus.PENDING, "attempts": 0, "instance_id": None, "last_error": None}
              if command == "retry" else
              {"status": InboxStatus.DONE, "payload": None, "last_error": "dropped by an operator",
               "handled_at": app.clock.now()})
    async with app.db.write() as session:
        changed = list((await session.scalars(
            update(InboundEvent).where(*where).values(**values).returning(InboundEvent.id)
            .execution_options(synchronize_session=False))).all())
    missing = sorted(set(ids) - set(changed))
    if missing:
        print(t(args.lang, "cli.inbox.not_parked", ids=", ".join(map(str, missing))))
    print(t(args.lang, f"cli.inbox.{command}_done", count=len(changed)))
    return 0 if not missing else 2


async def _list(app, args: argparse.Namespace) -> int:  # noqa: ANN001
    async with app.db.read() as session:
        counts = dict((await session.execute(
            select(InboundEvent.status, func.count()).where(InboundEvent.status != InboxStatus.DONE)
            .group_by(InboundEvent.status))).all())
        rows = (await session.scalars(
            select(InboundEvent).where(InboundEvent.status == InboxStatus.PARKED).order_by(InboundEvent.id)
        )).all()
    if args.json:
        for row in rows:
            print(json.dumps({"id": row.id, "channel": row.channel.value, "external_id": row.external_id,
                              "received_at": row.received_at.isoformat(), "attempts": row.attempts,
                              "error": row.last_error, "update": row.payload}, ensure_ascii=False))
        return 0
    print(t(args.lang, "cli.inbox.summary", pending=counts.get(InboxStatus.PENDING, 0),
            parked=counts.get(InboxStatus.PARKED, 0)))
    for row in rows:
        error = " ".join((row.last_error or "").split())
        print(t(args.lang, "cli.inbox.line", id=row.id, channel=row.channel.value, external_id=row.external_id,
                received=app.local(row.received_at).strftime("%Y-%m-%d %H:%M:%S"), attempts=row.attempts,
                error=error if len(error) <= 160 else error[:159] + "…"))
    if rows:
        print(zone_note(args.lang, app.tz, app.clock.now()))
    return 0
