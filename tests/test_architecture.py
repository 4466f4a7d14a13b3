"""The import graph keeps its layers (README, "Architecture"): checked over the source's `ast`, every
import counted, also those inside functions.

    package root        nasbench_suite/__init__.py (hands the API's names on)
          |
    the CLI             nasbench_suite.cli and its command modules: the composition root of the program
          |
    library roots       nasbench_suite.api, .reproduction, .testing
          |
    packages            nasbench_suite.strategies    nasbench_suite.analysis    nasbench_suite.live_training
          |
    core                every other module of nasbench_suite (space, store, oracle, budget, runner, results...)

A layer imports only from layers below it (anyone may read `nasbench_suite.__version__`); the three
packages never import each other, nor do the library roots; no module imports another package's private
(underscore) names; the module graph has no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {  # source folder -> import name (pyproject.toml's package-dir mapping)
    "nasbench_suite": "nasbench_suite",
    "strategies": "nasbench_suite.strategies",
    "analysis": "nasbench_suite.analysis",
    "live_training": "nasbench_suite.live_training",
}
PACKAGES = ("nasbench_suite.strategies", "nasbench_suite.analysis", "nasbench_suite.live_training")
ROOTS = ("nasbench_suite.api", "nasbench_suite.reproduction", "nasbench_suite.testing")


def _module_name(path: Path, folder: str) -> str:
    parts = [*FOLDERS[folder].split("."), *path.relative_to(ROOT / folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(f, d): f for d in FOLDERS for f in sorted((ROOT / d).rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import of `name`, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (base, a.name, node.lineno))
    return [(m, n, line) for m, n, line in out if m == "nasbench_suite" or m.startswith("nasbench_suite.")]


EDGES = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> tuple[int, str]:
    """(height, group): 4 the package root, 3 the CLI, 2 the library roots, 1 the packages, 0 the core."""
    if module == "nasbench_suite":
        return 4, module
    if module == "nasbench_suite.cli" or module.startswith("nasbench_suite.cli."):
        return 3, "nasbench_suite.cli"
    for root in ROOTS:
        if module == root or module.startswith(root + "."):
            return 2, root
    for package in PACKAGES:
        if module == package or module.startswith(package + "."):
            return 1, package
    return 0, "core"


def _where(name: str, line: int) -> str:
    return f"{MODULES[name].relative_to(ROOT)}:{line}"


def test_every_import_points_down_or_stays_in_its_package() -> None:
    wrong = []
    for name, edges in EDGES.items():
        height, group = _layer(name)
        for target, imported, line in edges:
            if target == "nasbench_suite" and imported == "__version__":
                continue
            t_height, t_group = _layer(target)
            if t_group != group and t_height >= height:
                wrong.append(f"{_where(name, line)}: {name} ({group}) imports {target} ({t_group})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_private_name_is_imported_from_another_package() -> None:
    wrong = []
    for name, edges in EDGES.items():
        group = _layer(name)[1]
        for target, imported, line in edges:
            parts = [*target.split("."), imported or ""]
            private = [
                p for p in parts if p.startswith("_") and not (p.startswith("__") and p.endswith("__"))
            ]
            if private and _layer(target)[1] != group:
                wrong.append(f"{_where(name, line)}: {name} imports {target}.{imported or ''}")
    assert not wrong, "private names used across packages:\n" + "\n".join(wrong)


def test_the_module_graph_has_no_circle() -> None:
    graph = {
        name: {t for t, _, _ in edges if t in MODULES and t != name and t != "nasbench_suite"}
        for name, edges in EDGES.items()
    }
    # a package's __init__ importing its own submodules is how registries fill: not a circle by itself
    for name in graph:
        if MODULES[name].name == "__init__.py":
            graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_layer_map_sees_every_package(package: str) -> None:
    assert any(m.startswith(package) for m in MODULES), (
        f"no module of {package} found: the test reads the wrong tree"
    )
