"""DESIGN §3/§4.1/§4.3: the layers, checked on the source.

* handlers, models and scheduler never import a chat SDK; models hold no text;
* imports point down — nothing below ``bot/`` imports ``bot/`` at run time, ``models/`` imports
  neither handlers nor scheduler, handlers never import the scheduler (jobs sit beside the flows
  and may use what handlers share: cards, the push path);
* flows never import other flows (what they share is a module of its own);
* no import-time side effects: a flow collects its routes on its own ``routes`` and the
  composition root puts them on one router (``handlers.registry.build_router``), so no flow
  registers on a global router when it is imported.

Imports under ``if TYPE_CHECKING:`` cost nothing at run time and are allowed everywhere.  The
longest chain of module-level imports among the handlers modules is printed (``pytest -s``) and
kept bounded, so the helpers do not grow back into a tower.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("aiogram", "telegram", "wechatpy", "aiohttp")
FLOWS_DIR = ROOT / "handlers" / "flows"
#: The longest chain of module-level imports allowed among handlers modules (it was 10 when flows
#: doubled as helper libraries; 6 once they stopped: flow list → flow → desk → dialogs → context →
#: messages → channel).
MAX_DEPTH = 7


def _runtime_nodes(tree: ast.AST, *, module_level: bool = False):  # noqa: ANN202
    """Every node except those under ``if TYPE_CHECKING:`` (type hints cost nothing at run time);
    with ``module_level``, also not inside functions (what importing the module runs)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            continue
        if module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        yield node
        yield from _runtime_nodes(node, module_level=module_level)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def imported_modules(path: Path, module_level: bool = False) -> frozenset[str]:
    """Dotted names this file imports at run time; ``from a import b`` gives ``a`` and ``a.b``
    (b may be a module).  Relative imports are resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in _runtime_nodes(tree, module_level=module_level):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return frozenset(found)


def imports(path: Path) -> set[str]:
    """The top-level packages this file imports at run time."""
    return {name.split(".")[0] for name in imported_modules(path) if name}


def offenders(package: str, forbidden: set[str]) -> dict[str, list[str]]:
    return {str(p.relative_to(ROOT)): sorted(imports(p) & forbidden)
            for p in sorted((ROOT / package).rglob("*.py")) if imports(p) & forbidden}


def flow_modules() -> list[Path]:
    return sorted(p for p in FLOWS_DIR.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("package", ["handlers", "models", "scheduler"])
def test_no_chat_sdk_below_the_adapters(package: str) -> None:
    assert offenders(package, set(SDKS)) == {}


@pytest.mark.parametrize("package", ["handlers", "models", "scheduler"])
def test_nothing_below_the_runtime_imports_it(package: str) -> None:
    assert offenders(package, {"bot"}) == {}


def test_models_do_not_depend_on_handlers_or_the_scheduler() -> None:
    assert offenders("models", {"handlers", "scheduler", "bot"}) == {}


def test_handlers_do_not_depend_on_the_scheduler() -> None:
    assert offenders("handlers", {"scheduler"}) == {}


def test_flows_never_import_other_flows() -> None:
    flows = {module_name(p) for p in flow_modules()}
    found = {}
    for path in flow_modules():
        own = module_name(path)
        bad = sorted(name for name in imported_modules(path)
                     if name != own and (name in flows or name == "handlers.flows"))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    assert found == {}
    init = FLOWS_DIR / "__init__.py"
    assert not imported_modules(init), "handlers/flows/__init__.py imports flows: importing one would import all"


def _module_level_calls(tree: ast.Module) -> list[ast.AST]:
    """Decorators and statements that run when the module is imported (not function bodies)."""
    found: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found += node.decorator_list
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
    return found


@pytest.mark.parametrize("path", flow_modules(), ids=lambda p: p.stem)
def test_a_flow_registers_only_on_its_own_routes(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported_names = {alias.asname or alias.name for node in ast.walk(tree)
                      if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "router" not in imported_names, "a flow imports a global router"
    own = [node for node in tree.body if isinstance(node, ast.Assign)
           and [getattr(t, "id", None) for t in node.targets] == ["routes"]]
    assert own and isinstance(own[0].value, ast.Call) and getattr(own[0].value.func, "id", None) == "Routes", \
        "a flow declares `routes = Routes()` at module level"
    registering = set()
    for node in _module_level_calls(tree):
        for call in ast.walk(node):
            if isinstance(call, ast.Attribute) and call.attr in ("command", "callback", "step", "on_reply"):
                registering.add(ast.unparse(call.value))
    assert registering <= {"routes"}, f"registers on {sorted(registering - {'routes'})} at import"


def test_no_global_router_and_every_flow_runs() -> None:
    from handlers import registry
    from handlers.flow_list import FLOWS

    tree = ast.parse((ROOT / "handlers" / "registry.py").read_text(encoding="utf-8"))
    module_level = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                    and getattr(n.value.func, "id", "") in ("Router", "Routes")]
    assert module_level == [], "handlers.registry keeps a router of its own"
    assert sorted(m.__name__ for m in FLOWS) == sorted(module_name(p) for p in flow_modules())
    first, second = registry.build_router(FLOWS), registry.build_router(FLOWS)
    assert first is not second and first.commands.keys() == second.commands.keys()
    assert registry.build_router([]).commands == {}


def handlers_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in (ROOT / "handlers").rglob("*.py")}
    return {name: {m for m in imported_modules(path, module_level=True) if m in paths and m != name}
            for name, path in paths.items()}


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest chain of imports without repeating a module (the graph is small)."""
    best: list[str] = []

    def walk(chain: list[str]) -> None:
        nonlocal best
        if len(chain) > len(best):
            best = list(chain)
        for nxt in sorted(graph[chain[-1]]):
            if nxt not in chain:
                walk([*chain, nxt])

    for start in sorted(graph):
        walk([start])
    return best


def test_import_depth_inside_handlers() -> None:
    chain = longest_chain(handlers_graph())
    print(f"\nhandlers import depth: {len(chain) - 1} ({' -> '.join(chain)})")
    assert len(chain) - 1 <= MAX_DEPTH, chain


def test_no_test_module_imports_another() -> None:
    """Test support is a package of its own (``tests/support/``: the world, the usual cast, ticket
    moves, the calendars); a test module imports from it and from ``tests.conftest``, never from
    another test module, so no test's helpers live in — or drag in — someone else's tests."""
    test_modules = {module_name(p) for p in (ROOT / "tests").rglob("test_*.py")}
    found = {str(p.relative_to(ROOT)): sorted(imported_modules(p) & test_modules)
             for p in sorted((ROOT / "tests").rglob("*.py")) if imported_modules(p) & test_modules}
    assert found == {}
