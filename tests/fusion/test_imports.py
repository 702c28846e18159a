"""The modules of :mod:`hsi.fusion` import each other without a cycle.

The graph counts every import, at module level *and* inside functions: a lazy import only hides
a cycle (``api → fit → train → api`` was one), it does not remove the dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hsi.fusion

PACKAGE = "hsi.fusion"
FOLDER = Path(hsi.fusion.__file__).resolve().parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _imported(node: ast.AST) -> list[str]:
    """Absolute module names an import statement names (``from a import b`` gives a and a.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` from ``{module: source}``."""
    graph: dict[str, set[str]] = {}
    for name, text in sources.items():
        targets = {t for node in ast.walk(ast.parse(text)) for t in _imported(node)}
        graph[name] = {t for t in targets if t in sources and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _fusion_sources() -> dict[str, str]:
    return {_module_name(p): p.read_text(encoding="utf-8") for p in sorted(FOLDER.glob("*.py"))}


def test_fusion_has_no_import_cycle():
    graph = import_graph(_fusion_sources())
    assert {"hsi.fusion.api", "hsi.fusion.fit", "hsi.fusion.train"} <= set(graph)
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_training_and_fusion_share_checkpoint_io():
    graph = import_graph(_fusion_sources())
    assert "hsi.fusion.checkpoints" in graph["hsi.fusion.train"]
    assert "hsi.fusion.checkpoints" in graph["hsi.fusion.api"]
    assert "hsi.fusion.api" not in graph["hsi.fusion.train"]


def test_public_names_unchanged():
    from hsi.fusion import api, checkpoints

    assert hsi.fusion.load_infn is checkpoints.load_infn is api.load_infn
    assert hsi.fusion.save_infn is checkpoints.save_infn is api.save_infn
    assert set(hsi.fusion.__all__) >= {"fuse", "load_infn", "save_infn", "train_infn",
                                       "fit_scene", "check_pair", "INFN", "InfnConfig"}


def test_the_checker_finds_lazy_cycles():
    sources = {
        "p.a": "from p.b import f\n",
        "p.b": "import os\nfrom p import c\n",
        "p.c": "def g():\n    from p.a import h\n",
        "p.d": "import p.a\n",
    }
    sources = {k.replace("p.", f"{PACKAGE}."): v.replace("p.", f"{PACKAGE}.").replace(
        "from p import", f"from {PACKAGE} import") for k, v in sources.items()}
    graph = import_graph(sources)
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == 4
    del sources[f"{PACKAGE}.c"]
    assert find_cycle(import_graph(sources)) is None
