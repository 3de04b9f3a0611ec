"""What happens on the job: check-ins, their photos, supervisor acknowledgements, sign-offs,
feedback, parts requests and complaints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.enums import (
    Channel,
    CheckinKind,
    FeedbackSource,
    PartsStatus,
    SignoffMethod,
    db_enum,
)


class Checkin(Base):
    """An arrival or progress report.  ``client_at`` is when the phone took it (it may have been
    offline), ``server_at`` when it reached us; both are kept and shown.

    Where the engineer was, as the server vouches for it (issue 15): ``location_source`` says how
    the place came (``"live"``: Telegram live location, ``"pin"``: a one-off location; None: no
    location), ``distance_m`` how far it was from the site's known coordinates (None: the site had
    none), ``off_site`` whether that is beyond ``[evidence] geofence`` (accepted, but flagged), and
    ``site_located`` that the site had no coordinates and took them from this arrival."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_engineer_time", "engineer_id", "server_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[CheckinKind] = mapped_column(db_enum(CheckinKind, "checkin_kind"))
    text: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    client_at: Mapped[datetime | None]
    server_at: Mapped[datetime] = mapped_column(default=utcnow)
    location_source: Mapped[str | None] = mapped_column(String(8))
    distance_m: Mapped[float | None]
    off_site: Mapped[bool] = mapped_column(default=False)
    site_located: Mapped[bool] = mapped_column(default=False)

    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")
    acknowledgement: Mapped[Acknowledgement | None] = relationship(back_populates="checkin")


class Attachment(Base):
    """A photo or file: the channel's own reference plus our content-addressed copy.

    ``path``/``sha256`` are the photo exactly as received (kept for audit).  ``stamped_path`` /
    ``stamped_sha256`` are the server's stamped copy (ticket number, times, place drawn on it,
    :mod:`handlers.stamp`): a pure function of stored data, made after the commit and re-made
    identically when missing.  ``as_file``: sent uncompressed (a document), so its EXIF survived:
    ``exif_lat``/``exif_lon``/``exif_taken_at`` (UTC) are what the camera recorded, if anything."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"), index=True)
    signoff_id: Mapped[int | None] = mapped_column(ForeignKey("signoffs.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    channel: Mapped[Channel] = mapped_column(db_enum(Channel, "channel"))
    file_ref: Mapped[str] = mapped_column(String(255))
    path: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    mime: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    as_file: Mapped[bool] = mapped_column(default=False)
    exif_lat: Mapped[float | None]
    exif_lon: Mapped[float | None]
    exif_taken_at: Mapped[datetime | None]
    stamped_path: Mapped[str | None] = mapped_column(String(255))
    stamped_sha256: Mapped[str | None] = mapped_column(String(64))


class Acknowledgement(Base):
    """A check-in waiting for the supervisor's answer (需收到上司回复), and the chase's state."""

    __tablename__ = "acknowledgements"
    __table_args__ = (
        Index("ix_ack_next_reminder", "next_reminder_at", sqlite_where=text("acked_at IS NULL"),
              postgresql_where=text("acked_at IS NULL")),
        Index("ix_ack_supervisor_open", "supervisor_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"), unique=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_at: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    next_reminder_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    checkin: Mapped[Checkin] = relationship(back_populates="acknowledgement")


class Signoff(Base):
    """The customer's acceptance of the service report: in chat, or a photo of the signed paper."""

    __tablename__ = "signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    method: Mapped[SignoffMethod] = mapped_column(db_enum(SignoffMethod, "signoff_method"))
    signer_name: Mapped[str | None] = mapped_column(String(120))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    source: Mapped[FeedbackSource] = mapped_column(db_enum(FeedbackSource, "feedback_source"))
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PartsRequest(Base):
    __tablename__ = "parts_requests"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    part: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[PartsStatus] = mapped_column(db_enum(PartsStatus, "parts_status"), default=PartsStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Complaint(Base):
    """Recorded against the ticket and the engineer (DESIGN §2); listed until answered."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_open", "created_at", sqlite_where=text("answered_at IS NULL"),
                            postgresql_where=text("answered_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    customer_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    answer: Mapped[str | None] = mapped_column(Text)
