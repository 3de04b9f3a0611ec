"""The typed-word parsers (handlers/words.py) and where they are used: a table of what people type
for a time, a count, a rating, "done" and "none", with the value each stands for; the bad ones
refused with the step's usual short line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from handlers.flows.engineer import parse_eta
from handlers.flows.parts import parse_quantity
from handlers.words import chinese_int, count, duration, is_done, rating
from models.blanks import is_blank
from models.errors import DomainError

MIN = timedelta(minutes=1)


@pytest.mark.parametrize(("text", "value"), [
    ("一", 1), ("两", 2), ("十", 10), ("十五", 15), ("二十", 20), ("二十五", 25), ("一百", 100),
    ("一百零五", 105), ("两百零五", 205), ("一百五", 150), ("两千三", 2300), ("一千零二十五", 1025),
    ("九千九百九十九", 9999),
])
def test_chinese_numerals(text: str, value: int) -> None:
    assert chinese_int(text) == value


@pytest.mark.parametrize("text", ["", "零", "五五", "十百", "一百十", "百百", "三a", "个"])
def test_not_chinese_numerals(text: str) -> None:
    assert chinese_int(text) is None


@pytest.mark.parametrize(("text", "minutes"), [
    ("半小时", 30), ("半个小时", 30), ("半个钟头", 30), ("一个半小时", 90), ("两个小时", 120), ("两个半小时", 150),
    ("三刻钟", 45), ("一刻钟", 15), ("四十分钟", 40), ("十五分钟", 15), ("两天", 2 * 24 * 60), ("1个半小时", 90),
    ("1.5小时", 90), ("1.5h", 90), ("1h30", 90), ("1h30m", 90), ("1 h 30", 90), ("90 min", 90), ("90", 90),
    ("四十", 40), ("1小时30分", 90), ("一小时一刻", 75), ("一小时半", 90), ("２０分钟", 20), ("30m", 30),
    ("45 min", 45), ("2 hours", 120), ("half an hour", 30), ("an hour", 60), ("0", 0),
])
def test_durations(text: str, minutes: int) -> None:
    assert duration(text) == minutes * MIN


@pytest.mark.parametrize("text", ["", "soon", "马上", "一会儿", "m", "h", "1h-5", "1.33h", "1小时90分",
                                  "1.5个半小时", "半天", "一小时五刻", "9" * 40, "9" * 30 + "h"])
def test_not_durations(text: str) -> None:
    assert duration(text) is None


def test_eta_takes_the_words_and_refuses_the_rest() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)
    for text, minutes in (("半小时", 30), ("一个半小时", 90), ("三刻钟", 45), ("1h30", 90), ("1.5小时", 90)):
        assert parse_eta(text, now, tz) - now == minutes * MIN
    for text, code in (("两天", "eta_too_far"), ("25h", "eta_too_far"), ("一会儿", "eta_bad"), ("0分钟", "eta_bad")):
        with pytest.raises(DomainError) as err:
            parse_eta(text, now, tz)
        assert err.value.code == code, text


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("两个", 2), ("三个", 3), ("十个", 10), ("二十", 20), ("5件", 5), ("3 pcs", 3), ("x3", 3),
    ("一套", 1), ("１２", 12),
])
def test_counts(text: str, value: int) -> None:
    assert count(text) == value
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["0", "两个半", "1.5", "two", "好几个", "1000", "-1", ""])
def test_bad_quantities_get_the_usual_line(text: str) -> None:
    with pytest.raises(DomainError) as err:
        parse_quantity(text)
    assert err.value.code == "parts_bad_quantity"


@pytest.mark.parametrize(("text", "value"), [
    ("4", 4), ("4星", 4), ("4 星", 4), ("四星", 4), ("五星好评", 5), ("4/5", 4), ("4 stars", 4), ("1 star", 1),
    ("★★★★", 4), ("★★★★☆", 4), ("⭐⭐⭐", 3), ("⭐️⭐️⭐️⭐️⭐️", 5), ("4分", 4), ("两星", 2), ("３", 3),
])
def test_ratings(text: str, value: int) -> None:
    assert rating(text) == value


@pytest.mark.parametrize("text", ["0", "6", "45", "4.5", "☆☆", "★★★★★★", "good", "4 stars please", "十"])
def test_not_ratings(text: str) -> None:
    assert rating(text) is None


@pytest.mark.parametrize(("text", "done"), [
    ("完成", True), ("完成。", True), ("好了", True), ("提交", True), ("done", True), ("Done!", True), ("完毕", True),
    ("完成了主板更换", False), ("好了，电源已恢复", False), ("ok", False), ("搞定", False), ("done with the fan", False),
])
def test_done_words(text: str, done: bool) -> None:
    assert is_done(text) is done


@pytest.mark.parametrize(("text", "blank"), [
    ("none", True), ("None", True), ("无", True), ("没有", True), ("n/a", True), ("N/A", True), ("-", True),
    ("不详", True), ("无。", True), ("", True), ("SN-0042", False), ("无锡01", False), ("NA-7", False),
])
def test_none_words(text: str, blank: bool) -> None:
    assert is_blank(text) is blank
