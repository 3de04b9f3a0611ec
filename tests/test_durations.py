from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)),
     ("3d", timedelta(days=3)), ("2w", timedelta(weeks=2)), ("1h30m", timedelta(minutes=90)),
     (" 5M ", timedelta(minutes=5)), ("0s", timedelta(0))],
)
def test_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["4 hours", "", "h", "10", "1.5h", "-3m", "3x", "4h 30m", None, 5])
def test_rejects_with_a_hint(text: object) -> None:
    with pytest.raises(DurationError, match='write e.g. "4h"'):
        parse_duration(text)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**8))
def test_format_round_trips(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
