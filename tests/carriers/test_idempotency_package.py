"""The idempotency package: its public surface, and no import cycle anywhere in carriers."""

from __future__ import annotations

import ast
from pathlib import Path

import carriers
import carriers.idempotency as idempotency
from carriers.idempotency import flow, records, stores

ROOT = Path(carriers.__file__).parent


def test_the_package_exports_what_its_modules_define() -> None:
    assert sorted(idempotency.__all__) == sorted(set(idempotency.__all__))
    for name in idempotency.__all__:
        owner = next(m for m in (records, flow, stores) if name in vars(m))
        assert getattr(idempotency, name) is getattr(owner, name)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every carriers module imported anywhere in the file, lazy imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                 else [])
        for name in names:
            if isinstance(node, ast.ImportFrom):
                # "from carriers.adapters import images" imports the module images too
                subs = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in known]
                found.update(subs)
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def test_no_module_in_carriers_is_part_of_an_import_cycle() -> None:
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    known = set(files)
    graph = {name: _imports(path, known) - {name} for name, path in files.items()}
    # a package's __init__ re-exporting its own modules is not a cycle through them
    for name in graph:
        graph[name] = {t for t in graph[name] if not (t.startswith(name + ".")
                                                      and path_is_package(files[name]))}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for target in graph[node]:
                if target == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    assert cycles == []


def path_is_package(path: Path) -> bool:
    return path.name == "__init__.py"
