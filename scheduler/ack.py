"""Chase job under construction: acts on nothing yet."""

from __future__ import annotations


async def run(app, now) -> int:  # noqa: ANN001
    return 0
