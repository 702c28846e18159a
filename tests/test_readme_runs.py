"""README.md's Python examples run as written, and print what README says they print.

Every ``python`` code block of README.md that needs no data beyond the shipped sample is run
in a fresh folder holding the files it names (``scene.hdr``: the sample saved as ENVI) and the
names it leaves to the reader (``ref``, ``est``: a reference and an estimate of the sample's
size). A block whose last line is a comment showing a dict (``# {'psnr': ..., ...}``) must
return a dict with exactly those keys from its last statement. Blocks that read registered
datasets (``data.load(...)``) need the data folder and are left to the data tests.

:mod:`tests.test_readme_commands` checks README's ``hsi`` command lines against the CLI.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

#: A fenced code block: its language and its text.
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```", re.M | re.S)
#: What marks a block that needs the data folder (a registered dataset), not just the sample.
NEEDS_DATA = re.compile(r"\bdata\.load\(|\bload\(\"")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line, code)`` of README's ``python`` code blocks (``line``: the block's first line)."""
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(2))
            for m in FENCE.finditer(text) if m.group(1).lower() in ("python", "py")]


def shown_keys(code: str) -> list[str] | None:
    """The keys of the dict a block's last comment line shows (``# {'psnr': ..., ...}``),
    ``None`` when it shows none."""
    last = code.rstrip().splitlines()[-1].strip()
    if not last.startswith("# {"):
        return None
    return re.findall(r"'(\w+)':", last)


def run_block(code: str) -> object:
    """Run ``code`` in a namespace holding the names README leaves to the reader; return the
    value of its last statement when that is an expression, else ``None``."""
    from hsi.data import sample_cube

    ref = sample_cube().data[:, :80, :84]  # a multiple of README's ratio 4
    rng = np.random.default_rng(0)
    names: dict[str, object] = {
        "ref": ref, "est": ref + rng.normal(0, 0.01, ref.shape).astype(np.float32)}
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "README.md", "exec"), names)  # README's own examples
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "README.md", "eval"), names)


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))
RUNNABLE = [(line, code) for line, code in BLOCKS if not NEEDS_DATA.search(code)]


def test_readme_has_runnable_python_blocks():
    assert len(RUNNABLE) >= 2, "README's Python examples were not found"


@pytest.mark.parametrize("line,code", RUNNABLE, ids=[f"README.md:{n}" for n, _ in RUNNABLE])
def test_readme_python_block_runs(line, code, tmp_path, monkeypatch):
    import hsi
    from hsi.data import sample_cube

    monkeypatch.chdir(tmp_path)
    hsi.save(sample_cube(), "scene.hdr")  # the file README's example opens
    result = run_block(code)
    keys = shown_keys(code)
    if keys is not None:
        assert isinstance(result, dict), f"README.md:{line}: the block shows a dict"
        assert list(result) == keys, f"README.md:{line}: README shows the keys {keys}"


def test_readme_python_example_prints_fusion_scores(tmp_path, monkeypatch, capsys):
    """The first example prints the scores of ``fusion_metrics`` (a dict of the five default
    metrics), and its comments describe the sample as it is."""
    import hsi
    from hsi.data import sample_cube, sample_labels

    code = next(c for _, c in RUNNABLE if "print(fusion_metrics(" in c)
    cube = sample_cube()
    assert "Cube 204×83×86 float32, 390–2489 nm" in code
    assert (cube.shape, cube.data.dtype) == ((204, 83, 86), np.float32)
    assert (round(float(cube.wavelengths[0])), round(float(cube.wavelengths[-1]))) == (390, 2489)
    labels, names = sample_labels()
    assert "(83, 86) uint8, 6 classes" in code
    assert (labels.shape, labels.dtype, len(names)) == ((83, 86), np.uint8, 6)
    monkeypatch.chdir(tmp_path)
    hsi.save(cube, "scene.hdr")
    run_block(code)
    printed = capsys.readouterr().out
    assert re.search(r"\{'psnr': [\d.]+, 'ssim': [\d.]+, 'sam': [\d.]+, 'ergas': [\d.]+, "
                     r"'q2n': [\d.]+\}", printed), printed
    assert (tmp_path / "scene.tif").is_file()


#: The README's first example, up to opening and saving a file without georeference, in a fresh
#: interpreter (pytest's own filter hides the warning in this process).
SAMPLE_THEN_OPEN = """
from hsi.data import sample_cube, sample_labels
import hsi
cube = sample_cube()
labels, names = sample_labels()
hsi.save(cube, "scene.tif")
hsi.open("scene.tif")
"""


def test_sample_cube_keeps_the_georeference_warning_quiet(tmp_path):
    """hsikit silences rasterio's NotGeoreferencedWarning once, when :mod:`hsi.io.geotiff` is
    imported; ``sample_cube()`` imported that module inside a ``warnings.catch_warnings()``
    block, whose exit dropped the filter: README's example then printed rasterio's warning (two
    lines of it) for each file it saved or opened."""
    done = subprocess.run([sys.executable, "-c", SAMPLE_THEN_OPEN], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "NotGeoreferencedWarning" not in done.stderr, done.stderr
