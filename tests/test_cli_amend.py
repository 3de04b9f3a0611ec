"""``fieldbot ticket edit|cancel|reopen`` on the command line (real SQLite file; PostgreSQL when
FIELDBOT_TEST_PG_URL is set): corrections on the timeline with a severity's new due times, all of a
command's fields or none, the engineer told through the outbox; cancel and reopen with their reason,
who was told and who could not be; bad values, unknown people and tickets in the wrong state refused
with one line and exit code 2, nothing changed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import build_app
from handlers.views import local_time
from models.enums import Action, Role, TicketStatus
from models.queries import ticket_by_number
from models.runtime import OutboxMessage
from models.tickets import TicketEvent
from models.transitions import apply_action
from tests.conftest import make_config
from tests.support.chase import person
from tests.support.cli import cli_runner

CREATE = ["ticket", "create", "--customer", "ACME Ltd", "--contact", "Ms Wu", "--phone", "+86 138 0013 8000",
          "--address", "1 Road",
          "--model", "X200", "--fault", "won't start", "--severity", "2", "--service", "onsite", "--team", "North"]


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    return cli_runner(db_url, tmp_path, capsys)


def _on(db_url: str, tmp_path: Path, fn):  # noqa: ANN001, ANN202
    """Run ``fn(app)`` on an App over the test's database (people who joined in chat, lifecycle moves)."""
    async def go():  # noqa: ANN202
        app = build_app(make_config(db_url, tmp_path))
        try:
            return await fn(app)
        finally:
            await app.close()
    return asyncio.run(go())


def _team(db_url: str, tmp_path: Path) -> dict[str, int]:
    async def join(app) -> dict[str, int]:  # noqa: ANN001
        return {"sup": await person(app, Role.SUPERVISOR, "Wang Wei"), "eng": await person(app, Role.ENGINEER, "Li Lei"),
                "dsp": await person(app, Role.DISPATCHER, "Chen Jing")}
    return _on(db_url, tmp_path, join)


def _move(db_url: str, tmp_path: Path, number: str, *actions: Action, **kw) -> None:  # noqa: ANN003
    async def go(app) -> None:  # noqa: ANN001
        async with app.db.write() as s:
            ticket = await ticket_by_number(s, number)
            for action in actions:
                apply_action(s, ticket, action, now=app.clock.now(), clocks=app.sla,
                             **(kw if action is Action.DISPATCH else {}))
    _on(db_url, tmp_path, go)


def _read(db_url: str, tmp_path: Path, fn):  # noqa: ANN001, ANN202
    async def go(app):  # noqa: ANN001, ANN202
        async with app.db.read() as s:
            return await fn(s)
    return _on(db_url, tmp_path, go)


def _pushed(db_url: str, tmp_path: Path, person_id: int, purpose: str) -> list[str]:
    async def rows(s) -> list[str]:  # noqa: ANN001
        found = await s.scalars(select(OutboxMessage).where(OutboxMessage.person_id == person_id,
                                                            OutboxMessage.purpose == purpose).order_by(OutboxMessage.id))
        return [row.payload.get("text", "") for row in found.all()]
    return _read(db_url, tmp_path, rows)


