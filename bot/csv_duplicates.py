"""Importing the same CSV twice: rows that repeat a ticket are skipped with a warning.

The CSV carries no reference of its own (no order or case number column), so a row is "the same
call" as a ticket when everything that describes the call is the same: the customer (name and
phone, as the registry finds a customer again), the product model, the serial (both without one
counts as the same) and the fault text — and that ticket was registered in the last
:data:`WINDOW`, in any state (a file imported on Monday and again on Tuesday, after some of its
tickets were already dispatched, still doubles nothing).  A row the same as an earlier row of the
file is skipped too.  ``fieldbot ticket import --allow-duplicates`` imports them anyway: the same
fault on the same unit again is sometimes a real second call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import t
from handlers.views import local_time
from models.customers import Customer
from models.registry import Registration
from models.tickets import Ticket

#: How far back a registered ticket counts as the one a row repeats.
WINDOW = timedelta(days=30)


def key(reg: Registration) -> tuple[str, str, str, str | None, str]:
    """What makes two registrations the same call (after :meth:`Registration.clean`)."""
    return reg.customer, reg.phone, reg.model, reg.serial, reg.fault


async def same_ticket(session: AsyncSession, reg: Registration, *, since: datetime) -> Ticket | None:
    """The newest ticket registered since ``since`` that ``reg`` repeats, if any."""
    serial = Ticket.serial.is_(None) if reg.serial is None else Ticket.serial == reg.serial
    return await session.scalar(
        select(Ticket).join(Customer, Customer.id == Ticket.customer_id)
        .where(Customer.name == reg.customer, Customer.phone == reg.phone, Ticket.product_model == reg.model,
               serial, Ticket.fault_symptom == reg.fault, Ticket.created_at >= since)
        .order_by(Ticket.id.desc()).limit(1))


async def skip_duplicates(session: AsyncSession, regs: Sequence[Registration], *, now: datetime, tz: ZoneInfo,
                          lang: str) -> tuple[list[Registration], list[str]]:
    """(the rows to import, one warning line per row skipped); a row's line number is in
    ``reg.extra["line"]``."""
    first: dict[tuple, object] = {}
    keep, skipped = [], []
    for reg in regs:
        line = reg.extra.get("line", "?")
        same = key(reg)
        if same in first:
            skipped.append(t(lang, "cli.duplicates.in_file", line=line, first=first[same]))
            continue
        first[same] = line
        ticket = await same_ticket(session, reg, since=now - WINDOW)
        if ticket is None:
            keep.append(reg)
        else:
            skipped.append(t(lang, "cli.duplicates.skipped", line=line, number=ticket.number,
                             registered=local_time(ticket.created_at, tz)))
    return keep, skipped
