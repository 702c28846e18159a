"""A user's audit of ``hsi metrics``, ``hsi simulate``, ``hsi info`` and ``hsi data``: what an
analyst reads on the terminal (progress, why a score is NaN, advice that can be followed from
the shell)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

import hsi
from hsi.cli.main import cli
from hsi.cube import Cube
from tests.cli_checks import one_error_line


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def pair(tmp_path):
    """A 5-band 40×40 reference in [0, 1] and a slightly noisy estimate, as GeoTIFFs."""
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.1, 0.6, (5, 40, 40)).astype(np.float32)
    est = (ref + rng.normal(0, 0.01, ref.shape)).astype(np.float32)
    wl = np.linspace(450, 850, 5)
    paths = tmp_path / "ref.tif", tmp_path / "est.tif"
    for path, data in zip(paths, (ref, est), strict=True):
        hsi.save(Cube(data, wavelengths=wl), path)
    return paths, ref, est, wl


def test_metrics_shows_a_progress_bar(pair, monkeypatch):
    """Scoring a 217-band 1024×512 pair took over a minute with nothing on the terminal; a bar
    over the metrics (on stderr, the scores alone on stdout) shows how far it is."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    (ref, est), *_ = pair
    result = _invoke("metrics", ref, est, "--ratio", 4)
    assert result.exit_code == 0, result.output
    assert "scoring" in result.stderr
    assert "scoring" not in result.stdout
    assert result.stdout.splitlines()[0].startswith("PSNR")


def test_metrics_says_why_a_window_metric_is_nan(pair, tmp_path):
    """A pair with missing data in every 32×32 window printed ``UIQI   nan`` with no reason,
    beside finite PSNR, SSIM and SAM."""
    (ref, _), data, _, wl = pair
    holes = data.copy()
    holes[:, ::20, ::20] = np.nan  # a missing pixel in every window and every block
    est = tmp_path / "holes.tif"
    hsi.save(Cube(holes, wavelengths=wl), est)
    result = _invoke("metrics", ref, est)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()[:7])
    assert lines["PSNR"] == "inf dB"
    assert lines["UIQI"] == "nan (every 32×32 window holds a pixel with no data)"
    assert lines["Q2n"] == "nan (every 32×32 block holds a pixel with no data)"
    clean = _invoke("metrics", ref, ref)  # no missing data: no reason added anywhere
    assert "holds a pixel" not in clean.stdout


def test_export_of_an_srf_dataset_gives_advice_that_works(data_dir, tmp_path):
    """``hsi data export mhf_net_srf`` said "use it as a sensor by its name", but
    ``--sensor mhf_net_srf`` is an unknown sensor; nikon_d700's advice names the option."""
    out = tmp_path / "out"
    for name in ("nikon_d700", "mhf_net_srf"):
        if not all((data_dir / rel).is_file() for rel in hsi.data.get_dataset(name).files):
            pytest.skip(f"{name} not in the data folder")
    line = one_error_line(_invoke("data", "export", "nikon_d700", "-o", out, "--root",
                                  data_dir), "nikon_d700")
    assert "--sensor nikon_d700" in line
    line = one_error_line(_invoke("data", "export", "mhf_net_srf", "-o", out, "--root",
                                  data_dir), "mhf_net_srf")
    assert "by its name" not in line and "--sensor" not in line
    assert "hsi.data.load('mhf_net_srf')" in line
    assert not out.exists()


def test_srf_mat_errors_give_command_line_advice(pair, tmp_path):
    """``--sensor file.mat`` without wavelengths advised ``pass wavelengths=``, a Python
    argument the command line does not have."""
    (ref, _), *_ = pair
    bare = tmp_path / "bare.mat"
    scipy.io.savemat(bare, {"R": np.full((31, 3), 0.5)})
    line = one_error_line(_invoke("simulate", ref, "-o", tmp_path / "a", "--ratio", 2,
                                  "--sensor", bare), "bare.mat")
    assert "wavelengths=" not in line
    assert "store them in the file as a variable named wavelengths" in line
    assert not (tmp_path / "a").exists()


def test_counts_of_one_are_singular(pair, tmp_path):
    """``hsi info`` of a 1-band cube said "(1 bands)"."""
    (_, _), data, _, wl = pair
    one = tmp_path / "one.tif"
    hsi.save(Cube(data[:1], wavelengths=wl[:1]), one)
    result = _invoke("info", one)
    assert result.exit_code == 0, result.output
    assert "450.0–450.0 nm (1 band)\n" in result.stdout
    result = _invoke("info", pair[0][0])
    assert "(5 bands)" in result.stdout


