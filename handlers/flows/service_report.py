"""**Service report (PDF)** on the ticket page (``srp:TICKET``): the closed ticket's signed service
report sent as a PDF to whoever pressed it — if they may see the ticket (:func:`visible_ticket`,
the one access rule) and only in a private chat (customer data never goes to a group chat).

The reply is an outbox row pointing at the report; the sender renders it (or reuses the stored
one) in the presser's language (:mod:`handlers.service_report`).
"""

from __future__ import annotations

from handlers.context import Ctx
from handlers.dialogs import button_arg, visible_ticket
from handlers.registry import Routes
from handlers.service_report import report_message
from models.enums import Role, TicketStatus

routes = Routes()

READERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.MANAGER, Role.ENGINEER, Role.CUSTOMER})


@routes.callback("srp", roles=READERS)
async def service_report_pressed(ctx: Ctx) -> None:
    ticket = await visible_ticket(ctx, button_arg(ctx, 0))
    if not ctx.inbound.private:
        ctx.reply("service_report.private_only")
        return
    if ticket.status is not TicketStatus.CLOSED:
        ctx.reply("service_report.not_closed", number=ticket.number)
        return
    ctx.reply(report_message(ticket), ticket_id=ticket.id)
