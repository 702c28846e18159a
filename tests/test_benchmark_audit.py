"""A user's audit of the benchmark scripts: every script answers --help, missing data and a
wrong option end in one line without touching RESULTS.md, the record names commit, data and
machine, printed differences are those of the printed numbers, --quick keeps --seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
RESULTS = BENCHMARKS / "RESULTS.md"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py")
                 if p.name not in ("common.py", "__init__.py"))


def _run(args: list[str], data_dir: Path | None = None, timeout: int = 120):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a user runs them
    if data_dir is not None:
        env["HSI_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_answers_help_without_running(script):
    before = RESULTS.read_bytes()
    r = _run([f"benchmarks/{script}", "--help"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("usage:"), r.stdout[:500]
    assert RESULTS.read_bytes() == before


@pytest.mark.parametrize("script", SCRIPTS)
def test_main_block_rebinds_no_function_of_the_script(script):
    """The ``if __name__ == "__main__":`` block's imports run at module level: a name they
    bind replaces the script's own function of that name for ``main`` too (scale.py's
    ``run_cli``, its fresh-interpreter runner, was replaced by ``benchmarks.common.run_cli``
    and the benchmark failed on its first pipeline)."""
    import ast

    tree = ast.parse((BENCHMARKS / script).read_text())
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    rebound = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    rebound |= {(a.asname or a.name).split(".")[0] for a in sub.names}
                elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    rebound.add(sub.id)
    assert not defined & rebound, f"{script}: {sorted(defined & rebound)}"


@pytest.mark.parametrize("args, missing", [
    (["benchmarks/classification.py", "--quick"], "salinas_a"),
    (["benchmarks/clustering.py", "--quick"], "salinas_a"),
    (["benchmarks/fusion_cave.py", "--quick"], "cave_jelly_beans"),
    (["benchmarks/fusion_ablations.py", "--quick"], "salinas_a"),
], ids=lambda a: a[0] if isinstance(a, list) else a)
def test_missing_data_is_one_line_and_nothing_appended(tmp_path, args, missing):
    before = RESULTS.read_bytes()
    r = _run(args, data_dir=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert missing in lines[0] and str(tmp_path) in lines[0]
    assert RESULTS.read_bytes() == before


@pytest.mark.parametrize("args, text", [
    (["benchmarks/clustering.py", "--methods", "kmeans,sc"], "--methods: 'sc'"),
    (["benchmarks/clustering.py", "--scenes", "salinas"], "--scenes: 'salinas'"),
    (["benchmarks/fusion_cave.py", "--checkpoint", "model.pt"], "expected LABEL=PATH"),
    (["benchmarks/fusion_cave.py", "--checkpoint", "x=/nonexistent.pt"], "no such file"),
    (["benchmarks/shipped_checkpoint.py", "--bogus"], "unrecognized arguments"),
])
def test_wrong_option_fails_before_any_work(args, text):
    r = _run(args, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and text in r.stderr.strip().splitlines()[-1]


def test_run_cli_turns_an_hsikit_error_into_one_line(capsys):
    from benchmarks.common import run_cli
    from hsi.errors import DatasetNotFoundError

    def main():
        raise DatasetNotFoundError("dataset 'samson' not found in /x")

    assert run_cli(main) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DatasetNotFoundError: dataset 'samson' not found" in err[0]
    assert run_cli(lambda: None) == 0 and run_cli(lambda: 3) == 3


def test_record_names_commit_data_and_machine():
    from benchmarks.common import COMMIT_AT_START, data_digest, results_section

    text = results_section("T", "| a |\n|---|", device="cpu", command="python x.py",
                           data=["salinas_a", "samson"])
    assert "- Machine: CPU: " in text and "device cpu" in text
    assert f"- Commit: {COMMIT_AT_START}" in text
    assert "- Command: `python x.py`" in text
    digest = data_digest(["salinas_a", "samson"])
    assert f"- Data: salinas_a, samson (sha256 of their files' registry lines {digest[:16]})" \
        in text
    assert digest != data_digest(["salinas_a"]) and digest == data_digest(["salinas_a",
                                                                            "samson"])


def test_printed_differences_are_those_of_the_printed_numbers():
    from benchmarks.classification import targets_text

    def entry(method, oa):
        return {"dataset": "indian_pines", "mode": "spatial", "n": 5, "method": method,
                "oa": [oa], "aa": [oa], "kappa": [0.5], "seconds": [1.0], "n_test": [100]}

    # 41.14 and 36.56 print as 41.1 and 36.6: the reader computes +4.5 (not +4.58 -> +4.6)
    text = targets_text([entry("svm", 36.56), entry("gan", 40.0), entry("gan_crf", 41.14)])
    assert "GAN+CRF 41.1 vs SVM 36.6 (+4.5, target +5: NOT met)" in text
    assert "CRF over GAN +1.1" in text


def test_clustering_verdict_difference_of_printed_numbers():
    from benchmarks.clustering import verdicts

    (line,) = verdicts({"kmeans": 0.5004, "cc": 0.5116})  # 0.512 - 0.500
    assert "(0.512 vs 0.500, +0.012)" in line


def test_quick_keeps_the_seeds_given(monkeypatch):
    import benchmarks.common
    from benchmarks import classification

    tasks = []

    def fake(task):
        tasks.append(task)
        name, n, mode, seed = task[:4]
        return [{"dataset": name, "n": n, "mode": mode, "seed": seed, "method": m, "oa": 90.0,
                 "aa": 90.0, "kappa": 0.9, "seconds": 0.0, "n_test": 10, "recall": {},
                 "drift": {}} for m in ("svm", "gan", "gan_crf")]

    monkeypatch.setattr(classification, "run_one", fake)
    monkeypatch.setattr(benchmarks.common, "require_data", lambda *a, **k: None)
    before = RESULTS.read_bytes()
    assert classification.main(["--quick", "--seeds", "1", "--jobs", "1"]) == 0
    assert [t[3] for t in tasks] == [0]
    tasks.clear()
    assert classification.main(["--quick", "--jobs", "1"]) == 0
    assert [t[3] for t in tasks] == [0, 1]
    assert RESULTS.read_bytes() == before  # --quick never appends
