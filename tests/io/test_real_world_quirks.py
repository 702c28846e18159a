"""Quirks of ENVI and GeoTIFF files as real sensors and software write them: nodata values the
data type cannot hold, mislabelled wavelength units, one-item ``{...}`` values."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import hsi
from hsi.cli.main import cli
from tests.io.test_envi import write_raw

DATA = np.arange(3 * 2 * 4, dtype=np.float32).reshape(3, 2, 4)
WL = [450.0, 550.0, 650.0]


@pytest.mark.parametrize(("dtype", "ignore"), [
    (np.uint16, "-9999"),   # a generic "-9999" over unsigned counts
    (np.int16, "0.5"),      # would have been written back as 0: the pixels of 0 lost
    (np.int16, "NaN"),
    (np.uint8, "256"),
    (np.float32, "1e39"),
])
def test_data_ignore_value_the_data_type_cannot_hold_marks_nothing(tmp_path, dtype, ignore):
    data = DATA.astype(dtype)
    hdr, _ = write_raw(tmp_path, data, [f"data ignore value = {ignore}"])
    cube = hsi.open(hdr)
    assert cube.nodata is None
    np.testing.assert_array_equal(cube.data, data)
    for out in (tmp_path / "out.tif", tmp_path / "out.hdr"):  # GeoTIFF refused it: traceback
        hsi.save(cube, out)
        back = hsi.open(out)
        assert back.nodata is None
        np.testing.assert_array_equal(back.data, data)


def test_hsi_convert_of_an_unsigned_file_with_negative_ignore_value(tmp_path):
    hdr, _ = write_raw(tmp_path, DATA.astype(np.uint16), ["data ignore value = -9999"])
    result = CliRunner().invoke(cli, ["convert", str(hdr), str(tmp_path / "out.tif")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(hsi.open(tmp_path / "out.tif").data, DATA.astype(np.uint16))


def test_cube_with_a_nodata_its_type_cannot_hold_is_written_without_it(tmp_path):
    cube = hsi.Cube(DATA.astype(np.int16), nodata=0.5)
    envi = hsi.open(hsi.save(cube, tmp_path / "c.hdr"))
    tif = hsi.open(hsi.save(cube, tmp_path / "c.tif"))
    assert envi.nodata is None and tif.nodata is None
    assert "data ignore value" not in (tmp_path / "c.hdr").read_text()


def test_integer_nodata_that_fits_is_kept_as_an_int(tmp_path):
    hdr, _ = write_raw(tmp_path, DATA.astype(np.int16), ["data ignore value = -9999.0"])
    nodata = hsi.open(hdr).nodata
    assert nodata == -9999 and isinstance(nodata, int)


def test_geotiff_nodata_the_data_type_cannot_hold_marks_nothing(tmp_path):
    path = tmp_path / "half.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=2, count=3, dtype="int16",
                       nodata=0.5) as dst:
        dst.write(DATA.astype(np.int16))
    cube = hsi.open(path)
    assert cube.nodata is None
    np.testing.assert_array_equal(cube.data, DATA.astype(np.int16))


def test_data_ignore_value_as_a_one_item_list(tmp_path):
    hdr, _ = write_raw(tmp_path, DATA, ["data ignore value = {-9999}"])
    assert hsi.open(hdr).nodata == -9999.0


@pytest.mark.parametrize(("units", "values", "fwhm"), [
    ("Micrometers", "{450, 550, 650}", "{10, 10, 10}"),      # nm values labelled µm
    ("Nanometers", "{0.45, 0.55, 0.65}", "{0.01, 0.01, 0.01}"),  # µm values labelled nm
])
def test_mislabelled_wavelength_units_follow_the_values(tmp_path, units, values, fwhm):
    hdr, _ = write_raw(tmp_path, DATA, [f"wavelength units = {units}",
                                        f"wavelength = {values}", f"fwhm = {fwhm}"])
    cube = hsi.open(hdr)
    np.testing.assert_allclose(cube.wavelengths, WL)
    np.testing.assert_allclose(cube.fwhm, [10.0, 10.0, 10.0])


def _tagged_tif(path, ns=None, **tags):
    """DATA as a float32 GeoTIFF, band ``b`` tagged ``key=value.format(nm)`` (``nm`` its WL)."""
    with rasterio.open(path, "w", driver="GTiff", width=4, height=2, count=3,
                       dtype="float32") as dst:
        dst.write(DATA)
        for b, nm in enumerate(WL, start=1):
            dst.update_tags(b, ns=ns, **{k: v.format(nm) for k, v in tags.items()})
    return path


def test_mislabelled_units_in_geotiff_band_tags(tmp_path):
    path = _tagged_tif(tmp_path / "tags.tif", wavelength="{}", wavelength_units="Micrometers")
    np.testing.assert_allclose(hsi.open(path).wavelengths, WL)


@pytest.mark.parametrize(("units", "values", "expected"), [
    ("Micrometers", "{0.45, 0.55, 12.5}", [450.0, 550.0, 12500.0]),  # VNIR to thermal
    ("Nanometers", "{1, 2, 3}", [1.0, 2.0, 3.0]),  # band numbers, not µm: as declared
    ("Nanometers", "{0.001, 0.002, 0.003}", [0.001, 0.002, 0.003]),  # hopeless: as declared
    ("Nanometers", "{90, 150, 200}", [90.0, 150.0, 200.0]),  # some band in range: as declared
])
def test_plausible_or_hopeless_declared_units_are_kept(tmp_path, units, values, expected):
    hdr, _ = write_raw(tmp_path, DATA, [f"wavelength units = {units}",
                                        f"wavelength = {values}"])
    np.testing.assert_allclose(hsi.open(hdr).wavelengths, expected)


def test_missing_data_file_message_lists_every_extension_looked_for(tmp_path):
    hdr, img = write_raw(tmp_path, DATA, [])
    img.unlink()
    result = CliRunner().invoke(cli, ["info", str(hdr)])
    assert result.exit_code == 2
    line, = result.output.strip().splitlines()
    assert line.startswith("hsi: error: ") and "raw.hdr: ENVI data file not found" in line
    assert ".hyspex" in line and ".bin" in line  # HySpex's and others' names are looked for


def _envi_tiff(tmp_path, header_name, *, bands=3):
    """A GeoTIFF with no wavelengths and ENVI's sidecar header (``file type = TIFF``)."""
    tif = tmp_path / "scene.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=4, height=2, count=3,
                       dtype="float32") as dst:
        dst.write(DATA)
    (tmp_path / header_name).write_text(
        f"ENVI\ndescription = {{ENVI TIFF sidecar}}\nsamples = 4\nlines = 2\nbands = {bands}\n"
        "header offset = 0\nfile type = TIFF\ndata type = 4\ninterleave = bsq\n"
        "byte order = 0\nwavelength units = Micrometers\nwavelength = {0.45, 0.55, 0.65}\n"
        "fwhm = {0.01, 0.012, 0.015}\nband names = {Blue, Green, Red}\n")
    return tif, tmp_path / header_name


