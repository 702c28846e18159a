"""Modules inside ``hsi`` import the modules they need, never the package front door.

``hsi/__init__.py`` (``hsi.open``, ``hsi.save``, ``hsi.Cube``) imports the I/O layer; a module
below it that did ``import hsi`` or ``from hsi import open`` would depend upwards on it. Only the
doors at the top, the CLI and the napari viewer, may use it. Every import counts, at module
level and inside functions (a lazy import hides a dependency, it does not remove it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import hsi

PACKAGE = Path(hsi.__file__).resolve().parent
#: Folders whose modules may use the front door: the user-facing doors.
DOORS = ("cli", "viewer")


def _submodules() -> set[str]:
    """Names ``from hsi import NAME`` may give that are modules, not front-door names."""
    return {p.stem for p in PACKAGE.glob("*.py")} | {
        p.parent.name for p in PACKAGE.glob("*/__init__.py")}


def front_door_imports(path: Path, text: str, submodules: set[str]) -> list[str]:
    """``"file:line: statement"`` of every import of the package front door in ``text``."""
    rel = path.relative_to(PACKAGE.parent)
    package = ".".join(rel.with_suffix("").parts[:-1])  # the package this module is in
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name == "hsi"]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            names = ([a.name for a in node.names if a.name not in submodules]
                     if module == "hsi" else [])
        else:
            continue
        if names:
            found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_below_the_doors_imports_the_front_door():
    submodules = _submodules()
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts == ("__init__.py",) or parts[0] in DOORS:
            continue
        offenders += front_door_imports(path, path.read_text(encoding="utf-8"), submodules)
    assert offenders == [], "\n".join(offenders)


def test_the_check_finds_front_door_imports(tmp_path):
    """The walker itself: ``import hsi`` and front-door names count, submodules do not."""
    submodules = _submodules()
    source = ("import hsi\nimport hsi.io\nfrom hsi import errors, io\n"
              "def f():\n    from hsi import open, __version__\n    from . import Cube\n")
    found = front_door_imports(PACKAGE / "fusion" / "x.py", source, submodules)
    assert [line.split(": ", 1)[1] for line in found] == [
        "import hsi", "from hsi import open, __version__"]
    found = front_door_imports(PACKAGE / "x.py", source, submodules)
    assert found[-1].endswith("from . import Cube")
