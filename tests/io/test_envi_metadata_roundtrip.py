"""ENVI ``bbl``, ``band names`` and ``reflectance scale factor`` through ``hsi convert``.

ENVI → ENVI keeps the header fields as they are; ENVI → GeoTIFF → ENVI carries them in the band
descriptions and the dataset tags ``bbl`` / ``reflectance_scale_factor``. Per-band lists that no
longer match the cube's bands are dropped rather than written wrong, and the scale factor is
descriptive only: no reader scales the pixels by it.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import spectral.io.envi as spy_envi
from click.testing import CliRunner

import hsi
from hsi.cli.main import cli

WL = [450.0, 550.0, 650.0, 850.0]
NAMES = ["Blue", "Green 2", "Red (edge)", "NIR"]
BBL = [1, 0, 1, 1]
SCALE = 10000


def envi_source(folder, **metadata) -> tuple:
    """A 4-band int16 ENVI cube written by SPy with the fields under test; ``(hdr, data)``."""
    data = np.arange(4 * 3 * 5, dtype=np.int16).reshape(4, 3, 5) * 100  # (bands, H, W)
    fields = {"wavelength": WL, "wavelength units": "Nanometers", "band names": NAMES,
              "bbl": BBL, "reflectance scale factor": SCALE, "data ignore value": -1}
    fields.update(metadata)
    fields = {k: v for k, v in fields.items() if v is not None}
    hdr = folder / "src.hdr"
    spy_envi.save_image(str(hdr), data.transpose(1, 2, 0), metadata=fields, interleave="bil",
                        ext=".img")
    return hdr, data


def convert(src, dst) -> None:
    result = CliRunner().invoke(cli, ["convert", str(src), str(dst)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def header(path) -> dict:
    return spy_envi.read_envi_header(str(path))


def assert_envi_fields(path, *, names=NAMES, bbl=BBL, scale=SCALE) -> None:
    h = header(path)
    assert h["band names"] == names
    assert [int(v) for v in h["bbl"]] == bbl
    assert float(h["reflectance scale factor"]) == scale
    assert float(h["data ignore value"]) == -1


def test_envi_to_envi_keeps_header_fields(tmp_path):
    src, data = envi_source(tmp_path)
    convert(src, tmp_path / "out.hdr")
    assert_envi_fields(tmp_path / "out.hdr")
    back = hsi.open(tmp_path / "out.hdr")
    np.testing.assert_array_equal(back.data, data)
    np.testing.assert_allclose(back.wavelengths, WL)
    assert back.nodata == -1
    assert back.metadata["band_names"] == NAMES
    assert back.metadata["bbl"] == BBL
    assert back.metadata["reflectance_scale_factor"] == SCALE


def test_envi_geotiff_envi_round_trip(tmp_path):
    src, data = envi_source(tmp_path)
    tif, hdr = tmp_path / "mid.tif", tmp_path / "back.hdr"
    convert(src, tif)
    with rasterio.open(tif) as ds:
        assert list(ds.descriptions) == NAMES
        tags = ds.tags()
        imagery = [float(ds.tags(b, ns="IMAGERY")["CENTRAL_WAVELENGTH_UM"]) for b in (1, 2, 3, 4)]
    np.testing.assert_allclose(imagery, np.array(WL) / 1e3)  # wavelengths still in IMAGERY
    assert "bbl" in tags and "reflectance_scale_factor" in tags
    mid = hsi.open(tif)
    np.testing.assert_allclose(mid.wavelengths, WL)  # not taken from the new descriptions
    assert mid.metadata["band_names"] == NAMES
    assert mid.metadata["bbl"] == BBL
    assert mid.metadata["reflectance_scale_factor"] == SCALE
    convert(tif, hdr)
    assert_envi_fields(hdr)
    back = hsi.open(hdr)
    np.testing.assert_array_equal(back.data, data)
    np.testing.assert_allclose(back.wavelengths, WL)


def test_names_from_wavelengths_only_without_own_names(tmp_path, rng):
    data = rng.random((3, 2, 4)).astype(np.float32)
    plain = hsi.Cube(data, wavelengths=[500.0, 600.5, 700.0])
    hsi.save(plain, tmp_path / "plain.hdr")
    assert header(tmp_path / "plain.hdr")["band names"] == ["500 nm", "600.5 nm", "700 nm"]
    hsi.save(plain, tmp_path / "plain.tif")
    assert "band_names" not in hsi.open(tmp_path / "plain.tif").metadata  # restates wavelengths
    named = plain.with_data(data)
    named.metadata["band_names"] = ["a", "b", "c"]
    hsi.save(named, tmp_path / "named.hdr")
    assert header(tmp_path / "named.hdr")["band names"] == ["a", "b", "c"]


def test_band_subset_drops_stale_lists_and_keeps_scale(tmp_path):
    src, _ = envi_source(tmp_path)
    cube = hsi.open(src)
    keep = [0, 2, 3]
    stale = cube.with_data(cube.data[keep], wavelengths=cube.wavelengths[keep])
    assert len(stale.metadata["band_names"]) == 4  # Cube has no band selection of its own
    hsi.save(stale, tmp_path / "stale.hdr")
    h = header(tmp_path / "stale.hdr")
    assert int(h["bands"]) == 3
    assert h["band names"] == ["450 nm", "650 nm", "850 nm"]
    assert "bbl" not in h
    assert float(h["reflectance scale factor"]) == SCALE  # one value for the file: still true
    hsi.save(stale, tmp_path / "stale.tif")
    with rasterio.open(tmp_path / "stale.tif") as ds:
        assert list(ds.descriptions) == ["450 nm", "650 nm", "850 nm"]
        assert "bbl" not in ds.tags()
        assert float(ds.tags()["reflectance_scale_factor"]) == SCALE
    subset = stale.with_data(stale.data)  # the lists subset along with the bands
    subset.metadata.update(band_names=[NAMES[i] for i in keep], bbl=[BBL[i] for i in keep])
    hsi.save(subset, tmp_path / "subset.hdr")
    assert_envi_fields(tmp_path / "subset.hdr", names=["Blue", "Red (edge)", "NIR"],
                      bbl=[1, 1, 1])


@pytest.mark.parametrize("ext", [".hdr", ".tif"])
def test_scale_factor_is_kept_and_divides_only_on_normalising(tmp_path, ext):
    from hsi.degrade import normalize_reflectance, reflectance_scale

    src, data = envi_source(tmp_path)
    out = tmp_path / f"out{ext}"
    convert(src, out)
    back = hsi.open(out)
    assert back.metadata["reflectance_scale_factor"] == SCALE
    np.testing.assert_array_equal(back.data, data)  # kept as stored
    assert reflectance_scale(back) == SCALE  # ENVI's divisor to reflectance
    normalized, _ = normalize_reflectance(back)  # divided: the factor no longer applies
    np.testing.assert_allclose(normalized.data[data != -1], data[data != -1] / SCALE,
                               rtol=1e-6)
    hsi.save(normalized, tmp_path / f"norm{ext}")
    assert "reflectance_scale_factor" not in hsi.open(tmp_path / f"norm{ext}").metadata
    assert hsi.open(tmp_path / f"norm{ext}").metadata["bbl"] == BBL


def test_malformed_fields_leave_the_cube_readable(tmp_path):
    src, data = envi_source(tmp_path, **{"reflectance scale factor": "n/a", "bbl": [1, 0],
                                         "band names": ["one", "two"]})
    cube = hsi.open(src)
    np.testing.assert_array_equal(cube.data, data)
    assert not {"reflectance_scale_factor", "bbl", "band_names"} & set(cube.metadata)
    convert(src, tmp_path / "out.hdr")
    h = header(tmp_path / "out.hdr")
    assert "bbl" not in h and "reflectance scale factor" not in h
    assert h["band names"] == ["450 nm", "550 nm", "650 nm", "850 nm"]


def test_geotiff_gdal_envi_domain_is_read(tmp_path):
    """GDAL's ENVI driver names these fields ``bbl`` / ``reflectance_scale_factor`` in an
    ``ENVI`` metadata domain, in ENVI's list syntax."""
    path = tmp_path / "gdal.tif"
    with rasterio.open(path, "w", driver="GTiff", count=4, height=2, width=3,
                       dtype="uint16") as dst:
        dst.write(np.ones((4, 2, 3), np.uint16))
        dst.update_tags(ns="ENVI", bbl="{ 1 , 0 , 1 , 1 }", reflectance_scale_factor="10000")
    cube = hsi.open(path)
    assert cube.metadata["bbl"] == BBL
    assert cube.metadata["reflectance_scale_factor"] == SCALE
    hsi.save(cube, tmp_path / "gdal.hdr")
    assert [int(v) for v in header(tmp_path / "gdal.hdr")["bbl"]] == BBL