@pytest.mark.parametrize("header_name", ["scene.hdr", "scene.tif.hdr"])
def test_envi_tiff_sidecar_gives_the_wavelengths(tmp_path, header_name):
    tif, hdr = _envi_tiff(tmp_path, header_name)
    for path in (tif, hdr):  # the header opens its TIFF (no "ENVI data file not found")
        cube = hsi.open(path)
        np.testing.assert_array_equal(cube.data, DATA)
        np.testing.assert_allclose(cube.wavelengths, WL)
        np.testing.assert_allclose(cube.fwhm, [10.0, 12.0, 15.0])
        assert cube.metadata["band_names"] == ["Blue", "Green", "Red"]


def test_envi_tiff_sidecar_of_another_band_count_is_ignored(tmp_path):
    tif, _ = _envi_tiff(tmp_path, "scene.hdr", bands=4)
    cube = hsi.open(tif)
    assert cube.wavelengths is None
    np.testing.assert_array_equal(cube.data, DATA)


def test_header_of_an_envi_pair_beside_a_tiff_is_not_a_sidecar(tmp_path):
    hdr, _ = write_raw(tmp_path, DATA * 2, ["wavelength = {400, 500, 600}"], name="scene")
    with rasterio.open(tmp_path / "scene.tif", "w", driver="GTiff", width=4, height=2, count=3,
                       dtype="float32") as dst:
        dst.write(DATA)
    np.testing.assert_array_equal(hsi.open(hdr).data, DATA * 2)
    assert hsi.open(tmp_path / "scene.tif").wavelengths is None


def test_data_file_takes_its_own_appended_header_first_as_gdal_does(tmp_path):
    hdr, img = write_raw(tmp_path, DATA, ["wavelength = {450, 550, 650}"], name="scene")
    (tmp_path / "scene.img.hdr").write_text(
        hdr.read_text().replace("{450, 550, 650}", "{1450, 1550, 1650}"))
    np.testing.assert_allclose(hsi.open(img).wavelengths, [1450.0, 1550.0, 1650.0])
    with rasterio.open(img) as src:  # GDAL's ENVI driver agrees
        assert float(src.tags(1)["wavelength"]) == 1450.0
    np.testing.assert_allclose(hsi.open(hdr).wavelengths, WL)  # a header names its own choice


def test_nanometres_written_under_gdal_micrometre_keys(tmp_path):
    path = _tagged_tif(tmp_path / "imagery.tif", ns="IMAGERY", CENTRAL_WAVELENGTH_UM="{}",
                       FWHM_UM="10")
    cube = hsi.open(path)
    np.testing.assert_allclose(cube.wavelengths, WL)
    np.testing.assert_allclose(cube.fwhm, [10.0, 10.0, 10.0])
