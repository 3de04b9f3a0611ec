"""The channel-neutral core on its own (no chat SDK): ordering per session, parallel sessions,
duplicate updates, rollback on domain errors, apology on crashes, and the text fallback for
buttons.  Flows here are small test flows registered on a private router."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from handlers.channel import Button, Inbound, Outbound, command_for, data_from_command, render_text
from handlers.media import MediaStore
from handlers.context import Ctx
from handlers.core import Core
from handlers.registry import Router
from models.customers import Customer
from models.enums import Channel, Role
from models.people import ChannelIdentity, Person
from models.errors import DomainError
from models.runtime import ConversationState, InboundEvent, OutboxMessage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def inbound(n: int, *, user: str = "7", text: str | None = None, command: str | None = None, args: str = "",
            data: str | None = None) -> Inbound:
    return Inbound(channel=Channel.TELEGRAM, update_id=str(n), session_key=f"tg:{user}:{user}", user_id=user,
                   chat_id=user, received_at=NOW, text=text, command=command, args=args, callback_data=data)


def make_router() -> Router:
    router = Router()

    @router.command("note", roles=None)
    async def note(ctx: Ctx) -> None:
        ctx.goto("notes", "collect", items=[])
        ctx.reply("start.cancelled")

    @router.step("notes", "collect")
    async def collect(ctx: Ctx) -> None:
        await asyncio.sleep(0)  # let other sessions interleave
        ctx.goto("notes", "collect", items=[*ctx.data["items"], ctx.inbound.text])

    @router.command("boom", roles=None)
    async def boom(ctx: Ctx) -> None:
        raise RuntimeError("a bug")

    @router.command("halfway", roles=None)
    async def halfway(ctx: Ctx) -> None:
        ctx.session.add(Customer(name="should vanish", phone="123456"))
        await ctx.session.flush()
        raise DomainError("bad_phone", value="x")

    @router.callback("acc", roles=None)
    async def accept(ctx: Ctx) -> None:
        ctx.reply("start.welcome_back", name=ctx.inbound.callback_data or "")

    return router


@pytest.fixture
async def core(app: App, tmp_path: Path) -> Core:
    async with app.db.write() as s:  # users 7 and 8 have joined (dialog steps are for known people)
        for user in ("7", "8"):
            person = Person(name=f"P{user}", role=Role.ENGINEER)
            s.add(person)
            await s.flush()
            s.add(ChannelIdentity(person_id=person.id, channel=Channel.TELEGRAM, external_user_id=user,
                                  chat_id=user))
    return Core(app, make_router(), MediaStore(tmp_path / "media"))


async def outbox(app: App) -> list[OutboxMessage]:
    async with app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_one_session_in_order_others_in_parallel(core: Core, app: App) -> None:
    await core.handle(inbound(1, command="note"))
    await core.handle(inbound(2, user="8", command="note"))
    texts = [f"line {i}" for i in range(15)]
    await asyncio.gather(*(core.handle(inbound(10 + i, text=t)) for i, t in enumerate(texts)),
                         *(core.handle(inbound(100 + i, user="8", text=t)) for i, t in enumerate(texts)))
    async with app.db.read() as s:
        for user in ("7", "8"):
            state = await s.get(ConversationState, f"tg:{user}:{user}")
            assert state.data["items"] == texts


async def test_a_resent_update_is_handled_once(core: Core, app: App) -> None:
    await core.handle(inbound(5, command="note"))
    await core.handle(inbound(5, command="note"))
    assert len(await outbox(app)) == 1
    async with app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(InboundEvent)) == 1


async def test_domain_error_rolls_back_and_answers_one_line(core: Core, app: App) -> None:
    await core.handle(inbound(6, command="halfway"))
    [row] = await outbox(app)
    assert row.payload["text"] == "\"x\" is not a phone number." and row.purpose == "error"
    async with app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == 0


async def test_a_crash_apologises_and_records_the_update(core: Core, app: App) -> None:
    await core.handle(inbound(9, command="boom"))
    [row] = await outbox(app)
    assert row.payload["text"] == "Sorry, something went wrong on our side. Please try again in a minute."
    await core.handle(inbound(9, command="boom"))  # the resend is dropped, not retried forever
    assert len(await outbox(app)) == 1


async def test_text_fallback_for_buttons(core: Core, app: App) -> None:
    message = Outbound(text="New job", buttons=[[Button("Accept", "acc:12"), Button("Decline", "dec:12")]])
    assert render_text(message) == "New job\nAccept: /_acc_12\nDecline: /_dec_12"
    assert data_from_command("_acc_12") == "acc:12" and data_from_command("help") is None
    with pytest.raises(ValueError):
        command_for("sign_off:1")
    await core.handle(inbound(11, command="_acc_12"))
    [row] = await outbox(app)
    assert row.payload["text"] == "Welcome back, acc:12."
    await core.handle(inbound(12, command="_zzz_1"))
    assert (await outbox(app))[-1].payload["text"] == "That button is out of date."
