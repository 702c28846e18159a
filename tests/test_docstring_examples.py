"""Run the ``>>>`` examples of the package's docstrings with the standard library's doctest.

Every module under ``hsi/`` whose source holds ``>>> `` is imported and its examples run (one
test per module), so an example that goes stale (an output format, a name, a shape) fails
here. Examples that need a GPU, the network or a file only the user has carry
``# doctest: +SKIP``; the others run on the shipped sample (made cheap where slow).
Modules under ``hsi/viewer/`` are run only where napari imports (no viewer is opened).
"""

from __future__ import annotations

import doctest
import importlib
import random
from pathlib import Path

import numpy as np
import pytest
import torch

import hsi

PACKAGE = Path(hsi.__file__).resolve().parent
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def example_lines(path: Path) -> int:
    """Lines of ``path`` that start an example (``>>> `` after the indentation)."""
    return sum(line.lstrip().startswith(">>> ")
               for line in path.read_text(encoding="utf-8").splitlines())


def modules_with_examples() -> dict[str, Path]:
    """The modules under ``hsi/`` whose source starts an example: dotted name -> file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if not example_lines(path):
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules_with_examples()


def test_scan_finds_modules():
    """The scan must find the examples, or the test below would silently test nothing."""
    assert MODULES, f"no module under {PACKAGE} holds a '>>> ' example"
    assert "hsi.tiling" in MODULES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_docstring_examples(name: str):
    if name == "hsi.viewer" or name.startswith("hsi.viewer."):
        pytest.importorskip("napari")
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module, name)
    examples = sum(len(t.examples) for t in tests)
    expected = example_lines(MODULES[name])
    # an example doctest cannot reach (an object imported from elsewhere, a nested function)
    # would otherwise never run
    assert examples >= expected, (f"{name}: doctest finds {examples} examples, but "
                                  f"{expected} lines of its source start one")
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=False)
    report: list[str] = []
    # the examples draw from the global generators: leave them as the other tests find them
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    # the examples are small: one torch thread runs them faster on a busy CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            for test in tests:
                runner.run(test, out=report.append)
    finally:
        torch.set_num_threads(threads)
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    if runner.failures:
        pytest.fail(f"{name}: {runner.failures} of {runner.tries} examples failed\n"
                    + "".join(report), pytrace=False)
