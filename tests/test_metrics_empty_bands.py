"""Metrics of cubes with EMPTY bands (every value NaN or nodata, as EnMAP / PRISMA / AVIRIS
products hold in water-absorption windows, and as ``hsi fuse`` writes the bands its LR input
had no data in): the bands are left out of every metric with one warning line, and the scores
equal those of the cubes without them. Before, every pixel had a NaN in some band and every
score was NaN (``hsi metrics`` said "N pixel(s) ... left out" for all of them), and a band of
nodata values (−9999) was scored as values."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from click.testing import CliRunner

import hsi
from hsi import metrics
from hsi.cube import Cube

EMPTY = [3, 7]  # 0-based: the 4th and 8th of the 12 bands


def _with_empty(x: np.ndarray, value: float = np.nan) -> np.ndarray:
    out = x.copy()
    out[EMPTY] = value
    return out


def _without(x: np.ndarray) -> np.ndarray:
    return np.delete(x, EMPTY, axis=0)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "hsi.metrics" and r.levelno == logging.WARNING]


class TestApi:
    def test_fusion_metrics_equal_those_without_the_bands_one_warning(self, metrics_pair, caplog):
        ref, est, _ = metrics_pair
        want = metrics.fusion_metrics(_without(ref), _without(est), 4, crop=2, extended=True)
        assert all(np.isfinite(v) for v in want.values())
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            got = metrics.fusion_metrics(_with_empty(ref), _with_empty(est), 4, crop=2,
                                         extended=True)
        assert got == want  # exactly: the same arrays are scored
        told = _warnings(caplog)
        assert len(told) == 1, told
        assert "band(s) 4, 8 of the reference have no valid value" in told[0]
        assert "left out of every metric (10 of 12 bands scored)" in told[0]

    @pytest.mark.parametrize("est_value", [np.nan, 0.25])
    def test_every_metric_alone(self, metrics_pair, every_metric, caplog, est_value):
        """The estimate NaN in the same bands (a fused result), or holding values there (no
        truth to score them against): the same scores."""
        ref, est, _ = metrics_pair
        a, b = _with_empty(ref), _with_empty(est, est_value)
        for name, fn in every_metric.items():
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
                got = fn(a, b)
            want = fn(_without(ref), _without(est))
            assert np.isfinite(want), name
            assert got == want, name
            assert len(_warnings(caplog)) == 1, (name, _warnings(caplog))

    def test_nodata_band_of_a_cube_named_with_its_wavelength(self, metrics_pair, caplog):
        ref, est, wl = metrics_pair
        cube = Cube(_with_empty(ref, -9999.0), wavelengths=wl, nodata=-9999.0, name="ref.tif")
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            got = metrics.fusion_metrics(cube, _with_empty(est), 4)
        assert got == metrics.fusion_metrics(_without(ref), _without(est), 4)
        (told,) = _warnings(caplog)
        assert told.startswith(f"ref.tif: band(s) 4 ({wl[3]:g} nm), 8 ({wl[7]:g} nm) ")

    def test_drop_empty_bands_returns_the_kept_arrays(self, metrics_pair):
        ref, est, _ = metrics_pair
        a, b, empty = metrics.drop_empty_bands(_with_empty(ref), _with_empty(est), crop=3)
        assert empty.tolist() == EMPTY
        np.testing.assert_array_equal(a, _without(ref)[:, 3:-3, 3:-3])
        np.testing.assert_array_equal(b, _without(est)[:, 3:-3, 3:-3])

    def test_no_empty_band_no_warning(self, metrics_pair, caplog):
        ref, est, _ = metrics_pair
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            metrics.fusion_metrics(ref, est, 4)
        assert _warnings(caplog) == []

    def test_estimate_empty_where_the_reference_has_data_is_nan_and_said(self, metrics_pair,
                                                                         caplog):
        """Not forgiven: the estimate has no value for a band that has a truth."""
        ref, est, _ = metrics_pair
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            got = metrics.fusion_metrics(ref, _with_empty(est), 4)
        assert all(np.isnan(v) for v in got.values())
        (told,) = _warnings(caplog)
        assert "the estimate has no valid value in band(s) 4, 8" in told
        # a nodata band of an estimate Cube is no data either, not values to score
        got = metrics.psnr(ref, Cube(_with_empty(est, -9999.0), nodata=-9999.0))
        assert np.isnan(got)

    def test_every_band_empty_is_nan(self, metrics_pair, caplog):
        ref, est, _ = metrics_pair
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            assert np.isnan(metrics.psnr(np.full_like(ref, np.nan), est))
        (told,) = _warnings(caplog)
        assert "no band of the reference has a valid value" in told


# ============================================================================== hsi metrics
def _run(*args: object) -> object:
    from hsi.cli.main import cli

    return CliRunner().invoke(cli, ["metrics", *map(str, args)], catch_exceptions=False)


@pytest.mark.parametrize("ext", ["tif", "hdr"])
@pytest.mark.parametrize("ref_fill", ["nan", "nodata"])
def test_command_leaves_the_empty_bands_out(tmp_path, metrics_pair, caplog, ext, ref_fill):
    """A reference with NaN or −9999 (its nodata value) bands and the fused estimate NaN there,
    written by ``hsi.save`` as GeoTIFF or ENVI: the scores of the files without the bands,
    one warning line naming them, one line saying how many."""
    ref, est, wl = (x.astype(np.float32) for x in metrics_pair)
    if ref_fill == "nan":
        ref_cube = Cube(_with_empty(ref), wavelengths=wl)
    else:
        ref_cube = Cube(_with_empty(ref, -9999.0), wavelengths=wl, nodata=-9999.0)
    a = hsi.save(ref_cube, tmp_path / f"ref.{ext}")
    b = hsi.save(Cube(_with_empty(est), wavelengths=wl), tmp_path / f"est.{ext}")
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        result = _run(a, b, "--ratio", 4, "--crop", 2)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "2 band(s) with no data (all NaN or nodata) in the reference left out"
    scores = dict(line.split(None, 1) for line in lines[:-1])
    want = metrics.fusion_metrics(_without(ref).astype(np.float64),
                                  _without(est).astype(np.float64), 4, crop=2, extended=True)
    for key, (label, _) in {"psnr": ("PSNR", ""), "ssim": ("SSIM", ""), "sam": ("SAM", ""),
                            "ergas": ("ERGAS", ""), "q2n": ("Q2n", ""), "cc": ("CC", ""),
                            "uiqi": ("UIQI", "")}.items():
        assert float(scores[label].split()[0]) == pytest.approx(want[key], abs=1e-4), label
    told = _warnings(caplog)
    assert len(told) == 1, told
    assert f"band(s) 4 ({wl[3]:g} nm), 8 ({wl[7]:g} nm) of the reference" in told[0]
    assert "pixel(s)" not in result.stdout  # no pixel is left out for the empty bands
