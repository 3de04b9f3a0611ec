"""Domain enumerations, stored as plain strings (portable, readable in SQL)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum as SAEnum


class StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value


class Role(StrEnum):
    ENGINEER = "engineer"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    CUSTOMER = "customer"


STAFF_ROLES = frozenset({Role.ENGINEER, Role.DISPATCHER, Role.SUPERVISOR, Role.MANAGER})


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WECOM = "wecom"  # staff, through the company's self-built WeCom app
    WECOM_KF = "wecom_kf"  # customers, through WeChat customer service (微信客服)
    CLI = "cli"


class ServiceType(StrEnum):
    PHONE = "phone"
    REMOTE = "remote"
    ONSITE = "onsite"


class TicketStatus(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    PAUSED = "paused"
    RESOLVED = "resolved"
    SIGNED_OFF = "signed_off"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What can happen to a ticket; every transition is one of these."""

    DISPATCH = "dispatch"
    ACCEPT = "accept"
    DECLINE = "decline"
    DEPART = "depart"  # "on my way"
    ARRIVE = "arrive"
    PAUSE = "pause"
    RESUME = "resume"
    RESOLVE = "resolve"
    SIGN_OFF = "sign_off"
    CLOSE = "close"
    CANCEL = "cancel"
    REOPEN = "reopen"
    REASSIGN = "reassign"


class CheckinKind(StrEnum):
    ARRIVAL = "arrival"
    PROGRESS = "progress"


class PauseReason(StrEnum):
    PARTS = "parts"
    CUSTOMER = "customer"
    OTHER = "other"


class SignoffMethod(StrEnum):
    CHAT = "chat"  # the customer confirmed in their own chat
    PAPER = "paper"  # photo of the signed paper form + signer name


class FeedbackSource(StrEnum):
    SIGNOFF = "signoff"
    CALLBACK = "callback"


class CallbackState(StrEnum):
    """Where a ticket's callback survey (回访) stands (``tickets.callback_state``)::

        due ──survey sent──► sent ──answered──► answered
         │                    └──callback_next_at passes──► expired ──late answer──► answered
         └──no customer in chat──► expired
    """

    DUE = "due"  # signed off: the survey goes out at callback_next_at
    SENT = "sent"  # the customer has it; expires at callback_next_at
    ANSWERED = "answered"  # rated, in chat or on the phone
    EXPIRED = "expired"  # unanswered (or nobody to ask in chat): the desk phones


class PartsStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: Held (quiet hours, a retry) until it no longer applied, or replaced by a newer message
    #: about the same thing: never sent, kept for the record.
    DROPPED = "dropped"


class InboxStatus(StrEnum):
    """Where a stored inbound update stands (see ``models.runtime.InboundEvent``)."""

    PENDING = "pending"  # stored and acknowledged to the channel, not handled yet
    DONE = "done"  # its effects are committed
    PARKED = "parked"  # kept failing; waits for an operator (``fieldbot inbox``)


def db_enum(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    """A VARCHAR column holding the enum's value: portable, and new values need no type migration."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
