"""DESIGN §4.1/§3: handlers, models and scheduler never import a chat SDK; models hold no text."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("aiogram", "telegram", "wechatpy", "aiohttp")


def _runtime_nodes(tree: ast.AST):  # noqa: ANN202
    """Every node except those under ``if TYPE_CHECKING:`` (type hints cost nothing at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ["handlers", "models", "scheduler"])
def test_no_chat_sdk_below_the_adapters(package: str) -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(imports(p) & set(SDKS))
                 for p in (ROOT / package).rglob("*.py") if imports(p) & set(SDKS)}
    assert offenders == {}


def test_models_do_not_depend_on_handlers_or_the_runtime() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(imports(p) & {"handlers", "bot"})
                 for p in (ROOT / "models").rglob("*.py") if imports(p) & {"handlers", "bot"}}
    assert offenders == {}
