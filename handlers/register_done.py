"""The end of the ``/new`` dialog: **Confirm** registers the ticket, **Cancel** drops it.

Confirming goes through :func:`models.registry.register_ticket` — the path ``fieldbot ticket
create`` takes — so validation, numbering, warranty and the SLA clocks are the same everywhere.
Like the CLI it then makes the customer's single-use join link (:func:`models.invites.create_invite`)
and shows it twice: as the deep link, and as a QR code (PNG, made with ``segno``) to forward or
print.  The PNG is kept in the media store (content-addressed, like photos) and leaves through the
outbox with the reply, so it is sent after the commit like every other message.  The reply is
marked secret: once delivered, the sender deletes its text and the PNG (only the invite's hash
stays in the database, DESIGN §1).
"""

from __future__ import annotations

import asyncio
import io
from datetime import date

import segno
from sqlalchemy import func, select

from handlers.media import MediaStore
from handlers.context import Ctx
from handlers.dialogs import own_message
from handlers.messages import L, Lines, Msg, Raw
from handlers.register_view import Facts, facts_from_dialog, summary
from handlers.views import local_time
from models.customers import Asset
from models.enums import Role, ServiceType
from models.invites import create_invite
from models.registry import Registration, register_ticket
from models.tickets import Ticket

#: QR code rendering: 8 pixels a module with the standard 4-module quiet zone prints and scans
#: well; error correction M survives a creased printout.
QR_SCALE = 8
QR_BORDER = 4
QR_ERROR = "m"


def qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error=QR_ERROR, micro=False).save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return buffer.getvalue()


def team_today(ctx: Ctx) -> date:
    """The team's local date: warranty and "not in the future" are local-date rules."""
    return ctx.now.astimezone(ctx.app.tz).date()


def _registration(ctx: Ctx) -> Registration:
    data = ctx.data
    return Registration(
        customer=data["customer"], contact=data.get("contact"), phone=data["phone"], address=data["address"],
        model=data["model"], serial=data.get("serial"),
        purchased=date.fromisoformat(data["purchased"]) if data.get("purchased") else None,
        fault=data["fault"], fault_type=data.get("fault_type"), severity=data["severity"], service=ServiceType(data["service"]),
        billable=data["billable"], team_id=ctx.person.team_id,
    )


async def _facts(ctx: Ctx, ticket: Ticket) -> Facts:
    """The registration as stored: an existing asset keeps its own purchase date and warranty."""
    asset = await ctx.session.get(Asset, ticket.asset_id) if ticket.asset_id else None
    tickets_of_customer = await ctx.session.scalar(
        select(func.count(Ticket.id)).where(Ticket.customer_id == ticket.customer_id))
    return Facts(customer=ctx.data["customer"], known=tickets_of_customer > 1, phone=ticket.contact_phone,
                 address=ticket.address, model=ticket.product_model, serial=ticket.serial,
                 purchased=ticket.purchase_date, warranty_end=asset.warranty_end if asset else None,
                 in_warranty=ticket.in_warranty, fault=ticket.fault_symptom, severity=ticket.severity,
                 service=ticket.service_type.value, billable=ticket.billable, fault_type=ticket.fault_type,
                 contact=ticket.contact_name)


async def _close_summary(ctx: Ctx, head: L) -> None:
    """Replace the summary's Confirm / Cancel buttons by what became of it."""
    rid = ctx.data["rid"]
    message_id = await own_message(ctx, ref=f"regsum:{rid}")
    if message_id:
        facts = facts_from_dialog(ctx.data, ctx.app.config.bot.warranty, team_today(ctx))
        ctx.reply(Msg(body=Lines((head, summary(facts))), edit_message_id=message_id))


async def confirm(ctx: Ctx, _value: str) -> None:
    config = ctx.app.config
    ticket = await register_ticket(ctx.session, _registration(ctx), now=ctx.now, today=team_today(ctx),
                                   warranty=config.bot.warranty, actor_id=ctx.person.id, clocks=ctx.app.sla)
    # Whoever opens the link is known by the contact's name — or, with none given, the company's
    # (what staff see; the customer is greeted without a name then, handlers.flows.start).
    token = await create_invite(
        ctx.session, role=Role.CUSTOMER, name=ticket.contact_name or ctx.data["customer"], now=ctx.now,
        ttl=config.bot.customer_link_ttl, ticket_id=ticket.id, customer_id=ticket.customer_id, team_id=ticket.team_id,
        created_by_id=ctx.person.id)
    link = ctx.app.join_link(token, customer=True)
    others = [Raw(other) for _, other in ctx.app.join_links(token, customer=True) if other != link]
    stored = await MediaStore(config.storage.media_dir).save(await asyncio.to_thread(qr_png, link))
    facts = await _facts(ctx, ticket)
    await _close_summary(ctx, L("reg.confirmed", {"number": ticket.number}))
    ctx.end_flow()
    buttons = [[("reg.btn.dispatch", f"dspt:{ticket.id}")]] if _can_dispatch(ctx) else []
    body = Lines((L("reg.done", {"number": ticket.number}), summary(facts),
                  L("reg.link", {"expires": local_time(ctx.now + config.bot.customer_link_ttl, ctx.app.tz)}), Raw(link),
                  *others))
    ctx.reply(Msg(body=body, photos=[{"path": stored.path}], buttons=buttons, secret=True), ticket_id=ticket.id,
              ref=f"registered:{ticket.id}")
    ctx.toast = ctx.t("reg.toast_done", number=ticket.number)


def _can_dispatch(ctx: Ctx) -> bool:
    """Whether the running bot has the dispatch flow (its ticket pick button, ``dspt``)."""
    return ctx.router is not None and "dspt" in ctx.router.callbacks


async def drop(ctx: Ctx, _value: str) -> None:
    await _close_summary(ctx, L("reg.dropped"))
    ctx.end_flow()
    ctx.reply("reg.cancelled")
