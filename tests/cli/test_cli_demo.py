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
    names = sorted(p.name for p in out.iterdir())
    assert names == ["fused_bicubic.tif", "hr_msi.tif", "lr_hsi.tif", "metrics.csv",
                     "reference.tif"]
    ref = hsi.open(out / "reference.tif")
    np.testing.assert_array_equal(ref.data, sample_cube().data[:, :80, :84])  # x4 crop
    assert hsi.open(out / "lr_hsi.tif").shape == (204, 20, 21)
    assert hsi.open(out / "hr_msi.tif").shape == (13, 80, 84)  # Sentinel-2 B1-B12 + B8A
    est = hsi.open(out / "fused_bicubic.tif")
    want = fusion_metrics(ref.data.astype(np.float64), est.data.astype(np.float64), 4)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == [name for name, _ in demo_module.demo_methods()]
    for key, value in want.items():
        assert float(rows[0][key]) == pytest.approx(value, rel=1e-4)
    assert "bicubic" in result.stdout and "PSNR dB" in result.stdout
    # Running again overwrites in place.
    assert invoke("demo", "-o", out, "--device", "cpu").exit_code == 0


def test_demo_steps_are_a_list():
    assert [name for name, _ in demo_module.DEMO_STEPS][:3] == ["info", "simulate", "fusion"]
