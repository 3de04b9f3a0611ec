"""Invites: single-use, expiring join tokens for staff and per-ticket customer links.

The token itself is shown once (deep link / QR) and only its SHA-256 is stored.  Redeeming is a
conditional UPDATE (``used_at IS NULL``), so two people racing with one link cannot both join.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Channel, Role
from models.errors import DomainError
from models.people import ChannelIdentity, Invite, Person, Team

TOKEN_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def new_token() -> str:
    """22 URL-safe characters (128 bits); fits Telegram's 64-character ``start`` parameter."""
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def team_by_name(session: AsyncSession, name: str, *, create: bool = False) -> Team | None:
    team = await session.scalar(select(Team).where(Team.name == name))
    if team is None and create:
        team = Team(name=name)
        session.add(team)
        await session.flush()
    return team


async def create_invite(
    session: AsyncSession, *, role: Role, name: str, now: datetime, ttl: timedelta,
    team_id: int | None = None, ticket_id: int | None = None, customer_id: int | None = None,
    created_by_id: int | None = None, person_id: int | None = None,
) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError("required", field="name")
    token = new_token()
    session.add(Invite(
        token_hash=hash_token(token), role=role, name=name[:120], team_id=team_id, ticket_id=ticket_id,
        customer_id=customer_id, created_by_id=created_by_id, created_at=now, expires_at=now + ttl,
        person_id=person_id,
    ))
    await session.flush()
    return token


def _refusal(invite: Invite, why: str) -> DomainError:
    """``invite_used|invite_expired`` for a staff invite (ask the supervisor for a new one);
    ``customer_link_used|_expired|_replaced`` for a customer's ticket link (ask the desk)."""
    return DomainError(f"customer_link_{why}" if invite.role is Role.CUSTOMER else f"invite_{why}")


async def open_invite(session: AsyncSession, token: str, *, now: datetime) -> Invite:
    """The invite ``token`` stands for, if it can still be used; raises ``invite_invalid`` or
    :func:`_refusal`'s used / expired / replaced.  Writes nothing."""
    if not token or len(token) > 64 or not set(token) <= TOKEN_ALPHABET:
        raise DomainError("invite_invalid")
    invite = await session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
    if invite is None:
        raise DomainError("invite_invalid")
    if invite.used_at is not None:
        raise _refusal(invite, "used")
    if invite.revoked_at is not None:
        raise _refusal(invite, "replaced")
    if invite.expires_at <= now:
        raise _refusal(invite, "expired")
    return invite


async def claim_invite(session: AsyncSession, invite: Invite, *, now: datetime) -> Invite:
    """Mark ``invite`` used, once: of two people racing with one link, one gets "used"; a link
    replaced meanwhile (:func:`models.customer_links.issue_link`) is not claimed."""
    claimed = await session.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await session.refresh(invite)
        raise _refusal(invite, "used" if invite.used_at is not None else "replaced")
    await session.refresh(invite)
    return invite


async def redeem_invite(session: AsyncSession, token: str, *, now: datetime) -> Invite:
    """Mark the invite used (once) and return it; raises as :func:`open_invite`."""
    return await claim_invite(session, await open_invite(session, token, now=now), now=now)


def refuse_for(person: Person, invite: Invite) -> None:
    """Someone who has already joined may only use a link that fits who they are; anything else
    is refused *before* the link is claimed, so it stays valid for the person it was sent to.

    * another role (an engineer opening a customer's link, a customer a staff invite) → ``role_conflict``;
    * a customer of one customer record opening another's ticket link → ``invite_other_customer``
      (a person follows the tickets of one customer record; the link belongs to someone else).
    A customer opening another link of their own customer record is fine: they follow that
    ticket too (they already do — a customer sees every ticket of their record).
    """
    if person.role is not invite.role:
        raise DomainError("role_conflict", role=person.role.value, invited=invite.role.value)
    if invite.role is Role.CUSTOMER and person.customer_id != invite.customer_id:
        raise DomainError("invite_other_customer")


async def join(
    session: AsyncSession, token: str, *, channel: Channel, external_user_id: str, chat_id: str,
    now: datetime, language: str | None = None,
) -> tuple[Person, Invite]:
    """Redeem ``token`` for the chat user: create (or reuse) the person and link the identity.

    Every refusal comes before the claim: a refused link is not used up, whatever the caller
    does with the transaction afterwards.
    """
    invite = await open_invite(session, token, now=now)
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                      ChannelIdentity.external_user_id == external_user_id)
    )
    person = await session.get(Person, identity.person_id) if identity else None
    if person is not None:
        refuse_for(person, invite)
        if invite.person_id is not None and invite.person_id != person.id:
            raise DomainError("link_other_person")  # this chat already belongs to someone else
    await claim_invite(session, invite, now=now)
    if person is None and invite.person_id is not None:  # another chat app for an existing person
        person = await session.get(Person, invite.person_id)
        session.add(ChannelIdentity(person_id=person.id, channel=channel, external_user_id=external_user_id,
                                    chat_id=chat_id, created_at=now))
    elif person is None:
        person = Person(name=invite.name, role=invite.role, team_id=invite.team_id,
                        customer_id=invite.customer_id, language=language, created_at=now)
        session.add(person)
        await session.flush()
        session.add(ChannelIdentity(person_id=person.id, channel=channel, external_user_id=external_user_id,
                                    chat_id=chat_id, created_at=now))
    else:
        identity.chat_id = chat_id
    invite.used_by_id = person.id
    if invite.team_id and invite.role in (Role.SUPERVISOR, Role.MANAGER):
        team = await session.get(Team, invite.team_id)
        if invite.role is Role.SUPERVISOR:
            team.supervisor_id = person.id
        else:
            team.manager_id = person.id
    await session.flush()
    return person, invite
