"""The two font files every drawing uses (see README.md here): DejaVu Sans for Latin, from
matplotlib's package data, and Droid Sans Fallback for Chinese, shipped with the project.

Paths only — nothing here imports matplotlib (a renderer that needs it imports it itself)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: Chinese (and the other CJK characters); no Latin letters.
CJK_FONT = Path(__file__).with_name("DroidSansFallbackFull.ttf")


def latin_font() -> Path:
    """DejaVu Sans as matplotlib ships it (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed (DejaVu Sans comes with it)")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"


def latin_bold_font() -> Path:
    return latin_font().with_name("DejaVuSans-Bold.ttf")
