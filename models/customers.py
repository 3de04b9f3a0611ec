"""Customers, their sites and their equipment (assets)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="customer")


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(400))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="sites")


class Asset(Base):
    """A product installed at a customer's: model, serial, purchase date → warranty."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_model_serial", "model", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    model: Mapped[str] = mapped_column(String(120))
    serial: Mapped[str | None] = mapped_column(String(120))
    purchase_date: Mapped[date | None]
    warranty_end: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def in_warranty(self, on: date) -> bool | None:
        """``None`` when unknown (no purchase date given)."""
        if self.warranty_end is None:
            return None
        return on <= self.warranty_end
