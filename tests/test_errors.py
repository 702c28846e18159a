"""The error tree: every hsikit error is also a builtin, and no code raises the bare root."""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

import numpy as np
import pytest

import hsi.errors
from hsi.errors import HsiError

PACKAGE = Path(hsi.errors.__file__).resolve().parent

# Files owned by other work in progress (issue #16) that still raise the bare root or define
# their own Cancelled. Each entry must still be a violation: once fixed, delete it here.
PENDING_BARE_RAISES: set[str] = set()
PENDING_CANCELLED: set[str] = set()


def _modules() -> dict[str, ast.Module]:
    return {path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(PACKAGE.rglob("*.py"))}


def _is_root(node: ast.expr | None) -> bool:
    """``HsiError``, ``HsiError(...)``, ``errors.HsiError(...)`` and the like."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id == "HsiError"
    if isinstance(node, ast.Attribute):
        return node.attr == "HsiError"
    return False


def _bare_raises(tree: ast.Module) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Raise) and _is_root(node.exc)]


def _cancelled_classes(tree: ast.Module) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.name == "Cancelled"]


def test_no_bare_hsierror_raise():
    found = {name: lines for name, tree in _modules().items() if (lines := _bare_raises(tree))}
    unexpected = {name: lines for name, lines in found.items() if name not in PENDING_BARE_RAISES}
    assert not unexpected, f"raise a typed subclass of HsiError instead: {unexpected}"
    fixed = PENDING_BARE_RAISES - set(found)
    assert not fixed, f"no bare raise left in {sorted(fixed)}: drop them from the pending list"


def _builtin_raises(tree: ast.Module, names=("TypeError", "ValueError")) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
            and isinstance(node.exc.func, ast.Name) and node.exc.func.id in names]


def test_no_bare_builtin_type_or_value_error_raise():
    """A wrong argument raises a typed hsi error (also a TypeError/ValueError), which the CLI
    prints as one line; the napari docks' own checks are caught and shown by the dock."""
    found = {name: lines for name, tree in _modules().items()
             if not name.startswith("viewer/") and (lines := _builtin_raises(tree))}
    assert not found, f"raise a typed subclass of HsiError instead: {found}"


def test_one_cancelled_class():
    found = {name for name, tree in _modules().items() if _cancelled_classes(tree)}
    assert found - PENDING_CANCELLED == {"errors.py"}
    assert not PENDING_CANCELLED - found, "drop fixed files from PENDING_CANCELLED"


def test_the_checker_sees_bare_raises():
    tree = ast.parse("raise HsiError('x')\nraise errors.HsiError\nraise ConfigError('y')\n")
    assert _bare_raises(tree) == [1, 2]


def _error_classes() -> list[type[BaseException]]:
    return [obj for _, obj in inspect.getmembers(hsi.errors, inspect.isclass)
            if issubclass(obj, BaseException) and obj.__module__ == hsi.errors.__name__]


def test_error_classes_found():
    names = {cls.__name__ for cls in _error_classes()}
    assert {"HsiError", "ConfigError", "DeviceError", "DataError", "Cancelled"} <= names


@pytest.mark.parametrize("cls", [c for c in _error_classes() if c is not HsiError],
                         ids=lambda c: c.__name__)
def test_every_error_is_also_a_builtin(cls):
    assert issubclass(cls, HsiError)
    plain = {Exception, BaseException, object}
    meant = [base for base in cls.__mro__
             if base not in plain and getattr(builtins, base.__name__, None) is base]
    assert meant, f"{cls.__name__} subclasses no builtin exception besides Exception"


def test_bad_parameters_are_value_errors():
    from hsi.classification.config import GanConfig
    from hsi.classification.splits import split_labels
    from hsi.device import pick_device

    labels = np.array([[1, 2], [1, 2]])
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        pick_device("tpu")
    with pytest.raises(ValueError, match="patch_size"):
        GanConfig(patch_size=4)
    with pytest.raises(ValueError, match="exactly one of per_class and fraction"):
        split_labels(labels, per_class=1, fraction=0.5)


def test_naming_puts_the_file_in_place_of_the_parameter():
    import pytest

    from hsi.errors import DataError, HsiIOError, naming

    with pytest.raises(DataError, match=r"^scene\.tif: no valid pixel$"):
        with naming(cube="scene.tif"):
            raise DataError("cube: no valid pixel")
    with pytest.raises(HsiIOError, match=r"^labels\.tif: empty$"):  # an OSError too
        with naming(clusters="c.tif", labels="labels.tif"):
            raise HsiIOError("labels: empty")
    with pytest.raises(DataError, match=r"^the cube: untouched$"):  # not at the start
        with naming(cube="scene.tif"):
            raise DataError("the cube: untouched")


def test_cluster_commands_name_the_file_not_the_parameter(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    import hsi
    from hsi.cli.main import cli
    from hsi.cube import Cube
    from hsi.io.labels import write_class_map

    path = hsi.save(Cube(np.full((3, 4, 5), np.nan, np.float32)), tmp_path / "nan.tif")
    res = CliRunner().invoke(cli, ["cluster", str(path), "-k", "2", "-o",
                                   str(tmp_path / "c.tif")])
    assert res.exit_code == 2
    assert f"{path}: clustering needs at least 2 valid pixels" in res.output
    zeros = write_class_map(tmp_path / "zero.tif", np.zeros((4, 5), np.uint8), crs=None,
                            transform=None, class_names=["a"])
    ones = write_class_map(tmp_path / "one.tif", np.ones((4, 5), np.uint8), crs=None,
                           transform=None, class_names=["a"])
    res = CliRunner().invoke(cli, ["cluster-evaluate", str(ones), str(zeros)])
    assert res.exit_code == 2
    assert f"{zeros}: no pixel is both labelled" in res.output
