"""People, their roles and teams, their chat identities, and invites.

Staff join by invite only and customers through a per-ticket link, so nobody gains a role by
messaging the bot.  One person may be reachable on several channels (Telegram and WeCom).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.enums import Channel, Role, db_enum


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", use_alter=True, name="fk_teams_supervisor_id_people")
    )
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", use_alter=True, name="fk_teams_manager_id_people")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supervisor: Mapped[Person | None] = relationship(foreign_keys=[supervisor_id], post_update=True)
    manager: Mapped[Person | None] = relationship(foreign_keys=[manager_id], post_update=True)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(db_enum(Role, "role"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    last_lat: Mapped[float | None]
    last_lon: Mapped[float | None]
    last_located_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])
    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="person")


class ChannelIdentity(Base):
    """Who a chat user is: (channel, external user id) → person, plus where to write to them."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(db_enum(Channel, "channel"))
    external_user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Pushes go to the identity the person used last (they may have Telegram and WeCom).
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the channel says the chat is gone (bot blocked, chat not found).
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))

    person: Mapped[Person] = relationship(back_populates="identities")


class Invite(Base):
    """A single-use, expiring join token.  Only its SHA-256 is stored: a leaked DB leaks no links."""

    __tablename__ = "invites"
    __table_args__ = (Index("ix_invites_open", "expires_at", sqlite_where=text("used_at IS NULL"),
                            postgresql_where=text("used_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(db_enum(Role, "role"))
    name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    #: A customer's ticket link replaced by a newer one before anyone opened it
    #: (:func:`models.customer_links.issue_link`): opened, it says so.
    revoked_at: Mapped[datetime | None]
    #: An invite to add another chat app to an existing person (``/link``): redeemed, it links the
    #: new identity to this person instead of making a new one.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
