"""Desk: a ticket's customer link issued again — ``/customer_link NUMBER [NAME]``, or **Customer
link** on the ticket page (``cln:TICKET``) — by a supervisor, dispatcher or manager who may see
the ticket, while it is not closed or cancelled.

Only a link's hash is kept, so a lost link cannot be shown again: a new one is made
(:func:`models.customer_links.issue_link`) for the ticket's contact, or for NAME — another person
at the customer, who gets a link of their own — and that contact's earlier unopened link stops
working (opened, it says it was replaced).  The reply is the link on every channel customers use,
with a QR code, marked secret like /new's (the outbox forgets it once delivered).  It is only
ever written to the asker's private chat: the core refuses commands and buttons in a group
before any flow runs (:mod:`handlers.screening`).
"""

from __future__ import annotations

import asyncio

from handlers.context import Ctx
from handlers.dialogs import button_arg, visible_ticket, visible_ticket_by_number
from handlers.links_view import LINKERS, issued_message
from handlers.media import MediaStore
from handlers.register_done import qr_png
from handlers.registry import Routes
from models.customer_links import contacts, issue_link
from models.tickets import Ticket

routes = Routes()


@routes.command("customer_link", roles=LINKERS, menu="links.menu")
async def customer_link(ctx: Ctx) -> None:
    number, _, name = (ctx.inbound.args or "").strip().partition(" ")
    await _issue(ctx, await visible_ticket_by_number(ctx, number), name)


@routes.callback("cln", roles=LINKERS)
async def customer_link_pressed(ctx: Ctx) -> None:
    """The ticket page's **Customer link**: a new link for the ticket's contact."""
    await _issue(ctx, await visible_ticket(ctx, button_arg(ctx, 0)), None)


async def _issue(ctx: Ctx, ticket: Ticket, name: str | None) -> None:
    config = ctx.app.config
    issued = await issue_link(ctx.session, ticket, name=name, now=ctx.now, ttl=config.bot.customer_link_ttl,
                              by_id=ctx.person.id)
    first = ctx.app.join_link(issued.token, customer=True)  # the QR code's
    links = [first] + [link for _, link in ctx.app.join_links(issued.token, customer=True) if link != first]
    stored = await MediaStore(config.storage.media_dir).save(await asyncio.to_thread(qr_png, first))
    ctx.reply(issued_message(ticket, issued, links, following=await contacts(ctx.session, ticket), tz=ctx.app.tz,
                             photo=stored.path), ticket_id=ticket.id, ref=f"custlink:{ticket.id}")
