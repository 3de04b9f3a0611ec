"""Runtime tables: conversation state, the inbox, the outbox and the running instances.

They make the bot restartable and safe to run on several instances: a dialog's step lives in
the database; an inbound update is stored (the inbox) before its channel is told it arrived, and
a resent one is recognised by a unique key; every outgoing message is a row written in the same
transaction as the change that caused it; each running process has a heartbeat row, so what a
dead one had in hand (inbox rows, outbox leases) is taken over within seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.enums import Channel, InboxStatus, OutboxStatus, db_enum


class ConversationState(Base):
    __tablename__ = "conversation_states"

    session_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class InboundEvent(Base):
    """The inbox: one row per channel update ever accepted; the unique key drops resends.

    The adapter stores the update as the channel sent it (``payload``) and only then confirms it
    to the channel (getUpdates offset, webhook 200, WeCom callback 200); the core marks the row
    done in the same transaction as the update's effects and clears the payload.  A row still
    pending after a crash is handled again on start; one that keeps failing is parked with its
    error for an operator (``fieldbot inbox``), never retried forever.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbound_events_pending", "instance_id", "id", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        Index("ix_inbound_events_pending_session", "session_key", "id", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(db_enum(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[InboxStatus] = mapped_column(db_enum(InboxStatus, "inbox_status"), default=InboxStatus.DONE,
                                                server_default=InboxStatus.DONE.value)
    #: The update as the channel sent it, until it is handled (parked rows keep it).
    payload: Mapped[dict[str, Any] | None] = mapped_column()
    #: Handling attempts that failed or were cut short by a crash.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The instance that stored (or took over) the row and is to handle it.
    instance_id: Mapped[str | None] = mapped_column(String(40))
    #: The dialog it belongs to: an update is handled only after every earlier one of its session,
    #: whichever instance stored it (several instances behind a load balancer, a takeover).
    session_key: Mapped[str | None] = mapped_column(String(128))
    handled_at: Mapped[datetime | None]


class ChannelState(Base):
    """Small facts a channel keeps for every instance to share, some with an expiry: WeCom's
    access token, a card's latest single-use response code, the customer-service sync cursor."""

    __tablename__ = "channel_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)


class Instance(Base):
    """A running ``fieldbot run`` process; its heartbeat says it is alive."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(120), default="")
    pid: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "not_before", "id", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[Channel] = mapped_column(db_enum(Channel, "channel"))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[OutboxStatus] = mapped_column(db_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    #: A sender claims a row until this time; a dead instance's claims are released as soon as
    #: its heartbeat stops (``leased_by``), a live one's run out if it hangs.
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    external_message_id: Mapped[str | None] = mapped_column(String(64))
    #: Why the row exists (reply, push, reminder…), for the timeline and for debugging.
    purpose: Mapped[str | None] = mapped_column(String(40))
    #: What the message is about, e.g. ``checkin:12``, so a reply to it can be routed back.
    ref: Mapped[str | None] = mapped_column(String(60))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    #: What must still hold for the message to apply when it comes due after being held (quiet
    #: hours, a retry): see ``models.still``.  Checked by the sender; a row that no longer
    #: applies is dropped, not sent.
    valid_if: Mapped[dict[str, Any] | None] = mapped_column()
    #: A newer message with the same key replaces this one while it is still waiting.
    supersede_key: Mapped[str | None] = mapped_column(String(120), index=True)
