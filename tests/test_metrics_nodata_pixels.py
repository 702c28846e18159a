"""Metrics of cubes with PIXELS that have no data: a Cube's ``nodata`` value in every band (a
product's collar) or NaN (where a fusion had no data), in the reference or the estimate.

Before: a nodata pixel of a Cube was scored as values (−9999 against reflectance: PSNR about
−70 dB, SAM and ERGAS off by orders of magnitude), and NaN pixels were left out without a
word. Now: such pixels of either cube are left out of every score, which equal those of the
pixels with data, with one warning line giving their count (:func:`hsi.metrics.drop_missing`).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from click.testing import CliRunner

import hsi
from hsi import metrics
from hsi.cube import Cube

NODATA = -9999.0
#: Rows of the collar (nodata in every band) of the 64 × 72 crops.
COLLAR = slice(0, 6)
#: One band of the reference with no value at all (NaN), as in a water-absorption window.
EMPTY = 5


def _collared(x: np.ndarray, value: float = NODATA) -> np.ndarray:
    out = x.copy()
    out[:, COLLAR] = value
    return out


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "hsi.metrics" and r.levelno == logging.WARNING]


def _all_metrics(ref: object, est: object) -> dict[str, float]:
    return metrics.fusion_metrics(ref, est, 4, extended=True)


PIXELS = 64 * 72
COLLAR_PIXELS = 6 * 72


@pytest.mark.parametrize("which", ["reference", "estimate"])
def test_nodata_pixels_of_a_cube_are_left_out_of_every_score(metrics_pair, caplog, which):
    ref, est, _ = metrics_pair
    want = _all_metrics(_collared(ref, np.nan), est)  # the collar as NaN: left out
    assert all(np.isfinite(v) for v in want.values()), want
    if which == "reference":
        pair = Cube(_collared(ref), nodata=NODATA, name="ref.tif"), Cube(est, name="est.tif")
    else:
        pair = Cube(ref, name="ref.tif"), Cube(_collared(est), nodata=NODATA, name="est.tif")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        got = _all_metrics(*pair)
    assert got == want  # exactly: the same pixels are scored
    # the pixelwise scores are those of the pixels with data
    kept = ref[:, 6:], est[:, 6:]
    assert got["psnr"] == pytest.approx(metrics.psnr(*kept), abs=1e-12)
    assert got["sam"] == pytest.approx(metrics.sam(*kept), abs=1e-12)
    assert got["ergas"] == pytest.approx(metrics.ergas(*kept, 4), abs=1e-12)
    assert got["cc"] == pytest.approx(metrics.cc(*kept), abs=1e-12)
    assert (_warnings(caplog)) == [
        f"ref.tif, est.tif: {COLLAR_PIXELS} of {PIXELS} pixels have no data (NaN or nodata) "
        "in the reference or the estimate: left out of every metric"]


def test_every_metric_alone_leaves_them_out_and_says_so_once(metrics_pair, every_metric,
                                                             caplog):
    ref, est, _ = metrics_pair
    a = Cube(_collared(ref), nodata=NODATA)
    b = est.copy()
    b[:, 40, 50] = np.nan  # and a NaN pixel of the estimate (an array)
    kept_ref, kept_est = _collared(ref, np.nan), b
    for name, fn in every_metric.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            got = fn(a, b)
        told = [w for w in _warnings(caplog) if "pixels have no data" in w]
        assert len(told) == 1 and f"{COLLAR_PIXELS + 1} of {PIXELS} pixels" in told[0], name
        assert np.isfinite(got) and got == fn(kept_ref, kept_est), name


def test_nan_pixels_are_counted_in_the_warning(metrics_pair, caplog):
    """NaN pixels were left out before, silently: now the line says how many."""
    ref, est, _ = metrics_pair
    b = est.copy()
    b[:, 10:12, 20:23] = np.nan
    b[3, 30, 30] = np.inf  # one band missing: the pixel has no data either
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        scores = _all_metrics(ref, b)
    assert all(np.isfinite(v) for v in scores.values())
    (told,) = _warnings(caplog)
    assert told.startswith(f"metrics: 7 of {PIXELS} pixels have no data")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        _all_metrics(ref, est)
    assert _warnings(caplog) == []  # nothing said when every pixel has data


def test_a_band_value_equal_to_nodata_in_a_pixel_with_data_stays_a_value(metrics_pair):
    """The rule of :func:`hsi.cube.valid_mask`: only a pixel whose every band is nodata is
    missing (a provider may zero one bad band where nodata is 0)."""
    ref, est, _ = metrics_pair
    a = ref.copy()
    a[0, 20, 20] = 0.0
    _, _, _, missing = metrics.drop_missing(Cube(a, nodata=0.0), est)
    assert not missing.any()
    assert metrics.rmse(Cube(a, nodata=0.0), est) == metrics.rmse(a, est)


def test_nothing_left_is_nan_and_said(metrics_pair, caplog):
    """A reference with data in the top half only and an estimate in the bottom half only."""
    ref, est, _ = metrics_pair
    a, b = ref.copy(), est.copy()
    a[:, 32:] = NODATA
    b[:, :32] = np.nan
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        assert np.isnan(metrics.psnr(Cube(a, nodata=NODATA), b))
    (told,) = _warnings(caplog)
    assert told.endswith(f"{PIXELS} of {PIXELS} pixels have no data (NaN or nodata) in the "
                         "reference or the estimate: left out of every metric (nothing left: "
                         "NaN scores)")


def test_with_an_empty_band_too(metrics_pair, caplog):
    """A NaN band (left out first) and a collar of nodata in the other bands: the collar is
    still found (its pixels are not nodata in the NaN band), two warning lines."""
    ref, est, _ = metrics_pair
    a = _collared(ref)
    a[EMPTY] = np.nan
    b = est.copy()
    b[EMPTY] = np.nan
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        got = _all_metrics(Cube(a, nodata=NODATA), b)
    told = _warnings(caplog)
    assert len(told) == 2, told
    assert "band(s) 6 of the reference have no valid value" in told[0]
    assert f"{COLLAR_PIXELS} of {PIXELS} pixels have no data" in told[1]
    keep = np.delete(np.arange(12), EMPTY)
    assert got == _all_metrics(_collared(ref, np.nan)[keep], est[keep])


def test_drop_missing_returns_what_every_metric_scores(metrics_pair):
    ref, est, _ = metrics_pair
    a = _collared(ref)
    a[EMPTY] = NODATA  # an empty band of nodata values
    a_out, b_out, empty, missing = metrics.drop_missing(Cube(a, nodata=NODATA), est, crop=2)
    assert empty.tolist() == [EMPTY]
    want = np.zeros((60, 68), bool)
    want[:4] = True  # the collar's rows 2-5, cropped by 2
    np.testing.assert_array_equal(missing, want)
    keep = np.delete(np.arange(12), EMPTY)
    np.testing.assert_array_equal(a_out, _collared(ref, np.nan)[keep, 2:-2, 2:-2])
    np.testing.assert_array_equal(b_out, est[keep, 2:-2, 2:-2])


@pytest.mark.parametrize("ext", ["tif", "hdr"])
def test_command_leaves_a_collar_out_beside_an_empty_band(tmp_path, metrics_pair, caplog, ext):
    """``hsi metrics`` on files: a reference with a NaN band and a nodata collar (−9999 in the
    other bands). Before, the collar was scored as values (its pixels are not −9999 in the
    NaN band)."""
    ref, est = (x.astype(np.float32) for x in metrics_pair[:2])
    a = _collared(ref)
    a[EMPTY] = np.nan
    b = est.copy()
    b[EMPTY] = np.nan
    ref_path = hsi.save(Cube(a, nodata=NODATA), tmp_path / f"ref.{ext}")
    est_path = hsi.save(Cube(b), tmp_path / f"est.{ext}")
    from hsi.cli.main import cli

    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        result = CliRunner().invoke(cli, ["metrics", str(ref_path), str(est_path), "--ratio",
                                          "4"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    told = _warnings(caplog)
    assert len(told) == 2 and told[1].startswith(f"{ref_path}, {est_path}: {COLLAR_PIXELS} of ")
    lines = result.stdout.splitlines()
    assert lines[-2:] == [f"{COLLAR_PIXELS} pixel(s) with no data (NaN or nodata) in either "
                          "image left out",
                          "1 band(s) with no data (all NaN or nodata) in the reference left out"]
    keep = np.delete(np.arange(12), EMPTY)
    want = _all_metrics(_collared(ref, np.nan)[keep].astype(np.float64),
                        est[keep].astype(np.float64))
    scores = dict(line.split(None, 1) for line in lines[:-2])
    assert float(scores["PSNR"].split()[0]) == pytest.approx(want["psnr"], abs=1e-4)
    assert float(scores["SAM"].split()[0]) == pytest.approx(want["sam"], abs=1e-4)
