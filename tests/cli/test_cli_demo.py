"""hsi demo (what `make demo` runs) on the shipped sample."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import hsi
from hsi.cli import demo as demo_module
from hsi.data import sample_cube
from hsi.metrics import fusion_metrics


def test_demo_outputs_and_scores(invoke, tmp_path):
    out = tmp_path / "demo-out"
    result = invoke("demo", "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    methods = [name for name, _ in demo_module.demo_methods()]
    assert methods[0] == "auto" and {"infn", "glp", "gsa", "cnmf", "bicubic"} <= set(methods)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([demo_module.DEMO_MARKER, "hr_msi.tif", "lr_hsi.tif", "metrics.csv",
                            "reference.tif", "classification.tif", "classification_report.md",
                            *(f"fused_{m}.tif" for m in methods)])
    ref = hsi.open(out / "reference.tif")
    np.testing.assert_array_equal(ref.data, sample_cube().data[:, :80, :84])  # x4 crop
    assert hsi.open(out / "lr_hsi.tif").shape == (204, 20, 21)
    assert hsi.open(out / "hr_msi.tif").shape == (12, 80, 84)  # S2 L2A: no B10
    with open(out / "metrics.csv") as f:
        rows = {r["method"]: r for r in csv.DictReader(f)}
    assert list(rows) == methods
    for method in methods:
        est = hsi.open(out / f"fused_{method}.tif")
        want = fusion_metrics(ref.data.astype(np.float64), est.data.astype(np.float64), 4)
        for key, value in want.items():
            assert float(rows[method][key]) == pytest.approx(value, rel=1e-4)
    # Detail injection must clearly beat plain interpolation on this pair, and the default
    # never does worse than GLP (it is GLP unless a checkpoint is validated for this pair).
    assert float(rows["glp"]["psnr"]) > float(rows["bicubic"]["psnr"]) + 5
    assert float(rows["auto"]["psnr"]) >= float(rows["glp"]["psnr"]) - 0.05
    assert "PSNR dB" in result.stdout and "OA" in result.stdout
    class_map = hsi.open(out / "classification.tif")
    assert class_map.shape == (1, 83, 86)
    assert set(np.unique(class_map.data)) <= set(range(0, 7))


def test_demo_rerun_overwrites(invoke, tmp_path, monkeypatch):
    monkeypatch.setattr(demo_module, "DEMO_STEPS", demo_module.DEMO_STEPS[:2])
    out = tmp_path / "demo-out"
    assert invoke("demo", "-o", out, "--device", "cpu").exit_code == 0
    assert invoke("demo", "-o", out, "--device", "cpu").exit_code == 0
    assert (out / "reference.tif").is_file()


def test_demo_steps_are_a_list():
    assert [name for name, _ in demo_module.DEMO_STEPS][:3] == ["info", "simulate", "fusion"]
