"""Reading the answers of the ``/new`` registration dialog, and finding known customers.

Each parser returns the clean value or raises :class:`DomainError` with an ``reg_*`` code whose
catalog text is the *reason* shown above the re-asked question (``error.reg_*`` in
``locales/*/register.toml``).  The rules that matter for the record itself (phone format, lengths,
"not in the future") are the registry's, so chat, CLI and CSV import agree on what is valid.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func

from handlers.context import Ctx
from handlers.i18n import preview
from models.access import visible_customers
from models.customers import Customer
from models.enums import ServiceType
from models.errors import DomainError
from models.registry import normalise_phone, parse_service

#: Longest answers taken: the registry's limits (``models.registry.Registration.clean``), except the
#: fault (registry: 4000), cut to 2000 so the whole summary stays within one chat message (4096).
LIMITS = {"customer": 200, "contact": 120, "phone": 40, "address": 400, "model": 120, "serial": 120,
          "purchased": 40, "fault": 2000}
#: Known customers offered as buttons for one search.
MATCH_LIMIT = 5
#: ``2025-06-01``, ``2025/6/1``, ``2025.6.1`` and ``2025年6月1日``.
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]+$")
_YES = frozenset({"yes", "y", "billable", "是", "收费", "要收费", "需要收费"})
_NO = frozenset({"no", "n", "free", "free of charge", "否", "不", "免费", "不收费"})
#: Typed instead of a contact person's name: the desk does not know it (as the Skip button).
_SKIP = frozenset({"skip", "unknown", "-", "跳过", "不详", "不知道"})
_SERVICE_WORDS = {"on site": "onsite", "上门服务": "onsite", "电话支持": "phone", "远程支持": "remote"}


def typed_text(ctx: Ctx, field: str) -> str:
    """The typed answer for a free-text field; a photo, a location or nothing is refused."""
    text = (ctx.inbound.text or "").strip()
    if ctx.inbound.photos or ctx.inbound.location or not text:
        raise DomainError("reg_text_expected")
    if len(text) > LIMITS[field]:
        raise DomainError("reg_too_long", limit=LIMITS[field])
    return text


def looks_like_phone(text: str) -> bool:
    return bool(_PHONE_LIKE.match(text)) and sum(c.isdigit() for c in text) >= 5


def contact(text: str) -> str | None:
    """The contact person's name, or None for "skip" / "跳过" (nobody is greeted by a name)."""
    return None if text.strip().lower().rstrip(".!。！") in _SKIP else text.strip()


def phone(text: str) -> str:
    try:
        return normalise_phone(text)
    except DomainError:
        raise DomainError("reg_bad_phone", value=preview(text)) from None


def purchase_date(text: str, today: date) -> date:
    """A purchase date in the past or today (the team's local date)."""
    match = _DATE.match(text or "")
    try:
        value = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:  # 2025-02-30
        value = None
    if value is None or value.year < 1970:
        raise DomainError("reg_bad_date", value=preview(text))
    if value > today:
        raise DomainError("reg_future_date", value=value.isoformat())
    return value


def severity(raw: str) -> int:
    text = (raw or "").strip()
    if text not in ("1", "2", "3", "4"):
        raise DomainError("reg_bad_severity", value=preview(text))
    return int(text)


def service(raw: str) -> ServiceType:
    text = (raw or "").strip().lower()
    try:
        return parse_service(_SERVICE_WORDS.get(text, text))
    except DomainError:
        raise DomainError("reg_bad_service", value=preview(raw)) from None


def billable(raw: str) -> bool:
    text = (raw or "").strip().lower().rstrip(".!。！")
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise DomainError("reg_bad_billable", value=preview(raw))


async def find_customers(ctx: Ctx, text: str) -> tuple[list[Customer], bool]:
    """Known customers whose name contains ``text`` or whose phone matches it; and whether more
    matched than are offered."""
    if looks_like_phone(text):
        digits = re.sub(r"\D", "", text)
        cond = func.replace(Customer.phone, "+", "").contains(digits, autoescape=True)
    else:
        cond = func.lower(Customer.name).contains(text.lower(), autoescape=True)
    found = (await ctx.session.scalars(
        visible_customers(ctx.person).where(cond).order_by(Customer.name, Customer.id).limit(MATCH_LIMIT + 1))).all()
    return list(found[:MATCH_LIMIT]), len(found) > MATCH_LIMIT


async def visible_customer(ctx: Ctx, customer_id: int) -> Customer:
    customer = await ctx.session.scalar(visible_customers(ctx.person).where(Customer.id == customer_id))
    if customer is None:
        raise DomainError("stale_button")
    return customer
