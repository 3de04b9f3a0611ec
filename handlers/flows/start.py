"""Everyone: ``/start [TOKEN]`` (join by invite or customer link), ``/help``, ``/lang``, ``/cancel``."""

from __future__ import annotations

from handlers.channel import Outbound
from handlers.context import Ctx
from handlers.i18n import normalise_language, preview, t
from handlers.messages import L, Lines, Msg, Raw
from handlers.registry import Routes
from models.customers import Customer
from models.enums import Role
from models.errors import DomainError
from models.invites import create_invite, join
from models.people import Person, Team
from models.runtime import OutboxMessage
from models.tickets import Ticket
from models.transitions import record_event

routes = Routes()


def menu_of(ctx: Ctx, role: Role) -> list[tuple[str, str]]:
    """The role's commands as the running router lists them: (command, catalog key)."""
    return ctx.router.menus.get(role, []) if ctx.router is not None else []


def queue_menu(ctx: Ctx) -> None:
    """Write the role's command menu for this chat to the outbox (delivered like any message)."""
    if ctx.person is None:
        return
    commands = [(name, t(ctx.lang, key)) for name, key in menu_of(ctx, ctx.person.role)]
    ctx.session.add(OutboxMessage(
        person_id=ctx.person.id, channel=ctx.inbound.channel, chat_id=ctx.inbound.chat_id,
        payload=Outbound(kind="commands", commands=commands).to_payload(),
        dedupe_key=ctx._key(None), not_before=ctx.now, purpose="menu", created_at=ctx.now,
    ))


def help_message(ctx: Ctx) -> Msg:
    role = ctx.person.role if ctx.person else None
    if role is None:
        return Msg("start.help_stranger")
    lines = [L(f"help.intro.{role.value}")]
    for name, key in menu_of(ctx, role):
        lines.append(Raw(f"/{name} — " + ctx.t(key)))
    return Msg(body=Lines(tuple(lines)))


async def greeting_name(ctx: Ctx, person: Person) -> str | None:
    """The name a person is greeted by — never a customer's company name: a ticket link made
    without a contact person carries the company's name, and its customer is greeted without one."""
    if person.role is Role.CUSTOMER and person.customer_id is not None:
        company = await ctx.session.get(Customer, person.customer_id)
        if company is not None and company.name.strip().casefold() == person.name.strip().casefold():
            return None
    return person.name


@routes.command("start", roles=None)
async def start(ctx: Ctx) -> None:
    token = ctx.inbound.args.strip()
    if not token:
        if ctx.person is None:
            raise DomainError("not_joined")
        name = await greeting_name(ctx, ctx.person)
        if name:
            ctx.reply("start.welcome_back", name=name)
        else:
            ctx.reply("start.welcome_back_unnamed")
        ctx.reply(help_message(ctx))
        queue_menu(ctx)
        return
    person, invite = await join(
        ctx.session, token, channel=ctx.inbound.channel, external_user_id=ctx.inbound.user_id,
        chat_id=ctx.inbound.chat_id, now=ctx.now,
        language=normalise_language(ctx.inbound.language, ctx.app.config.bot.language)
        if ctx.inbound.language else None,
    )
    ctx.person = person
    role_name = L(f"role.{person.role.value}")
    if invite.person_id is not None:  # another chat app for someone already here
        ctx.reply("start.linked", name=person.name)
    elif invite.ticket_id is not None:
        ticket = await ctx.session.get(Ticket, invite.ticket_id)
        record_event(ctx.session, ticket, "customer_joined", now=ctx.now, actor_id=person.id)
        name = await greeting_name(ctx, person)
        if name:
            ctx.reply("start.welcome_customer", name=name, number=ticket.number)
        else:
            ctx.reply("start.welcome_customer_unnamed", number=ticket.number)
    else:
        team = await ctx.session.get(Team, person.team_id) if person.team_id else None
        ctx.reply("start.welcome_staff", name=person.name, role=role_name,
                  team=team.name if team else ctx.t("start.no_team"))
        if team is None and person.role is Role.MANAGER:  # escalations go to a team's manager
            ctx.reply("people.manager_no_team")
    ctx.reply(help_message(ctx))
    queue_menu(ctx)


@routes.command("link", roles=None, menu="menu.link")
async def link(ctx: Ctx) -> None:
    """Use Fieldbot on another chat app too (Telegram and WeCom): a one-time code to send there;
    the new chat joins this same person (role, team, tickets), and pushes go where they were last
    active."""
    person = ctx.person
    if person is None:
        raise DomainError("not_joined")
    token = await create_invite(ctx.session, role=person.role, name=person.name, now=ctx.now,
                                ttl=ctx.app.config.bot.invite_ttl, team_id=person.team_id,
                                customer_id=person.customer_id, created_by_id=person.id, person_id=person.id)
    ways = [Raw(way) for way in ctx.app.join_texts(token, customer=person.role is Role.CUSTOMER)]
    ctx.reply(Msg(body=Lines((L("start.link", {"token": Raw(token)}), *ways)), secret=True))


@routes.command("help", roles=None, menu="menu.help")
async def help_command(ctx: Ctx) -> None:
    ctx.reply(help_message(ctx))


@routes.command("lang", roles=None, menu="menu.lang")
async def lang(ctx: Ctx) -> None:
    choice = ctx.inbound.args.strip().lower()
    if choice not in ("zh", "zh-cn", "cn", "中文", "en", "english"):
        raise DomainError("bad_language", value=preview(choice))
    if ctx.person is None:
        raise DomainError("not_joined")
    ctx.person.language = normalise_language(choice if choice != "中文" else "zh")
    ctx.reply("start.language_set")
    queue_menu(ctx)


@routes.command("cancel", roles=None, menu="menu.cancel")
async def cancel(ctx: Ctx) -> None:
    # The core already ended any dialog before running a command; say so either way.
    ctx.reply(Msg("start.cancelled", remove_keyboard=True))


@routes.callback("ok", roles=None)
async def got_it(ctx: Ctx) -> None:
    """The "Got it" tap target some channels put on every message (微信客服: each tap reopens the
    window in which Fieldbot may write to the customer).  Nothing to do, nothing to say."""
    ctx.toast = None
