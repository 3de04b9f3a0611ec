"""Approvals of monthly sheets (月度绩效考核 is approved by the manager): an append-only record
of who approved which month's sheet and what it said at that moment.

Once a month is approved its sheet is frozen: what was approved is stored here, and a later
correction in the tickets shows as a difference against it, never as a silent change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class MonthApproval(Base):
    __tablename__ = "month_approvals"
    __table_args__ = (UniqueConstraint("kind", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: which sheet: ``performance`` (the monthly performance sheet)
    kind: Mapped[str] = mapped_column(String(40))
    #: ``YYYY-MM`` in the team's time zone
    month: Mapped[str] = mapped_column(String(7))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the sheet as approved (figures per engineer, the rules and amounts in force)
    sheet: Mapped[dict[str, Any]] = mapped_column(default=dict)


@event.listens_for(MonthApproval, "before_update")
@event.listens_for(MonthApproval, "before_delete")
def _append_only(mapper: Any, connection: Any, target: MonthApproval) -> None:
    raise RuntimeError("month_approvals is append-only")
