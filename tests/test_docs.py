"""The repository stands alone (issue 14): nothing points outside it (``../shared/…``, where the
design notes and the WeCom research once lived), and every relative link in the Markdown files leads
to a file the repository has (``docs/DESIGN.md``, ``docs/wecom/PROTOCOL.md``, …)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"\.\./shared\b|(?<![\w/])shared/(DESIGN|wecom|telegram-bot-api|seeds)\b")
#: Markdown links and images: [text](target) — not URLs, not anchors within the page.
LINK = re.compile(r"\]\(([^)\s]+)\)")
#: Too large to read for a reference, and never prose.
SKIP_SUFFIXES = {".json", ".png", ".jpg", ".db", ".pyc", ".xlsx"}


def repository_files() -> list[Path]:
    """Tracked files and new ones not ignored (so a file about to be committed counts too)."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                                capture_output=True, check=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_nothing_points_outside_the_repository() -> None:
    offenders = []
    for path in repository_files():
        if path.suffix in SKIP_SUFFIXES or path == Path(__file__):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                      if OUTSIDE.search(line)]
    assert offenders == []


def test_relative_links_in_the_docs_lead_somewhere() -> None:
    broken = []
    for path in repository_files():
        if path.suffix != ".md":
            continue
        for target in LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            file = (path.parent / target.split("#", 1)[0]).resolve()
            if not file.exists() or ROOT not in file.parents:
                broken.append(f"{path.relative_to(ROOT)} → {target}")
    assert broken == []


def test_the_design_notes_the_code_cites_are_here() -> None:
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    for heading in ("## 2. The rules the product enforces", "## 3. Architecture", "## 4. Conventions"):
        assert heading in design
    protocol = (ROOT / "docs" / "wecom" / "PROTOCOL.md").read_text(encoding="utf-8")
    for section in ("## 1. Receive-message callback", "## 2. Crypto", "## 7. Identity", "## 9. Emulator scope"):
        assert section in protocol, section
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/DESIGN.md)" in readme and "](docs/wecom/PROTOCOL.md)" in readme
