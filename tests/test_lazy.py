"""Package front doors that load their names on first use (:mod:`hsi.lazy`)."""

from __future__ import annotations

import sys
import types

import pytest

from hsi.lazy import lazy_attributes
from tests.probes import fresh_stdout


def test_names_load_on_first_use_and_stay(monkeypatch):
    module = types.ModuleType("fake_pkg")
    monkeypatch.setitem(sys.modules, "fake_pkg", module)
    module.__getattr__, module.__dir__ = lazy_attributes(
        "fake_pkg", {"dumps": "json", "sqrt": "math"})
    assert "dumps" not in vars(module)
    import json

    assert module.dumps is json.dumps
    assert vars(module)["dumps"] is json.dumps  # cached: __getattr__ is not asked again
    assert {"dumps", "sqrt"} <= set(dir(module))
    with pytest.raises(AttributeError, match="module 'fake_pkg' has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_light_submodules_do_not_import_torch():
    """The grid check, the scene driver, evaluation and splits load without torch; the
    front doors still give every public name."""
    probe = (
        "import sys\n"
        "import hsi.fusion.grid, hsi.fusion.scene, hsi.classification.evaluate\n"
        "import hsi.classification.splits, hsi.cli.main\n"
        "light = 'torch' not in sys.modules\n"
        "import hsi.fusion, hsi.classification\n"
        "names = [getattr(m, n) for m in (hsi.fusion, hsi.classification) for n in m.__all__]\n"
        "print(light, len(names), 'torch' in sys.modules)\n"
    )
    assert fresh_stdout(probe).split() == ["True", "18", "True"]
