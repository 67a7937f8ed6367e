"""The package's modules depend on each other one way: no import cycle, and the core and the
record types' descriptors import nothing of Pulumi's.

The graph is built from the source: every `import` and `from ... import` a module runs, at any
depth (an import inside a function too), but not those under `if TYPE_CHECKING:`, which only a
type checker follows.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nexudus_pulumi

PACKAGE = Path(nexudus_pulumi.__file__).parent

BEING_REMOVED = frozenset(
    {
        # pacing <-> paceledger: the pace ledger moves out of pacing's way (another branch).
        frozenset({"nexudus_pulumi.pacing", "nexudus_pulumi.paceledger"}),
    }
)
"""Known cycles that other work removes; each is allowed only as the exact set of its modules."""

CORE = (
    "nexudus_pulumi.lifecycle",
    "nexudus_pulumi.custody",
    "nexudus_pulumi.adoption",
    "nexudus_pulumi.gateway",
    "nexudus_pulumi.listing",
    "nexudus_pulumi.census",
    "nexudus_pulumi.descriptor",
    "nexudus_pulumi.kinds",
)
"""The core and the registry: what any front door, the CLI and the docs build on."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str]) -> Iterator[str]:
    """The package's modules that `path` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            stem = node.module or ""
            head = f"{base}.{stem}".strip(".") if node.level else stem
            submodules = [f"{head}.{alias.name}" for alias in node.names]
            # `from . import chatroom` imports the submodule; `from .x import Y` the module x
            targets = [m for m in submodules if m in modules] or [head]
        else:
            continue
        yield from (target for target in targets if target in modules and target != name)


def graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: set(imported(path, name, modules)) for name, path in paths.items()}


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(graph())
    assert [sorted(cycle) for cycle in found if cycle not in BEING_REMOVED] == []


def test_a_cycle_is_found() -> None:
    """The check itself: a cycle of three, and a chain that is none."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_core_imports_nothing_of_pulumi() -> None:
    """The core's modules, and every module they import, name no Pulumi module: a second front
    door (the plugin) or the CLI reuses them without the dynamic providers."""
    edges = graph()
    seen: set[str] = set()
    todo = list(CORE)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(edges[name] - {"nexudus_pulumi"})
    offenders = sorted(name for name in seen if _imports_pulumi(name))
    assert offenders == []


def test_the_registry_loads_without_pulumi() -> None:
    """In a fresh interpreter: the kinds and their descriptors, and no `pulumi` or `grpc`."""
    code = (
        "import sys; sys.modules['nexudus_pulumi'] = type(sys)('nexudus_pulumi'); "
        f"sys.modules['nexudus_pulumi'].__path__ = [{str(PACKAGE)!r}]; "
        "from nexudus_pulumi.kinds import KINDS; "
        "assert [k.spec.record_name for k in KINDS]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'grpc')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _imports_pulumi(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for node in ast.walk(ast.parse(source.read_text())):  # TYPE_CHECKING blocks included
        if isinstance(node, ast.Import) and any(_is_pulumi(alias.name) for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and _is_pulumi(node.module or ""):
            return True
    return False


def _is_pulumi(module: str) -> bool:
    return module.split(".")[0] in ("pulumi", "grpc")
