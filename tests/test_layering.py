"""The architecture as the folder list shows it: the library (kg/) never imports the service (server/),
and no two modules import each other, directly or through others (imports inside functions included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from kg.config import ROOT

PACKAGES = ("kg", "server")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module of kg and server, with the modules of kg and server it imports anywhere in its body."""
    modules = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                # `from server import api` imports the module server.api when there is one
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def test_the_library_never_imports_the_service():
    offenders = {module: sorted(t for t in targets if t.split(".")[0] == "server")
                 for module, targets in _imports().items() if module.split(".")[0] == "kg"}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_no_import_cycles():
    graph = _imports()
    # A package's __init__ importing its own submodules (to register them) is not a cycle of concepts.
    edges = {m: {t for t in targets if not (m == t.rpartition(".")[0] or t == m.rpartition(".")[0])}
             for m, targets in graph.items()}
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_using_the_library_loads_nothing_of_the_service():
    code = ("import sys, kg.store, kg.load, kg.cli, kg.client, kg.queries; "
            "print(sorted(m for m in sys.modules if m == 'server' or m.startswith('server.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert loaded.stdout.strip() == "[]"
