"""The domain: ORM tables, the ticket lifecycle, storage and repositories.

No chat SDK import and no message text here; handlers and the CLI turn these into words.
Importing this package registers every table on ``Base.metadata`` (Alembic needs them all).
"""

from models.approvals import MonthApproval
from models.base import Base, utcnow
from models.customers import Asset, Customer, Site
from models.people import ChannelIdentity, Invite, Person, Team
from models.runtime import ChannelState, ConversationState, InboundEvent, Instance, OutboxMessage
from models.service_reports import ServiceReport
from models.tickets import Ticket, TicketCounter, TicketEvent
from models.work import (
    Acknowledgement,
    Attachment,
    Checkin,
    Complaint,
    Feedback,
    PartsRequest,
    Signoff,
)

__all__ = [
    "Acknowledgement", "Asset", "Attachment", "Base", "ChannelIdentity", "ChannelState", "Checkin", "Complaint",
    "ConversationState", "Customer", "Feedback", "InboundEvent", "Instance", "Invite", "MonthApproval", "OutboxMessage",
    "PartsRequest", "Person", "ServiceReport", "Signoff", "Site", "Team", "Ticket", "TicketCounter", "TicketEvent",
    "utcnow",
]
