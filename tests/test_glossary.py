"""The words of the catalogs (DESIGN §4.11): one term per thing, Chinese that reads as Chinese.

* every concept has one term in each language, kept in ``handlers/locales/glossary.toml``; a
  string that uses a variant the glossary forbids fails, named ``file:key``;
* zh-CN strings use full-width punctuation next to Chinese (，：；？！（）), never the ASCII ones;
* no space between Chinese and a person's or a team's name (``已派给李雷。``, not ``已派给 李雷。``);
* English plurals are words, not ``photo(s)``: a text with a count has ``.one`` / ``.other`` forms;
* user-facing Chinese lives in the catalogs, not in Python string literals (a few modules read
  Chinese that people type, and the demo's cast speaks Chinese: they are listed below).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "handlers" / "locales"
GLOSSARY = tomllib.loads((LOCALES / "glossary.toml").read_text(encoding="utf-8"))["term"]
#: Han characters, CJK punctuation and full-width forms.
CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK = re.compile(f"[{CJK}]")
#: Placeholders that hold a person's or a team's name.
NAMES = ("name", "names", "engineer", "supervisor", "manager", "customer", "contact", "who", "old", "by",
         "team")
_NAME = "|".join(NAMES)
_SPACED_NAME = re.compile(rf"[{CJK}] +\{{(?:{_NAME})\}}|\{{(?:{_NAME})\}} +[{CJK}]")
_ASCII_PUNCT = ":,;?!()"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def strings(language: str) -> list[tuple[str, str]]:
    """(``file:key``, text) for every string of one language's catalogs."""
    found = []
    for path in sorted((LOCALES / language).glob("*.toml")):
        with open(path, "rb") as fh:
            for key, text in _flatten(tomllib.load(fh)).items():
                found.append((f"{language}/{path.name}:{key}", text))
    return found


def test_the_glossary_is_whole() -> None:
    """Each entry names its concept and both terms; no chosen term is another entry's variant."""
    assert all({"concept", "en", "zh"} <= entry.keys() for entry in GLOSSARY)
    chosen = {entry["zh"] for entry in GLOSSARY} | {f for entry in GLOSSARY for f in entry.get("zh_forms", ())}
    clashes = [(term, entry["concept"], bad) for entry in GLOSSARY for bad in entry.get("zh_not", ())
               for term in chosen if bad in term and not any(ok in term for ok in entry.get("zh_ok", ()))]
    assert clashes == []


def _zh_variants(text: str) -> list[str]:
    hits = []
    for entry in GLOSSARY:
        rest = text
        for ok in entry.get("zh_ok", ()):
            rest = rest.replace(ok, "")
        hits += [f"{bad} (say {entry['zh']}: {entry['concept']})" for bad in entry.get("zh_not", ()) if bad in rest]
    return hits


def _en_variants(text: str) -> list[str]:
    return [f"{bad} (say {entry['en']}: {entry['concept']})" for entry in GLOSSARY for bad in entry.get("en_not", ())
            if re.search(rf"(?<![\w/{{-]){re.escape(bad)}(?![\w}}-])", text, re.IGNORECASE)]


def test_chinese_uses_the_glossary_terms() -> None:
    assert [f"{where}: {hit}" for where, text in strings("zh-CN") for hit in _zh_variants(text)] == []


def test_english_uses_the_glossary_terms() -> None:
    assert [f"{where}: {hit}" for where, text in strings("en") for hit in _en_variants(text)] == []


def test_the_checks_catch_variants() -> None:
    assert _zh_variants("请发送工单的进展报告") and _zh_variants("时间线：")
    assert not _zh_variants("Telegram 的用户名") and not _zh_variants("到场签到")
    assert _en_variants("send a checkin") and not _en_variants("send /checkin") and not _en_variants("of {checkin}")
    assert not _zh_variants("每日进度汇报到期未交")


def _ascii_punct_next_to_chinese(text: str) -> list[str]:
    """ASCII ``: , ; ? ! ( )`` whose nearest neighbour (spaces skipped) is Chinese."""
    bad = []
    for i, ch in enumerate(text):
        if ch not in _ASCII_PUNCT:
            continue
        before = text[:i].rstrip(" ")
        after = text[i + 1:].lstrip(" ")
        if (before and _CJK.match(before[-1])) or (after and _CJK.match(after[0])):
            bad.append(text[max(0, i - 6):i + 7])
    return bad


def test_chinese_punctuation_is_full_width() -> None:
    assert [f"{where}: …{hit}…" for where, text in strings("zh-CN")
            for hit in _ascii_punct_next_to_chinese(text)] == []


def test_the_punctuation_check() -> None:
    assert _ascii_punct_next_to_chinese("工单: FS-1") and _ascii_punct_next_to_chinese("照片(3 张)")
    assert not _ascii_punct_next_to_chinese("09:30 到场，https://a.b/c?d=1 或 /new，%(value)r")


def test_no_space_between_chinese_and_a_name() -> None:
    assert [f"{where}: {m.group(0)}" for where, text in strings("zh-CN")
            for m in _SPACED_NAME.finditer(text)] == []


def test_english_plurals_are_words() -> None:
    assert [where for where, text in strings("en") if "(s)" in text] == []


# -- Chinese in Python --------------------------------------------------------------------------
#: Modules whose Chinese string literals are not texts shown to people: the words people type
#: (parsers), the demo's cast and script (what its people say in chat), reference data.
READS_TYPED_WORDS = {
    "handlers/words.py", "handlers/register_input.py", "handlers/flows/signoff.py",
    "handlers/flows/report.py", "handlers/flows/start.py", "handlers/flows/supervisor.py",
    "handlers/flows/engineer.py", "models/blanks.py", "models/registry.py", "models/kb.py",
    "bot/csv_import.py", "bot/demo.py", "bot/demo_wecom.py",
}
#: English-only texts (CLI help, logs) that name a WeCom console setting in Chinese, as it is shown.
NAMES_WECOM_SETTINGS = {"bot/channels/wecom/client.py", "bot/cli_report.py", "bot/cli_run.py"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def chinese_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:40]!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and _CJK.search(node.value)]


def test_no_chinese_text_in_code() -> None:
    allowed = READS_TYPED_WORDS | NAMES_WECOM_SETTINGS
    found = []
    for base in ("handlers", "bot", "scheduler", "models"):
        for path in sorted((ROOT / base).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "emulator" in rel or rel in allowed:  # the emulators play WeCom's and Telegram's side
                continue
            found += chinese_literals(path)
    assert found == []


@pytest.mark.parametrize("rel", sorted(READS_TYPED_WORDS | NAMES_WECOM_SETTINGS))
def test_allowed_modules_exist(rel: str) -> None:
    assert (ROOT / rel).exists()