def test_edit_corrects_fields_with_the_timeline_and_tells_the_engineer(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    people = _team(db_url, tmp_path)
    assert cli(*CREATE)[0] == 0
    n = "FS-2026-000001"
    _move(db_url, tmp_path, n, Action.DISPATCH, Action.ACCEPT, assignee_id=people["eng"])

    code, out, err = cli("ticket", "edit", n, "--address", "2 River Rd", "--severity", "1", "--by", "Wang Wei")
    assert (code, err) == (0, "")
    ticket = _read(db_url, tmp_path, lambda s: ticket_by_number(s, n))
    tz = make_config(db_url, tmp_path).bot.tz
    due = ", ".join(f"{clock} {local_time(getattr(ticket, f'{key}_due_at'), tz)}" for clock, key in
                    (("response", "respond"), ("arrival", "arrive"), ("resolution", "resolve")))
    assert out.splitlines() == [
        f"{n}: address: 1 Road → 2 River Rd",
        f"{n}: severity: 2 – risk of going down → 1 – system down; new due times: {due}",
        "told: Li Lei"]
    assert (ticket.address, ticket.severity) == ("2 River Rd", 1)
    assert ticket.resolve_due_at - ticket.created_at == make_config(db_url, tmp_path).sla.level1.resolve  # 24x7
    told = _pushed(db_url, tmp_path, people["eng"], "edited")
    assert len(told) == 2 and told[0].startswith(f"{n} was corrected by Wang Wei:\naddress: 1 Road → 2 River Rd\n")

    code, out, _ = cli("ticket", "show", n)
    assert "  Wang Wei corrected address: 1 Road → 2 River Rd" in out
    assert f"  Wang Wei corrected severity: 2 – risk of going down → 1 – system down; new due times: {due}" in out

    # All or nothing: a bad phone refuses the whole command; unknown people, nothing to do.
    code, _, err = cli("ticket", "edit", n, "--model", "X300", "--phone", "12")
    assert (code, err) == (2, 'fieldbot: error: "12" is not a phone number.\n')
    code, _, err = cli("ticket", "edit", n, "--model", "X300", "--by", "Li Lei")  # an engineer may not
    assert (code, err) == (2, 'fieldbot: error: no active staff member called "Li Lei" may do this\n')
    code, _, err = cli("ticket", "edit", n)
    assert code == 2 and err.startswith("fieldbot: error: nothing to correct: give at least one of --address")
    code, out, _ = cli("ticket", "edit", n, "--no-serial", "--contact", "Mr Chen")
    assert out.splitlines() == [f"{n}: serial number unchanged.", f"{n}: contact: Ms Wu → Mr Chen"]
    ticket = _read(db_url, tmp_path, lambda s: ticket_by_number(s, n))
    assert (ticket.product_model, ticket.contact_phone, ticket.contact_name) == ("X200", "+8613800138000", "Mr Chen")


def test_cancel_and_reopen_with_their_reasons(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    people = _team(db_url, tmp_path)
    assert cli(*CREATE)[0] == 0 and cli(*CREATE)[0] == 0
    first, second = "FS-2026-000001", "FS-2026-000002"
    _move(db_url, tmp_path, first, Action.DISPATCH, Action.ACCEPT, assignee_id=people["eng"])

    code, out, err = cli("ticket", "cancel", first, "--reason", "Duplicate of FS-2026-000002", "--by", "Chen Jing")
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{first} cancelled.", "told: Li Lei",
                                "the customer could not be told: nobody has joined through the ticket's link"]
    assert _pushed(db_url, tmp_path, people["eng"], "cancelled") == [
        f"{first} (X200, 1 Road) was cancelled by Chen Jing. Reason: Duplicate of FS-2026-000002. Nothing more to do on it."]
    ticket = _read(db_url, tmp_path, lambda s: ticket_by_number(s, first))
    assert (ticket.status, ticket.cancel_reason, ticket.sla_next_at) == (
        TicketStatus.CANCELLED, "Duplicate of FS-2026-000002", None)
    code, out, _ = cli("ticket", "show", first)
    assert "  Chen Jing cancelled the ticket — reason: Duplicate of FS-2026-000002" in out
    assert "  The customer was not told that the ticket was cancelled: nobody from the customer has joined" in out

    # Refused: again, an empty reason, correcting a cancelled ticket, reopening an open one.
    assert cli("ticket", "cancel", first, "--reason", "again")[1:] == (
        "", f"fieldbot: error: {first} is cancelled: only an open ticket can be cancelled.\n")
    assert cli("ticket", "cancel", second, "--reason", " ")[1:] == ("", "fieldbot: error: Please give a reason to cancel.\n")
    assert cli("ticket", "edit", first, "--address", "x")[1:] == (
        "", f"fieldbot: error: {first} is cancelled: only an open ticket's registration can be corrected.\n")
    assert cli("ticket", "reopen", second, "--reason", "x")[0] == 2

    # Reopen a resolved ticket without --by: the timeline says system; engineer and supervisor told.
    _move(db_url, tmp_path, second, Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE,
          assignee_id=people["eng"])
    code, out, err = cli("ticket", "reopen", second, "--reason", "Customer phoned: still won't start")
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{second} reopened, back with Li Lei.", "told: Li Lei", "told: Wang Wei"]
    assert _pushed(db_url, tmp_path, people["sup"], "reopened") == [
        f"{second} was reopened by the service desk (engineer: Li Lei). Reason: Customer phoned: still won't start"]
    ticket = _read(db_url, tmp_path, lambda s: ticket_by_number(s, second))
    assert (ticket.status, ticket.reopens) == (TicketStatus.ACCEPTED, 1)
    last = _read(db_url, tmp_path, lambda s: s.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                                      .order_by(TicketEvent.id.desc()).limit(1)))
    assert (last.action, last.actor_id, last.details["reason"]) == (
        Action.REOPEN, None, "Customer phoned: still won't start")
