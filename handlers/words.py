"""What people type for a time, a count, a rating or "I'm done", in Chinese or English.

Engineers type on a phone between two jobs: ``半小时``, ``一个半小时``, ``两个``, ``1h30``; customers
answer a rating with ``4``, ``四星`` or ``★★★★``.  Each parser here takes one answer and gives the
value, or None when the text is not one (the step then answers with its own short line, as for
any other bad answer).  Pure functions: no database, no catalog.

Chinese numerals: 零/〇 一 二/两/俩 三 … 九 with 十 百 千 (``十五`` 15, ``二十`` 20, ``两百零五``
205, colloquial ``一百五`` 150); Arabic digits, full-width ones too, and decimals where a time
allows them (``1.5小时``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
           "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十百千]+)"
_H = r"(?:小时|钟头|h|hr|hrs|hour|hours)"
_M = r"(?:分钟|分|m|min|mins|minute|minutes)"
_D = r"(?:天|d|day|days)"
_HOURS = re.compile(rf"^(?P<h>{_NUM})个?(?P<half>半)?个?{_H}"
                    rf"(?:(?P<m>{_NUM}){_M}?|(?P<q>{_NUM})刻钟?|(?P<half2>半))?$")
_HALF_HOUR = frozenset({"半小时", "半个小时", "半个钟头", "半钟头", "halfanhour", "halfhour", "half-hour"})
_AN_HOUR = frozenset({"anhour", "onehour"})
_QUARTERS = re.compile(rf"^(?P<q>{_NUM})刻钟?$")
_MINUTES = re.compile(rf"^(?P<m>{_NUM}){_M}?$")
_DAYS = re.compile(rf"^(?P<d>{_NUM})个?{_D}$")
#: Measure words after a count: ``两个``, ``3件``, ``5 pcs``.
_COUNT = re.compile(rf"^[x×]?(?P<n>{_NUM})(?:个|件|只|台|块|套|根|条|片|支|把|张|颗|盒|包|卷|组|副|对|瓶|桶|米|"
                    r"pcs|pc|pieces|piece|units|unit|x|×)?$")
_RATING = re.compile(r"^(?P<n>[1-5一二两三四五])(?:颗星|星|分|星好评|stars?|/5)?$")
_STARS = frozenset("★⭐🌟")
#: Typed alone during a progress check-in: the same as pressing **Done**.  Only whole answers
#: (``完成了主板更换`` is a note); ``搞定`` / ``ok`` stay notes (they say something about the job).
DONE_WORDS = frozenset({"done", "finish", "finished", "submit", "send", "完成", "完毕", "好了", "提交",
                        "发送", "结束", "就这些"})
_END_PUNCTUATION = " .。!！~～"


#: Full-width ASCII (``１２``, ``ｈ``) → ASCII; nothing else is folded (a superscript ² is not a 2).
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def compact(text: str) -> str:
    """Full-width forms folded (``１２`` → ``12``), lower case, no spaces."""
    return re.sub(r"\s+", "", (text or "").translate(_FULL_WIDTH)).lower()


def chinese_int(text: str) -> int | None:
    """A Chinese numeral up to 9999 (``十五``, ``二十``, ``两百零五``, ``一百五``); None otherwise."""
    if not text:
        return None
    total, digit, last_unit, zero = 0, None, 10_000, False
    for ch in text:
        if ch in "零〇":
            if total == 0 or digit is not None or zero:
                return None
            zero = True
        elif ch in _DIGITS:
            if digit is not None:
                return None  # 五五
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit >= last_unit or (digit is None and (total or zero)):
                return None  # 十百, 一百十, 一百零十
            total += (1 if digit is None else digit) * unit
            digit, last_unit, zero = None, unit, False
        else:
            return None
    if digit is not None:
        # 一百五 is 150 (a digit straight after 百 or 千 counts the next place), 一百零五 is 105.
        total += digit * (last_unit // 10) if last_unit >= 100 and last_unit != 10_000 and not zero else digit
    return total or None


def number(text: str) -> Fraction | None:
    """Digits (``12``, ``1.5``) or a Chinese numeral, as an exact number; None otherwise."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text or ""):
        return Fraction(text)
    value = chinese_int(text)
    return None if value is None else Fraction(value)


#: Longer than this is no time anyone types on purpose (and beyond what a timedelta holds).
_MAX_MINUTES = 366 * 24 * 60


def _whole_minutes(minutes: Fraction) -> timedelta | None:
    ok = minutes.denominator == 1 and minutes <= _MAX_MINUTES
    return timedelta(minutes=int(minutes)) if ok else None


def duration(text: str) -> timedelta | None:
    """A time span: ``半小时``, ``一个半小时``, ``两个小时``, ``三刻钟``, ``四十分钟``, ``两天``,
    ``1.5小时``, ``1h30``, ``1 h 30 m``, ``90 min`` or bare minutes (``90``, ``四十``); None when
    the text is none of these (or not a whole number of minutes)."""
    raw = compact(text)
    if not raw:
        return None
    if raw in _HALF_HOUR:
        return timedelta(minutes=30)
    if raw in _AN_HOUR:
        return timedelta(hours=1)
    if match := _HOURS.match(raw):
        hours = number(match["h"])
        if hours is None or (match["half"] and hours.denominator != 1) or (match["half"] and match["half2"]):
            return None
        minutes = hours * 60 + (30 if match["half"] or match["half2"] else 0)
        if match["m"] is not None:
            extra = number(match["m"])
            if extra is None or extra >= 60 or hours.denominator != 1:
                return None
            minutes += extra
        if match["q"] is not None:
            quarters = number(match["q"])
            if quarters is None or not 1 <= quarters <= 3:
                return None
            minutes += quarters * 15
        return _whole_minutes(minutes)
    for pattern, size in ((_QUARTERS, 15), (_MINUTES, 1), (_DAYS, 24 * 60)):
        if match := pattern.match(raw):
            value = number(match[1])
            return None if value is None else _whole_minutes(value * size)
    return None


def count(text: str) -> int | None:
    """A whole count: ``3``, ``两个``, ``十个``, ``二十``, ``5件``, ``3 pcs``; None otherwise."""
    match = _COUNT.match(compact(text))
    value = number(match["n"]) if match else None
    return int(value) if value is not None and value.denominator == 1 else None


def rating(text: str) -> int | None:
    """A rating 1–5 typed instead of pressed: ``4``, ``4星``, ``四星``, ``五星好评``, ``4/5``,
    ``★★★★`` (empty stars ☆ after them are allowed); None otherwise."""
    raw = compact(text).replace("\ufe0f", "")
    if raw and set(raw) <= _STARS | {"☆"} and raw.rstrip("☆") and set(raw.rstrip("☆")) <= _STARS:
        stars = len(raw.rstrip("☆"))
        return stars if stars <= 5 and len(raw) <= 5 else None
    match = _RATING.match(raw)
    if match is None:
        return None
    value = number(match["n"])
    return int(value) if value is not None else None


def is_done(text: str) -> bool:
    """Whether the whole answer is one of :data:`DONE_WORDS` (trailing ``。`` / ``!`` allowed)."""
    return compact(text).rstrip(_END_PUNCTUATION) in DONE_WORDS
