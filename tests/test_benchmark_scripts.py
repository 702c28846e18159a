"""The benchmark scripts record the commit a run starts from, not the one it ends at."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py")  # gpu_bundle.py measures nothing
                 if p.name not in ("common.py", "__init__.py", "shipped_checkpoint.py",
                                   "gpu_bundle.py"))


def _module_level_imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:  # module level only: a lazy import runs at the end of a run
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_imports_common_when_it_starts(script):
    imports = _module_level_imports(ast.parse(script.read_text(encoding="utf-8")))
    sources = {"benchmarks.common", "benchmarks.fusion_cave", "benchmarks.train_aviris",
               "benchmarks.fusion_aviris"}  # these import benchmarks.common at module level
    uses_results = "append_results" in script.read_text(encoding="utf-8") or script.name in (
        "train_cave.py", "train_aviris.py")
    if uses_results:
        assert imports & sources or any(i.startswith("benchmarks.") for i in imports), (
            f"{script.name} must import benchmarks.common at module level, so COMMIT_AT_START "
            "is the commit the run started from")


def test_aviris_folds_never_train_on_their_test_or_validation_scene():
    from benchmarks.train_aviris import HOLDOUTS, training_scenes, validation_scene

    for holdout in HOLDOUTS:
        val = validation_scene(holdout)
        assert val in HOLDOUTS and val != holdout
        assert holdout not in training_scenes(holdout)
        assert val in training_scenes(holdout)  # only --validate keeps it out
        gated = training_scenes(holdout, validate=True)
        assert holdout not in gated and val not in gated and len(gated) == len(
            training_scenes(holdout)) - 1
    assert {validation_scene(h) for h in HOLDOUTS} == set(HOLDOUTS)  # each validates once


def test_ablation_table_over_seeds_from_hand_values():
    from benchmarks.fusion_cave import seed_table, variant_of, verdicts

    assert variant_of("INFN[nolr@s1]") == ("nolr", "s1")
    assert variant_of("INFN[shipped]") is None and variant_of("glp") is None
    m = lambda psnr, sam: {"psnr": psnr, "sam": sam}  # noqa: E731
    means = {("paper", 4): {
        "glp": m(40.0, 2.0), "bicubic": m(30.0, 4.0),
        "INFN[full@s0]": m(41.0, 1.8), "INFN[full@s1]": m(43.0, 1.6),
        "INFN[nolr@s0]": m(40.5, 1.9), "INFN[nolr@s1]": m(41.5, 1.7),
    }}
    table, lines = seed_table(means)
    rows = {r.split("|")[3].strip(): [c.strip() for c in r.split("|")[1:-1]]
            for r in table.splitlines()[2:]}
    assert rows["full"][4].startswith("42.00 ± 1.41")  # mean, sample std of 41 and 43
    assert rows["full"][7] == "+2.00"  # vs GLP, the best classical method
    assert rows["nolr"][6].startswith("-1.00 ± 0.71")  # paired: -0.5 and -1.5
    assert lines == ["- paper x4: nolr − full -1.00 dB over 2 seeds (-0.50, -1.50)"]
    # the target verdicts leave seeded variants to this table
    assert not any("@" in line for line in verdicts(means))


def test_cave_validation_split_is_inside_training_and_kept_out_of_the_fit():
    from hsi.data.cave_database import CAVE_FIT, CAVE_TEST, CAVE_TRAIN, CAVE_VALIDATION

    assert CAVE_VALIDATION == ("clay", "fake_and_real_food", "fake_and_real_sushi", "hairs")
    assert set(CAVE_VALIDATION) <= set(CAVE_TRAIN) and not set(CAVE_VALIDATION) & set(CAVE_TEST)
    assert set(CAVE_FIT) == set(CAVE_TRAIN) - set(CAVE_VALIDATION) and len(CAVE_FIT) == 16


def test_validated_ratios_need_a_gain_over_glp_under_every_protocol():
    from benchmarks.fusion_cave import validated_ratios

    m = lambda psnr: {"psnr": psnr, "sam": 2.0}  # noqa: E731
    means = {("paper", 4): {"glp": m(40.0), "cnmf": m(41.0), "INFN[val]": m(40.5)},
             ("realistic", 4): {"glp": m(35.0), "INFN[val]": m(35.2)},
             ("paper", 8): {"glp": m(38.0), "INFN[val]": m(37.9)}}
    chosen, lines = validated_ratios(means)
    assert chosen == {"INFN[val]": [4]}  # against GLP (auto's fallback), not the best method
    assert lines == ["- x4: INFN[val] vs GLP paper +0.50 dB, realistic +0.20 dB: validated",
                     "- x8: INFN[val] vs GLP paper -0.10 dB: not validated"]
    means[("realistic", 4)]["INFN[val]"] = m(34.9)
    assert validated_ratios(means)[0] == {"INFN[val]": []}


def test_abundance_margin_bins_from_hand_values():
    import numpy as np

    from benchmarks.classification_mixed import abundance_margin, margin_rows

    ab = np.array([[[0.5, 0.9]], [[0.45, 0.05]], [[0.05, 0.05]]])  # (3 endmembers, 1, 2)
    np.testing.assert_allclose(abundance_margin(ab), [[0.05, 0.85]])
    margin = np.array([0.05, 0.05, 0.15, 0.3, 0.9, 1.0])
    correct = np.array([True, False, False, True, True, True])
    cells, mixed_errors, ceiling = margin_rows(margin, correct)
    assert cells == ["33.3 / 50.0", "16.7 / 0.0", "16.7 / 100.0", "33.3 / 100.0"]
    assert mixed_errors == 100  # both errors have margin < 0.2
    assert abs(ceiling - 100 * (3 / 6 + 1 / 6)) < 1e-9  # clear pixels right + 1 mixed hit


def test_loso_choice_never_looks_at_the_held_out_scene():
    from benchmarks.common import loso_choices

    scores = {("salinas_a", "none"): 0.9, ("salinas_a", "3x3"): 0.1,
              ("samson", "none"): 0.5, ("samson", "3x3"): 0.6,
              ("jasper_ridge", "none"): 0.5, ("jasper_ridge", "3x3"): 0.6}
    # salinas_a's own huge preference for "none" decides only the other folds
    assert loso_choices(scores) == {"salinas_a": "3x3", "samson": "none",
                                    "jasper_ridge": "none"}


def test_loso_report_table_and_verdict_from_hand_values():
    from benchmarks.common import loso_report

    scores = {("a", "x"): 1.0, ("a", "y"): 3.0, ("b", "x"): 2.0, ("b", "y"): 1.0}
    table, verdict = loso_report(scores, ["x", "y"], "x", metric="OA", digits=1)
    rows = [[c.strip() for c in r.split("|")[1:-1]] for r in table.splitlines()[2:]]
    assert rows == [["a", "1.0", "3.0", "x", "1.0"],  # b prefers x -> a gets x
                    ["b", "2.0", "1.0", "y", "1.0"],  # a prefers y -> b gets y
                    ["mean", "1.5", "2.0", "", "1.0"]]
    assert verdict == ("chosen per fold a x, b y; leave-one-scene-out OA 1.0 against 1.5 for "
                       "the default (x): not every fold chooses the default.")


def test_gpu_bundle_copies_what_the_registry_checks(data_dir, tmp_path):
    """The data part of the GPU bundle: each dataset's registry files, loadable from it."""
    import hashlib

    from benchmarks.gpu_bundle import DATASETS, copy_data
    from hsi.data import load
    from hsi.data.registry import get_dataset

    missing = copy_data(tmp_path, data_dir)
    files = {rel: sha for name in DATASETS for rel, sha in get_dataset(name).files.items()}
    # what the data folder lacks (the whole CAVE database is not in CI's) is said, not copied
    assert sorted(missing) == sorted(str(data_dir / rel) for rel in files
                                     if not (data_dir / rel).is_file())
    for rel, sha in files.items():
        if (data_dir / rel).is_file():
            assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == sha
    assert load("salinas_a", root=tmp_path).cube.shape == (204, 83, 86)


