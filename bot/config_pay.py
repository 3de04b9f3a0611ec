"""``[pay]``: the amounts of the monthly performance sheet (月度绩效, DESIGN §2): the service
allowance per counted job, the bonus for a month without complaints, the deduction per complaint,
and the number of complaints from which the month's bonus is lost.  Every amount is optional: one
that is not set is not shown on the sheet.  Money is exact (Decimal), written as a string or an
integer in the file (``"50"``, ``"12.50"``, ``50``); a float like ``12.5`` is refused, since binary
fractions are not money.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from bot.config_types import Section


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    bad = PydanticCustomError("money", '"{value}" is not an amount; write e.g. "50" or "12.50"', {"value": value})
    if isinstance(value, bool) or isinstance(value, float):
        raise bad
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
        raise bad
    return amount


Money = Annotated[Decimal | None, BeforeValidator(_money)]


class PaySection(Section):
    allowance_per_job: Money = None
    no_complaint_bonus: Money = None
    complaint_deduction: Money = None
    bonus_lost_from: int | None = Field(default=None, ge=1)
    currency: str = Field(default="¥", max_length=8)
