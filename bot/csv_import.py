"""CSV import of tickets (``fieldbot ticket import FILE.csv``): all rows or none.

Header (UTF-8, a BOM from Excel is fine; column order free)::

    customer,contact,phone,address,model,serial,purchased,fault,fault_type,severity,service,billable

Required: customer, phone, address, model, fault, severity, service.  ``purchased`` is
YYYY-MM-DD; ``service`` is onsite|phone|remote (or 上门/电话/远程); ``billable`` is yes/no
(true/false, 1/0, 是/否; empty = no).  ``fault_type`` is optional; when the config lists fault types
(``[faults] types``: imported tickets have no team, so the common list), it must be one of them or
``other`` (其他), else it is free text.  Every row is validated first and every bad row is reported
with its line number; only when all rows are good are they written, in one transaction.  A row
that repeats a ticket registered lately, or an earlier row, is skipped with a warning
(:mod:`bot.csv_duplicates`; ``--allow-duplicates`` imports it anyway).

Every ticket gets its customer's single-use link; :func:`import_csv` returns them (the tokens are
never stored, only their hashes), and a ``hand_out`` callback run before the commit (writing them
to a file) can still undo the whole import by raising.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.csv_duplicates import skip_duplicates
from handlers.fault_types import checked as checked_fault_type
from handlers.i18n import error_text, t
from models.errors import DomainError
from models.invites import create_invite
from models.enums import Role
from models.registry import (
    Registration,
    normalise_phone,
    parse_date,
    parse_service,
    parse_severity,
    register_ticket,
)

COLUMNS = ("customer", "contact", "phone", "address", "model", "serial", "purchased", "fault",
           "fault_type", "severity", "service", "billable")
REQUIRED = ("customer", "phone", "address", "model", "fault", "severity", "service")
_TRUE = {"yes", "y", "true", "1", "是", "收费"}
_FALSE = {"", "no", "n", "false", "0", "否", "免费"}


def _bool(value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise DomainError("bad_bool", field="billable", value=value)


def _registration(cells: dict[str, str], today: date,
                  fault_types: list[str]) -> tuple[Registration | None, list[DomainError]]:
    """Check every field of one row, so a row with three mistakes reports all three."""
    errors: list[DomainError] = []

    def check(fn, *args, **kw):  # noqa: ANN001, ANN202
        try:
            return fn(*args, **kw)
        except DomainError as exc:
            errors.append(exc)
            return None

    purchased = check(parse_date, cells["purchased"], today=today, field_name="purchased") \
        if cells.get("purchased") else None
    service = check(parse_service, cells["service"])
    billable = check(_bool, cells.get("billable", ""))
    check(normalise_phone, cells["phone"])
    check(parse_severity, cells["severity"])
    fault_type = check(checked_fault_type, cells.get("fault_type"), fault_types)
    for name in ("customer", "address", "model", "fault"):
        if not cells.get(name):
            errors.append(DomainError("required", field=name))
    if errors:
        return None, errors
    reg = Registration(
        customer=cells["customer"], contact=cells.get("contact"), phone=cells["phone"],
        address=cells["address"], model=cells["model"], serial=cells.get("serial"), purchased=purchased,
        fault=cells["fault"], fault_type=fault_type, severity=cells["severity"],
        service=service, billable=billable,
    )
    try:
        return reg.clean(today), []
    except DomainError as exc:
        return None, [exc]


def parse_rows(raw: bytes, *, today: date, lang: str,
               fault_types: list[str] | None = None) -> tuple[list[Registration], list[str]]:
    """Validate the whole file without touching the database (``fault_types``: the configured
    list a ``fault_type`` must come from; empty or None: free text)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [t(lang, "cli.import_line", line=1, reason="not UTF-8 text")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    problems = []
    if missing:
        problems.append(t(lang, "cli.import_line", line=1,
                          reason=t(lang, "cli.import_missing_columns", columns=t(lang, "list.sep").join(missing))))
    if unknown:
        problems.append(t(lang, "cli.import_line", line=1,
                          reason=t(lang, "cli.import_unknown_columns", columns=t(lang, "list.sep").join(unknown))))
    if problems:
        return [], problems
    regs: list[Registration] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(t(lang, "cli.import_line", line=line, reason="too many fields"))
            continue
        cells = {k: (v or "").strip() for k, v in row.items()}
        if not any(cells.values()):
            continue
        reg, errors = _registration(cells, today, fault_types or [])
        if errors:
            reasons = " ".join(error_text(lang, e) for e in errors)
            problems.append(t(lang, "cli.import_line", line=line, reason=reasons))
        else:
            reg.extra["line"] = line  # for the duplicate warnings (bot.csv_duplicates)
            regs.append(reg)
    if not regs and not problems:
        problems.append(t(lang, "cli.import_line", line=1, reason=t(lang, "cli.import_empty")))
    return regs, problems


@dataclass(frozen=True)
class Imported:
    """A ticket the import made, with its customer's link (the token, shown once)."""

    number: str
    customer: str
    contact: str
    phone: str
    token: str
    expires_at: datetime


async def import_csv(app, raw: bytes, *, lang: str,  # noqa: ANN001
                     hand_out: Callable[[Sequence[Imported]], None] | None = None,
                     allow_duplicates: bool = False, skipped: list[str] | None = None,
                     ) -> tuple[list[Imported], list[str]]:
    """Returns (the tickets made, problems); nothing is written when there is any problem, or when
    ``hand_out`` (given the tickets before the commit) raises.  A row that repeats a ticket (or an
    earlier row) is skipped unless ``allow_duplicates``; each gets a warning line in ``skipped``
    (:mod:`bot.csv_duplicates`)."""
    regs, problems = parse_rows(raw, today=app.today(), lang=lang, fault_types=app.config.faults.for_team(None))
    if problems:
        return [], problems
    now, ttl = app.clock.now(), app.config.bot.customer_link_ttl
    made = []
    async with app.db.write() as session:
        if not allow_duplicates:
            regs, repeated = await skip_duplicates(session, regs, now=now, tz=app.tz, lang=lang)
            if skipped is not None:
                skipped.extend(repeated)
        for reg in regs:
            ticket = await register_ticket(session, reg, now=now, today=app.today(),
                                           warranty=app.config.bot.warranty, clocks=app.sla)
            token = await create_invite(session, role=Role.CUSTOMER, name=reg.contact or reg.customer, now=now,
                                        ttl=ttl, ticket_id=ticket.id, customer_id=ticket.customer_id)
            made.append(Imported(ticket.number, reg.customer, reg.contact or reg.customer, reg.phone, token, now + ttl))
        if hand_out is not None:
            hand_out(made)
    return made, []
