"""The layers of ARCHITECTURE.md hold: read from the source's imports, so a bad one fails naming its line.

- `core` (the request path) never imports a platform, the admin API or the wiring (`app`, `registry`);
- `world` (state without HTTP) never imports aiohttp, the request path, a platform or the admin API;
- a platform never imports another platform, nor the admin API;
- `client` (the admin client) imports nothing of the server: it speaks HTTP, to this process's
  server or one in Docker alike; and the server imports neither it nor the pytest plugin;
- module-level imports form no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import instancemock

SRC = Path(instancemock.__file__).resolve().parent
PACKAGE = "instancemock"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SRC.rglob("*.py")}


def imports(path: Path, top_level_only: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every import; `from pkg import name` counts as `pkg.name` where that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield node.lineno, candidate if candidate in MODULES else node.module


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


RULES: list[tuple[str, tuple[str, ...]]] = [
    (
        "instancemock.core",
        ("instancemock.platforms", "instancemock.admin", "instancemock.app", "instancemock.registry"),
    ),
    (
        "instancemock.world",
        ("aiohttp", "instancemock.core", "instancemock.platforms", "instancemock.admin", "instancemock.app"),
    ),
    ("instancemock.admin", ("instancemock.platforms", "instancemock.app", "instancemock.registry")),
    ("instancemock.client", ("instancemock",)),
    *(
        (server, ("instancemock.client", "instancemock.pytest_plugin"))
        for server in ("instancemock.core", "instancemock.world", "instancemock.admin", "instancemock.platforms")
    ),
]


def test_each_layer_imports_only_what_it_may() -> None:
    offences = []
    for name, path in MODULES.items():
        for layer, forbidden in RULES:
            if not inside(name, layer):
                continue
            for line, imported in imports(path):
                if any(inside(imported, banned) for banned in forbidden):
                    offences.append(f"{path.relative_to(SRC.parent)}:{line}: {layer} must not import {imported}")
    assert not offences, "\n".join(offences)


def test_a_platform_imports_no_other_platform() -> None:
    offences = []
    for name, path in MODULES.items():
        if not inside(name, "instancemock.platforms") or name == "instancemock.platforms":
            continue
        own = ".".join(name.split(".")[:3])
        for line, imported in imports(path):
            if inside(imported, "instancemock.platforms") and not inside(imported, own):
                offences.append(f"{path.relative_to(SRC.parent)}:{line}: {own} imports {imported}")
    assert not offences, "\n".join(offences)


def test_module_level_imports_form_no_cycle() -> None:
    graph = {
        name: sorted({imported for _, imported in imports(path, top_level_only=True) if imported in MODULES})
        for name, path in MODULES.items()
    }
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "open"
        stack.append(name)
        for target in graph[name]:
            if inside(name, target):  # a module may use its own package's __init__ (parent) freely
                continue
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))
