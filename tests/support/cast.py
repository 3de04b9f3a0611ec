"""The usual cast: team North's supervisor, dispatcher and engineers and a customer, as chat user
ids, joining the way people do (an invite, a ticket link), and finding their person rows."""

from __future__ import annotations

from sqlalchemy import select

from models.enums import Role
from models.people import ChannelIdentity, Person
from tests.support.world import World

#: Wang Wei (supervisor), Chen Jing (dispatcher), Li Lei and Zhao Min (engineers), and a customer.
SUP, DSP, ENG, ENG2, CUST = 100, 101, 200, 300, 900


async def team(w: World, *, sup_lang: str | None = None, eng_lang: str | None = None,
               second_engineer: bool = False) -> None:
    """Wang Wei and Li Lei join team North (and Zhao Min with ``second_engineer``)."""
    await w.join(SUP, Role.SUPERVISOR, "Wang Wei", lang=sup_lang)
    await w.join(ENG, Role.ENGINEER, "Li Lei", lang=eng_lang)
    if second_engineer:
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")


async def join_customer(w: World, uid: int, ticket, name: str, lang: str = "en") -> int:  # noqa: ANN001
    """The ticket's customer contact opens the ticket link (what ``/new`` hands out) as ``uid``;
    the welcome is marked seen."""
    token = await w.invite(Role.CUSTOMER, name, team=None, customer_id=ticket.customer_id, ticket_id=ticket.id)
    await w.redeem(uid, token, name=name, lang=lang, customer=True)
    return uid


async def pid(w: World, uid: int) -> int:
    """The person id of chat user ``uid``."""
    async with w.app.db.read() as s:
        return await s.scalar(select(ChannelIdentity.person_id)
                              .where(ChannelIdentity.external_user_id == w.address(uid)))


async def person_id(w: World, name: str) -> int:
    """The person id of whoever is called ``name``."""
    async with w.app.db.read() as s:
        return await s.scalar(select(Person.id).where(Person.name == name))