def test_verify_of_a_one_file_dataset_is_singular(data_dir):
    """``hsi data verify samson`` said "samson: ok (1 files)"."""
    if not (data_dir / "samson" / "Samson.mat").is_file():
        pytest.skip("samson not in the data folder")
    result = _invoke("data", "verify", "samson", "--root", data_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout == "samson: ok (1 file)\n"


def test_metrics_reads_a_mat_variable(pair, tmp_path):
    """``hsi metrics`` of a .mat holding two cubes said "choose one with --var", an option the
    command did not have; ``--var`` now picks it (from each .mat of the two)."""
    (ref, est), data, noisy, _ = pair
    two = tmp_path / "two.mat"
    scipy.io.savemat(two, {"a": data.transpose(1, 2, 0), "b": noisy.transpose(1, 2, 0)})
    line = one_error_line(_invoke("metrics", ref, two), "two.mat")
    assert line.endswith("choose one with --var")
    with_var = _invoke("metrics", ref, two, "--var", "b")
    assert with_var.exit_code == 0, with_var.output
    assert with_var.stdout == _invoke("metrics", ref, est).stdout
    both = _invoke("metrics", two, two, "--var", "a")
    assert both.exit_code == 0, both.output
    assert both.stdout.startswith("PSNR   inf dB\n")
    one_error_line(_invoke("metrics", ref, est, "--var", "b"), "--var b applies to .mat")


def test_metrics_warns_about_another_grid_or_other_bands(pair, tmp_path, caplog):
    """An estimate of the reference's shape on another grid (100 pixels east, or another
    UTM zone) or with its bands in reverse order was scored without a word."""
    import logging

    from affine import Affine
    from rasterio.crs import CRS

    from hsi.cli.metrics import score_files

    _, data, noisy, wl = pair
    utm11, east = CRS.from_epsg(32611), Affine(30, 0, 500000, 0, -30, 4000000)
    ref = hsi.save(Cube(data, wavelengths=wl, crs=utm11, transform=east), tmp_path / "r.tif")
    cases = {"shifted": (Cube(noisy, wavelengths=wl, crs=utm11,
                              transform=Affine(30, 0, 503000, 0, -30, 4000000)),
                         "its grid (origin 503000, 4000000, pixel 30 × 30) differs"),
             "zone": (Cube(noisy, wavelengths=wl, crs=CRS.from_epsg(32612), transform=east),
                      "its CRS EPSG:32612 differs from the reference's EPSG:32611"),
             "reversed": (Cube(noisy[::-1].copy(), wavelengths=wl[::-1].copy(), crs=utm11,
                               transform=east), "its wavelengths differ"),
             "same": (Cube(noisy, wavelengths=wl + 0.5, crs=utm11, transform=east), None),
             "plain": (Cube(noisy), None)}  # no georeference or wavelengths: nothing to compare
    for name, (cube, said) in cases.items():
        est = hsi.save(cube, tmp_path / f"{name}.tif")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            scores = score_files(str(ref), str(est), None)
        assert np.isfinite(scores["psnr"])  # scored all the same
        if said is None:
            assert caplog.text == "", name
        else:
            assert said in caplog.text, (name, caplog.text)
            assert caplog.text.count("\n") == 1


def test_info_tells_the_scale_factors(tmp_path):
    """``hsi info`` of the shipped sample (int16 with band scales 0.0001) said nothing of its
    scales, which decide ``--peak``, ``hsi convert --unscale`` and what the numbers mean."""
    from pathlib import Path

    import hsi.data

    result = _invoke("info", Path(hsi.data.__file__).parent / "sample" / "salinas_a.tif")
    assert result.exit_code == 0, result.output
    assert "scale:       stored × 0.0001 + 0 (band scales and offsets)\n" in result.stdout
    landsat = tmp_path / "landsat.tif"
    hsi.save(Cube(np.ones((2, 4, 4), np.uint16), nodata=0, metadata={
        "band_scales": [2.75e-05, 2e-05], "band_offsets": [-0.2, -0.2]}), landsat)
    assert "stored × 2e-05–2.75e-05 + -0.2 (band scales" in _invoke("info", landsat).stdout
    dn = tmp_path / "dn.tif"
    hsi.save(Cube(np.ones((2, 4, 4), np.int16), metadata={"reflectance_scale_factor": 10000}),
             dn)
    assert "reflectance = stored / 10000 (reflectance scale factor)" in _invoke("info",
                                                                               dn).stdout
    plain = hsi.save(Cube(np.ones((2, 4, 4), np.float32)), tmp_path / "plain.tif")
    assert "scale:" not in _invoke("info", plain).stdout


def test_grid_warning_does_not_precede_an_option_error(tmp_path):
    """A bad --crop on a pair of other grids is still one error line, without the warning."""
    from affine import Affine

    data = np.full((3, 20, 20), 0.5, np.float32)
    a = hsi.save(Cube(data, transform=Affine(30, 0, 0, 0, -30, 0)), tmp_path / "a.tif")
    b = hsi.save(Cube(data, transform=Affine(30, 0, 90, 0, -30, 0)), tmp_path / "b.tif")
    one_error_line(_invoke("metrics", a, b, "--crop", 9), "--crop 9")