@pytest.mark.parametrize("skip", [False, True])
def test_a_missing_dataset_fails_unless_the_run_says_it_left_data_out(tmp_path, skip):
    """CI fails on a missing dataset; gpu.py's partial-data runs skip those tests instead."""
    import os
    import subprocess
    import sys

    from tests.conftest import SKIP_MISSING_DATA

    (tmp_path / "test_needs_data.py").write_text(
        "def test_needs_data():\n"
        "    from hsi.errors import DatasetNotFoundError\n"
        "    raise DatasetNotFoundError(\"dataset 'x' not found\")\n")
    env = {k: v for k, v in os.environ.items() if k != SKIP_MISSING_DATA}
    if skip:
        env[SKIP_MISSING_DATA] = "1"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                        "tests.conftest", str(tmp_path / "test_needs_data.py")],
                       cwd=BENCHMARKS.parent, capture_output=True, text=True, env=env,
                       timeout=300)
    assert ("1 skipped" if skip else "1 failed") in r.stdout, r.stdout[-2000:]


def test_class_drift_angles_from_hand_values():
    import numpy as np

    from benchmarks.classification import class_drift
    from hsi.cube import Cube

    # 2 bands, 1 × 4 pixels: class 1 trains on (1, 0), tests on (1, 1) (45° away); class 2
    # trains and tests on (0, 1): 0° drift; the test means are 45° apart
    data = np.array([[[1.0, 1.0, 0.0, 0.0]], [[0.0, 1.0, 1.0, 1.0]]])
    cube = Cube(data, wavelengths=[500.0, 600.0])
    train = np.array([[1, 0, 2, 0]])
    test = np.array([[0, 1, 0, 2]])
    drift = class_drift(cube, train, test, ["a", "b"])
    np.testing.assert_allclose(drift["a"], (45.0, 45.0), atol=1e-6)
    np.testing.assert_allclose(drift["b"], (0.0, 45.0), atol=1e-6)
