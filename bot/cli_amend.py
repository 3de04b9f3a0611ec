"""``fieldbot ticket cancel|reopen|edit``: what the desk does from the ticket page, on the command line.

The same operations as the chat (:mod:`handlers.amend`): the lifecycle's move or the correction,
the timeline entry, and the engineer / customer / supervisor told — as outbox rows, which a running
``fieldbot run`` delivers within seconds (its sender looks for due rows every few seconds).
``--by NAME`` records who did it (an active supervisor, dispatcher or manager; for ``edit`` a
supervisor or dispatcher); without it the timeline says "system".  ``edit`` takes several fields at
once and changes all of them or, when one value is refused, none.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from handlers import amend
from handlers.amend_view import edited_text
from handlers.context import push
from handlers.i18n import t
from handlers.messages import Msg
from models.corrections import FIELDS
from models.enums import Action
from models.errors import DomainError
from models.people import Person
from models.queries import person_name, ticket_by_number
from models.tickets import Ticket

def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def add_commands(tsub: argparse._SubParsersAction) -> None:
    cancel = tsub.add_parser("cancel", help="cancel an open ticket (the engineer and the customer are told)")
    cancel.add_argument("number")
    cancel.add_argument("--reason", required=True, help="why (kept on the timeline, told to engineer and customer)")
    cancel.add_argument("--by", help="who cancels it (a supervisor, dispatcher or manager; default: system)")
    cancel.set_defaults(handler=_cancel)

    reopen = tsub.add_parser("reopen", help="reopen a resolved, signed-off or closed ticket to its engineer")
    reopen.add_argument("number")
    reopen.add_argument("--reason", required=True, help="why (kept on the timeline, told to the engineer)")
    reopen.add_argument("--by", help="who reopens it (a supervisor, dispatcher or manager; default: system)")
    reopen.set_defaults(handler=_reopen)

    edit = tsub.add_parser("edit", help="correct an open ticket's registration (each change on the timeline)")
    edit.add_argument("number")
    edit.add_argument("--address")
    edit.add_argument("--model", help="product model")
    serial = edit.add_mutually_exclusive_group()
    serial.add_argument("--serial")
    serial.add_argument("--no-serial", action="store_true", help="the serial number is not known")
    edit.add_argument("--contact", help="contact person's name")
    edit.add_argument("--phone", help="contact phone")
    edit.add_argument("--purchased", type=_iso_date, help="purchase date YYYY-MM-DD (→ warranty)")
    edit.add_argument("--severity", help="1 (system down) … 4 (intermittent); the SLA clocks are recomputed")
    edit.add_argument("--by", help="who corrects it (a supervisor or dispatcher; default: system)")
    edit.set_defaults(handler=_edit)


async def _ticket_and_actor(session: Any, args: argparse.Namespace, roles: frozenset) -> tuple[Ticket, Person | None]:
    from bot.cli import UsageError

    ticket = await ticket_by_number(session, args.number)
    if ticket is None:
        raise DomainError("no_ticket", number=args.number)
    actor = await amend.actor_named(session, args.by, roles)
    if args.by and actor is None:
        raise UsageError(t(args.lang, "amend.cli.no_person", name=args.by))
    return ticket, actor


def _tell(app: Any, session: Any, ticket: Ticket, told: list[tuple[int, bool]]) -> amend.Tell:
    """Outbox rows with keys of their own (``cli:…``), and a note of who was reached."""
    now = app.clock.now()

    async def tell(person_id: int, msg: Msg, purpose: str) -> bool:
        reached = await push(session, app, person_id, msg, purpose=purpose, ticket_id=ticket.id, now=now,
                             dedupe=f"cli:{purpose}:{ticket.id}:{person_id}:{now.isoformat()}:{len(told)}")
        told.append((person_id, reached))
        return reached
    return tell


async def _said(session: Any, lang: str, told: list[tuple[int, bool]]) -> list[str]:
    return [t(lang, "amend.cli.told" if reached else "amend.cli.not_reached", name=await person_name(session, pid))
            for pid, reached in told]


def _reason(args: argparse.Namespace, action: Action) -> str:
    reason = (args.reason or "").strip()
    if not reason:
        raise DomainError("reason_required", action=action.value)
    if len(reason) > amend.REASON_LIMIT:
        raise DomainError("amend_reason_too_long", limit=amend.REASON_LIMIT)
    return reason


async def _cancel(app: Any, args: argparse.Namespace) -> int:
    told: list[tuple[int, bool]] = []
    async with app.db.write() as session:
        ticket, actor = await _ticket_and_actor(session, args, amend.CANCELLERS)
        amend.check(ticket, Action.CANCEL)
        result = await amend.cancel(session, app, ticket, reason=_reason(args, Action.CANCEL), actor=actor,
                                    now=app.clock.now(), tell=_tell(app, session, ticket, told))
        lines = [t(args.lang, "amend.cli.cancelled", number=ticket.number), *await _said(session, args.lang, told)]
        if not result["customer"]:
            lines.append(t(args.lang, "amend.cli.customer_not_told"))
    print("\n".join(lines))
    return 0


async def _reopen(app: Any, args: argparse.Namespace) -> int:
    told: list[tuple[int, bool]] = []
    async with app.db.write() as session:
        ticket, actor = await _ticket_and_actor(session, args, amend.CANCELLERS)
        amend.check(ticket, Action.REOPEN)
        await amend.reopen(session, app, ticket, reason=_reason(args, Action.REOPEN), actor=actor, now=app.clock.now(),
                           tell=_tell(app, session, ticket, told))
        lines = [t(args.lang, "amend.cli.reopened", number=ticket.number,
                   name=await person_name(session, ticket.assignee_id)), *await _said(session, args.lang, told)]
    print("\n".join(lines))
    return 0


async def _edit(app: Any, args: argparse.Namespace) -> int:
    from bot.cli import UsageError

    wanted = [(field, None if field == "serial" and args.no_serial else getattr(args, field)) for field in FIELDS
              if getattr(args, field) is not None or (field == "serial" and args.no_serial)]
    if not wanted:
        raise UsageError(t(args.lang, "amend.cli.nothing"))
    told: list[tuple[int, bool]] = []
    lines = []
    async with app.db.write() as session:
        ticket, actor = await _ticket_and_actor(session, args, amend.EDITORS)
        tell = _tell(app, session, ticket, told)
        for field, value in wanted:
            change, _ = await amend.edit(session, app, ticket, field, value, actor=actor, now=app.clock.now(),
                                         tell=tell)
            if change is None:
                lines.append(t(args.lang, "amend.cli.unchanged", number=ticket.number, field=t(args.lang, f"field.{field}")))
                continue
            text = edited_text(args.lang, {"field": change.field, "old": change.old, "new": change.new,
                                           "due": change.due}, app.tz, timeline=False)
            lines.append(t(args.lang, "amend.cli.changed", number=ticket.number, change=text))
        lines += await _said(session, args.lang, _last_per_person(told))
    print("\n".join(lines))
    return 0


def _last_per_person(told: list[tuple[int, bool]]) -> list[tuple[int, bool]]:
    """An engineer told of two changes is named once."""
    seen: dict[int, bool] = {}
    for pid, reached in told:
        seen[pid] = reached
    return list(seen.items())
