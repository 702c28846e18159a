"""SRF bands in a gap of the cube's spectral sampling (removed water-absorption bands).

Sentinel-2 B10 (cirrus, 1373.5 nm, FWHM 31 nm) on the Salinas-A sample, whose bands skip
1362.6-1422.3 nm, used to be built silently from the four bands below the gap: a made-up band.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from hsi.data import sample_cube
from hsi.degrade import SpectralResponse, simulate_pair
from hsi.errors import SensorError
from hsi.srf import SRF, load_srf, spectral_coverage

S2_WITHOUT_B10 = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]


@pytest.fixture(scope="module")
def cube():
    """A 16 × 16 crop of the shipped Salinas-A sample (204 AVIRIS bands, reflectance)."""
    c = sample_cube()
    return c.with_data(c.data[:, :16, :16])


def _srf_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hsi.srf"]


def test_gaps_of_the_salinas_a_sampling(cube):
    covered, gaps, spacing = spectral_coverage(cube.wavelengths)
    assert spacing == pytest.approx(9.89, abs=0.01)
    np.testing.assert_allclose(gaps, [[1362.64, 1422.34], [1819.08, 1943.27]], atol=0.01)
    np.testing.assert_allclose(covered[:, 0], [385.27, 1417.39, 1938.33], atol=0.01)
    np.testing.assert_allclose(covered[:, 1], [1367.59, 1824.03, 2494.06], atol=0.01)
    _, none, _ = spectral_coverage(np.arange(400.0, 701.0, 10.0))  # the CAVE grid
    assert none.shape == (0, 2)


def test_coverage_of_sentinel2_on_salinas_a(cube):
    s2 = load_srf("sentinel2_l1c")
    cov = dict(zip(s2.band_names, s2.coverage(cube.wavelengths), strict=True))
    assert cov["B10"] == pytest.approx(0.327, abs=0.005)
    assert min(v for k, v in cov.items() if k != "B10") > 0.999


def test_simulate_pair_drops_b10_with_one_warning(cube, caplog):
    with caplog.at_level("WARNING", logger="hsi.srf"):
        _, hr = simulate_pair(cube, 4, "sentinel2_l1c")
    (line,) = _srf_lines(caplog)
    assert "B10 (1373.5 nm, 33% covered, gap 1362.6-1422.3 nm) dropped" in line
    assert "sentinel2_l1c:-B10" in line
    assert hr.bands == 12 and hr.metadata["band_names"] == S2_WITHOUT_B10
    assert 1373.5 not in hr.wavelengths.tolist() and hr.fwhm.size == 12
    assert hr.metadata["srf_dropped_bands"] == {"B10": pytest.approx(0.327, abs=0.005)}
    # the kept bands are those of the full sensor
    full = load_srf("sentinel2_l1c").matrix(cube.wavelengths)
    keep = [i for i, n in enumerate(load_srf("sentinel2_l1c").band_names) if n != "B10"]
    expected = np.einsum("mc,chw->mhw", full[keep], np.asarray(cube.data, np.float64))
    np.testing.assert_allclose(hr.data, expected, rtol=0, atol=1e-5)


def test_a_band_selection_is_taken_as_is_without_warning(cube, caplog):
    with caplog.at_level("WARNING", logger="hsi.srf"):
        _, hr = simulate_pair(cube, 4, "sentinel2_l1c:-B10")
        _, rgbn = simulate_pair(cube, 4, "Sentinel-2:b8,B4,B3,B2")
    assert _srf_lines(caplog) == []
    assert hr.metadata["band_names"] == S2_WITHOUT_B10 and "srf_dropped_bands" not in hr.metadata
    assert rgbn.metadata["band_names"] == ["B8", "B4", "B3", "B2"]
    np.testing.assert_allclose(rgbn.wavelengths, [832.8, 664.6, 559.8, 492.4])


@pytest.mark.parametrize(("bands", "says"), [("B13", "no band B13"), ("B2,-B10", "not both"),
                                             ("-B2,-B2", "named twice")])
def test_a_bad_band_selection_is_refused(bands, says):
    with pytest.raises(SensorError, match=says):
        load_srf(f"sentinel2_l1c:{bands}")
    with pytest.raises(SensorError, match="leaves no band"):
        load_srf("nikon_d700").select("-R,-G,-B")


def test_matrix_warns_that_b10_is_made_up(cube, caplog):
    """The low-level matrix keeps one row per band (callers pair rows with band names), but
    no longer silently."""
    with caplog.at_level("WARNING", logger="hsi.srf"):
        m = load_srf("sentinel2_l1c").matrix(cube.wavelengths)
    assert m.shape == (13, 204)
    (line,) = _srf_lines(caplog)
    assert "B10 (33% covered, gap 1362.6-1422.3 nm)" in line and "made up" in line


def test_partial_coverage_keeps_the_band_with_a_warning(cube, caplog):
    srf = SRF.gaussian([1358.0], [30.0], names=["edge"], name="edge")  # 77 % covered
    with caplog.at_level("WARNING", logger="hsi.srf"):
        kept = srf.for_cube(cube.wavelengths)
        m = kept.matrix(cube.wavelengths)
    assert kept is srf and m.shape == (1, 204)
    (line,) = _srf_lines(caplog)
    assert "edge (77% covered, gap 1362.6-1422.3 nm) partly fall in a gap" in line
    assert "made up" not in line


def test_a_sensor_wholly_in_a_gap_is_refused(cube):
    srf = SRF.gaussian([1390.0, 1880.0], [20.0, 40.0], names=["w1", "w2"], name="water")
    with pytest.raises(SensorError, match=r"no band is observed.*w1 \(1390 nm, 0% covered, "
                                          r"gap 1362.6-1422.3 nm\), w2 \(1880 nm, 0% covered"):
        simulate_pair(cube, 4, srf)


def test_spectral_response_module_drops_b10(cube, caplog):
    with caplog.at_level("WARNING", logger="hsi.srf"):
        module = SpectralResponse.from_srf("sentinel2_l1c", cube.wavelengths)
    assert module.band_names == S2_WITHOUT_B10 and tuple(module.matrix.shape) == (12, 204)


def test_simulate_files_writes_the_kept_bands_and_says_it_once(cube, tmp_path, caplog):
    import rasterio

    from hsi.io import open as open_cube
    from hsi.simulate import simulate_files

    big = sample_cube()
    big = big.with_data(big.data[:, :32, :32])
    with caplog.at_level("WARNING", logger="hsi.srf"):
        paths = simulate_files(big, tmp_path / "pair", 4, "sentinel2_l1c", device="cpu", tile=16)
    assert len([m for m in _srf_lines(caplog) if "dropped" in m]) == 1  # 4 tiles, one line
    hr = open_cube(paths["hr_msi"])
    assert hr.shape == (12, 32, 32) and 1373.5 not in hr.wavelengths.tolist()
    with rasterio.open(paths["hr_msi"]) as src:
        tags = src.tags()
    assert json.loads(tags["band_names"]) == S2_WITHOUT_B10
    assert list(json.loads(tags["srf_dropped_bands"])) == ["B10"]


def test_the_cli_says_which_band_it_dropped(cube, tmp_path, caplog):
    from click.testing import CliRunner

    from hsi.cli.main import cli
    from hsi.io import save

    path = save(cube, tmp_path / "crop.tif")
    with caplog.at_level("WARNING", logger="hsi.srf"):
        res = CliRunner().invoke(cli, ["simulate", str(path), "-o", str(tmp_path / "out"),
                                       "--ratio", "4", "--sensor", "sentinel2_l1c"])
    assert res.exit_code == 0, res.output
    assert "hr_msi       12 bands" in res.output
    assert any("B10 (1373.5 nm, 33% covered" in m for m in _srf_lines(caplog))


def test_indian_pines_b10_is_dropped_too():
    from hsi.data import load

    wl = load("indian_pines").cube.wavelengths  # gap 1352.7-1412.4 nm
    s2 = load_srf("sentinel2_l1c")
    assert s2.coverage(wl)[s2.band_names.index("B10")] == pytest.approx(0.119, abs=0.005)
    assert s2.for_cube(wl).band_names == S2_WITHOUT_B10


@pytest.mark.parametrize(("dataset", "sensor"), [("sample", "sentinel2_l1c:-B10"),
                                                 ("sample", "sentinel2"),
                                                 ("sample", "landsat8"),
                                                 ("sample", "nikon_d700"),
                                                 ("cave_balloons", "nikon_d700")])
def test_complete_coverage_gives_no_warning(dataset, sensor, caplog):
    from hsi.data import load

    if dataset != "sample":
        from hsi.data import data_dir

        if not (data_dir() / "cave" / "balloons_ms").is_dir():
            pytest.skip("the whole CAVE database is not under $HSI_DATA_DIR/cave")
    wl = sample_cube().wavelengths if dataset == "sample" else load(dataset).cube.wavelengths
    srf = load_srf(sensor)
    with caplog.at_level("WARNING", logger="hsi.srf"):
        kept = srf.for_cube(wl)
        m = kept.matrix(wl)
    assert _srf_lines(caplog) == [] and kept is srf and m.shape == (srf.msi_bands, wl.size)
    assert srf.coverage(wl).min() > 0.99


def test_the_sentinel2_preset_is_the_12_level_2a_bands():
    """Level-2A (surface reflectance) products have no B10: neither has the default preset,
    so the default simulation of an AVIRIS cube makes no band up and warns about nothing."""
    assert load_srf("sentinel2").band_names == S2_WITHOUT_B10
    assert load_srf("sentinel2_l1c").band_names == [*S2_WITHOUT_B10[:10], "B10",
                                                    *S2_WITHOUT_B10[10:]]
    assert load_srf("Sentinel-2 L1C").name == "sentinel2_l1c"


def test_training_records_the_sensor_it_simulated(caplog):
    """train_infn built 12-band pairs but recorded the 13-band sensor (SRF matrix and band
    centres of all 13), so its checkpoint did not match its own pairs."""
    from hsi.fusion.config import InfnConfig
    from hsi.fusion.train import train_infn

    c = sample_cube()
    crop = c.with_data(c.data[:, :32, :32])
    config = InfnConfig(hidden=8, depth=1, patch=16, batch=2, base="bicubic")
    with caplog.at_level("WARNING", logger="hsi.srf"):
        model = train_infn([crop], srf="sentinel2_l1c", ratio=4, config=config, steps=1,
                           max_minutes=None, seed=0, device="cpu", progress=False)
    assert model.config.msi_bands == 12 and model.meta["msi_bands"] == 12
    assert np.asarray(model.meta["srf_matrix"]).shape == (12, 204)
    assert 1373.5 not in model.meta["msi_wavelengths"]
    lines = _srf_lines(caplog)
    assert len(lines) == 1 and "B10" in lines[0] and "dropped" in lines[0]


def test_a_band_just_under_wholly_inside_is_not_said_to_be_100_percent_inside():
    """Jasper Ridge (408.5 nm up) with Sentinel-2's B2 (99.8 % of its area from 408.5 nm) was
    told "100% of its area inside ... truncated": it is not whole, and says 99.8%."""
    from hsi.srf import share_text

    assert share_text(0.9983) == "99.8%"
    assert share_text(0.99999) == "99.9%"
    assert share_text(1.0) == "100%"
    assert share_text(0.904) == "90%" and share_text(0.0) == "0%"
