"""Per-band scales and offsets (GDAL band scale/offset, ENVI ``data gain values`` / ``data
offset values``) travel through the readers and writers, descriptive only.

Landsat Collection 2 surface reflectance is stored as uint16 with scale 2.75e-05 and offset
-0.2; Sentinel-2 L2A as uint16 with scale 1/10000 and offset -1000/10000. A converted file
that loses them holds integers no other tool can bring back to reflectance. The pixels are
read and written as stored: no reader or writer applies them.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import spectral.io.envi as spy_envi
from click.testing import CliRunner

import hsi
from hsi.cli.main import cli
from hsi.degrade import normalize_reflectance
from hsi.errors import HsiIOError
from hsi.io.envi import band_metadata, envi_header_fields, parse_band_scaling, read_band_metadata
from hsi.io.geotiff import GeoTiffTileWriter

WL = [480.0, 560.0, 655.0, 865.0]
LANDSAT_SCALES = [2.75e-05] * 4
LANDSAT_OFFSETS = [-0.2] * 4
#: Differing per band, so that an order or band mix-up shows.
S2_SCALES = [1e-4, 2e-4, 1e-4, 5e-05]
S2_OFFSETS = [-0.1, -0.1, -0.05, 0.0]


def _pixels() -> np.ndarray:
    return (np.arange(4 * 3 * 5, dtype=np.uint16).reshape(4, 3, 5) * 731 + 7000)


def envi_source(folder, **fields) -> tuple:
    """A 4-band uint16 ENVI cube written by SPy (BIL) with ``fields``; ``(hdr, data)``."""
    data = _pixels()
    meta = {"wavelength": WL, "wavelength units": "Nanometers", **fields}
    hdr = folder / "src.hdr"
    spy_envi.save_image(str(hdr), data.transpose(1, 2, 0), metadata=meta, interleave="bil",
                        ext=".img")
    return hdr, data


def geotiff_source(folder, scales=S2_SCALES, offsets=S2_OFFSETS) -> tuple:
    """A 4-band uint16 GeoTIFF written by rasterio with band scales/offsets; ``(path, data)``."""
    data = _pixels()
    path = folder / "src.tif"
    with rasterio.open(path, "w", driver="GTiff", count=4, height=3, width=5,
                       dtype="uint16") as dst:
        dst.write(data)
        if scales is not None:
            dst.scales = tuple(scales)
        if offsets is not None:
            dst.offsets = tuple(offsets)
    return path, data


def convert(src, dst) -> None:
    result = CliRunner().invoke(cli, ["convert", str(src), str(dst)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def header_scaling(hdr) -> tuple:
    """``(data gain values, data offset values)`` of a header as floats (``None`` if absent)."""
    h = spy_envi.read_envi_header(str(hdr))
    gains, offsets = h.get("data gain values"), h.get("data offset values")
    return (None if gains is None else [float(v) for v in gains],
            None if offsets is None else [float(v) for v in offsets])


def gdal_scaling(path) -> tuple:
    """``(scales, offsets)`` as GDAL (rasterio) reads them from ``path``."""
    with rasterio.open(path) as src:
        return list(src.scales), list(src.offsets)


# --- the helpers -----------------------------------------------------------------------------

@pytest.mark.parametrize(("scales", "offsets", "expected"), [
    ("{2.75e-05, 2.75e-05}", "{-0.2, -0.2}", ([2.75e-05] * 2, [-0.2] * 2)),
    (["0.0001", "0.0001"], None, ([1e-4] * 2, [0.0, 0.0])),  # SPy's lists; offsets default 0
    (None, [-1000, 0], ([1.0, 1.0], [-1000.0, 0.0])),  # scales default 1
    ((1.0, 1.0), (0.0, 0.0), None),  # rasterio's defaults: nothing scaled
    (None, None, None),
    ("{1e-4, 1e-4, 1e-4}", None, None),  # three values for two bands
    ([1e-4], [0.0, 0.0], None),
    ("{0.0001, abc}", None, None),  # not numbers
    ([1e-4, float("nan")], None, None),
    ([1e-4, 1e-4], [0.0, float("inf")], None),
    ([0.0, 1e-4], None, None),  # a zero scale maps every value to the offset
    ({"a": 1}, None, None),
])
def test_parse_band_scaling(scales, offsets, expected):
    assert parse_band_scaling(scales, offsets, 2) == expected


def test_read_band_metadata_lists_floats_only_when_scaled():
    meta = read_band_metadata(None, None, None, bands=2, scales=("2.75e-05", "2.75e-05"),
                              offsets=("-0.2", "-0.2"))
    assert meta == {"band_scales": [2.75e-05] * 2, "band_offsets": [-0.2] * 2}
    assert all(type(v) is float for v in meta["band_scales"] + meta["band_offsets"])
    assert read_band_metadata(None, None, None, bands=2, scales=(1.0, 1.0),
                              offsets=(0.0, 0.0)) == {}


def test_band_metadata_drops_stale_and_applied_scaling():
    cube = hsi.Cube(_pixels(), wavelengths=WL,
                    metadata={"band_scales": S2_SCALES, "band_offsets": S2_OFFSETS})
    assert band_metadata(cube) == {"band_scales": S2_SCALES, "band_offsets": S2_OFFSETS}
    subset = cube.with_data(cube.data[:2], wavelengths=WL[:2])
    assert "band_scales" not in band_metadata(subset)
    assert "band_offsets" not in band_metadata(subset)
    applied = cube.with_data(cube.data, metadata={**cube.metadata,
                                                  "reflectance_scale_applied": 10000.0})
    assert "band_scales" not in band_metadata(applied)
    fields = envi_header_fields(cube, np.dtype(np.uint16))
    assert fields["data gain values"] == ["0.0001", "0.0002", "0.0001", "5e-05"]
    assert fields["data offset values"] == ["-0.1", "-0.1", "-0.05", "0"]


# --- readers ---------------------------------------------------------------------------------

def test_envi_reader_keeps_gains_and_offsets_pixels_as_stored(tmp_path):
    hdr, data = envi_source(tmp_path, **{"data gain values": LANDSAT_SCALES,
                                         "data offset values": LANDSAT_OFFSETS})
    cube = hsi.open(hdr)
    assert cube.metadata["band_scales"] == LANDSAT_SCALES
    assert cube.metadata["band_offsets"] == LANDSAT_OFFSETS
    assert cube.dtype == np.uint16
    np.testing.assert_array_equal(cube.data, data)


def test_envi_gain_without_offset(tmp_path):
    hdr, _ = envi_source(tmp_path, **{"data gain values": S2_SCALES})
    cube = hsi.open(hdr)
    assert cube.metadata["band_scales"] == S2_SCALES
    assert cube.metadata["band_offsets"] == [0.0] * 4


@pytest.mark.parametrize("fields", [
    {"data gain values": [1, 1, 1, 1], "data offset values": [0, 0, 0, 0]},
    {"data gain values": [2.75e-05] * 3, "data offset values": [-0.2] * 3},  # wrong length
    {"data gain values": ["x", "y", "z", "w"]},  # malformed
])
def test_envi_unscaled_or_malformed_gains_are_left_out(tmp_path, fields):
    hdr, data = envi_source(tmp_path, **fields)
    cube = hsi.open(hdr)
    assert "band_scales" not in cube.metadata
    assert "band_offsets" not in cube.metadata
    np.testing.assert_array_equal(cube.data, data)


def test_geotiff_reader_keeps_scales_and_offsets_pixels_as_stored(tmp_path):
    path, data = geotiff_source(tmp_path)
    for lazy in (False, True):
        cube = hsi.open(path, lazy=lazy)
        assert cube.metadata["band_scales"] == S2_SCALES
        assert cube.metadata["band_offsets"] == S2_OFFSETS
        assert cube.dtype == np.uint16
        np.testing.assert_array_equal(np.asarray(cube.data), data)


def test_geotiff_without_scaling_has_no_entries(tmp_path):
    path, _ = geotiff_source(tmp_path, scales=None, offsets=None)
    cube = hsi.open(path)
    assert "band_scales" not in cube.metadata
    assert "band_offsets" not in cube.metadata


# --- writers and round trips -----------------------------------------------------------------

def test_envi_geotiff_envi_round_trip(tmp_path):
    src, data = envi_source(tmp_path, **{"data gain values": LANDSAT_SCALES,
                                         "data offset values": LANDSAT_OFFSETS})
    tif, hdr = tmp_path / "mid.tif", tmp_path / "back.hdr"
    convert(src, tif)
    assert gdal_scaling(tif) == (LANDSAT_SCALES, LANDSAT_OFFSETS)
    assert not (tmp_path / "mid.tif.aux.xml").exists()  # in the TIFF itself, not a sidecar
    with rasterio.open(tif) as ds:
        np.testing.assert_array_equal(ds.read(), data)  # stored, not scaled
    convert(tif, hdr)
    assert header_scaling(hdr) == (LANDSAT_SCALES, LANDSAT_OFFSETS)
    assert gdal_scaling(tmp_path / "back.img") == (LANDSAT_SCALES, LANDSAT_OFFSETS)
    back = hsi.open(hdr)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.data, data)
    assert back.metadata["band_scales"] == LANDSAT_SCALES
    assert back.metadata["band_offsets"] == LANDSAT_OFFSETS


def test_geotiff_envi_geotiff_round_trip(tmp_path):
    src, data = geotiff_source(tmp_path)
    hdr, tif = tmp_path / "mid.hdr", tmp_path / "back.tif"
    convert(src, hdr)
    assert header_scaling(hdr) == (S2_SCALES, S2_OFFSETS)
    assert gdal_scaling(tmp_path / "mid.img") == (S2_SCALES, S2_OFFSETS)
    np.testing.assert_array_equal(hsi.open(hdr).data, data)
    convert(hdr, tif)
    assert gdal_scaling(tif) == (S2_SCALES, S2_OFFSETS)
    with rasterio.open(tif) as ds:
        assert ds.dtypes[0] == "uint16"
        np.testing.assert_array_equal(ds.read(), data)


@pytest.mark.parametrize("name", ["out.tif", "out.hdr"])
def test_band_subset_drops_scaling(tmp_path, name):
    cube = hsi.Cube(_pixels(), wavelengths=WL,
                    metadata={"band_scales": S2_SCALES, "band_offsets": S2_OFFSETS})
    subset = cube.with_data(cube.data[1:3], wavelengths=WL[1:3])
    out = hsi.save(subset, tmp_path / name)
    if name.endswith(".hdr"):
        assert header_scaling(out) == (None, None)
        gdal_path = tmp_path / "out.img"
    else:
        gdal_path = out
    assert gdal_scaling(gdal_path) == ([1.0, 1.0], [0.0, 0.0])
    assert "band_scales" not in hsi.open(out).metadata


@pytest.mark.parametrize("name", ["out.tif", "out.hdr"])
def test_normalised_reflectance_drops_scaling(tmp_path, name):
    hdr, data = envi_source(tmp_path, **{"data gain values": LANDSAT_SCALES,
                                         "data offset values": LANDSAT_OFFSETS,
                                         "reflectance scale factor": 10000})
    normalised, scale = normalize_reflectance(hsi.open(hdr))
    assert scale == 10000.0
    out = hsi.save(normalised, tmp_path / name)
    if name.endswith(".hdr"):
        assert header_scaling(out) == (None, None)
        gdal_path = tmp_path / "out.img"
    else:
        gdal_path = out
    assert gdal_scaling(gdal_path) == ([1.0] * 4, [0.0] * 4)
    back = hsi.open(out)
    assert "band_scales" not in back.metadata
    np.testing.assert_allclose(back.data, data / np.float32(10000), rtol=1e-6)


def test_tile_writer_scale_bands(tmp_path):
    path = tmp_path / "tiles.tif"
    writer = GeoTiffTileWriter(path, bands=2, height=4, width=4, dtype="int16", crs=None,
                               transform=None, nodata=None, wavelengths=None, fwhm=None,
                               tile=16)
    with pytest.raises(HsiIOError, match="not open"):
        writer.scale_bands([1e-4, 1e-4], [0.0, 0.0])
    block = np.full((2, 4, 4), 1234, dtype=np.int16)
    with writer:
        writer.write(block, rasterio.windows.Window(0, 0, 4, 4))
        writer.scale_bands([1e-4, 2.75e-05], [-0.1, -0.2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles.tif"]
    assert gdal_scaling(path) == ([1e-4, 2.75e-05], [-0.1, -0.2])
    with rasterio.open(path) as ds:
        np.testing.assert_array_equal(ds.read(), block)


# --- MATLAB .mat -----------------------------------------------------------------------------

def test_mat_round_trip_keeps_scales_and_offsets_pixels_as_stored(tmp_path):
    """Written as ``band_scales`` / ``band_offsets`` variables (1 × bands) beside ``cube``,
    read back into the same metadata keys; the pixels stay the stored integers."""
    import scipy.io

    cube = hsi.Cube(_pixels(), wavelengths=WL,
                    metadata={"band_scales": S2_SCALES, "band_offsets": S2_OFFSETS})
    out = hsi.save(cube, tmp_path / "c.mat")
    raw = scipy.io.loadmat(out)
    np.testing.assert_array_equal(raw["band_scales"], [S2_SCALES])
    np.testing.assert_array_equal(raw["band_offsets"], [S2_OFFSETS])
    back = hsi.open(out)
    assert back.metadata["band_scales"] == S2_SCALES
    assert back.metadata["band_offsets"] == S2_OFFSETS
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.data, _pixels())


def test_geotiff_mat_envi_round_trip(tmp_path):
    src, data = geotiff_source(tmp_path)
    mat, hdr = tmp_path / "mid.mat", tmp_path / "back.hdr"
    convert(src, mat)
    assert hsi.open(mat).metadata["band_scales"] == S2_SCALES
    convert(mat, hdr)
    assert header_scaling(hdr) == (S2_SCALES, S2_OFFSETS)
    np.testing.assert_array_equal(hsi.open(hdr).data, data)


def test_mat_without_or_with_stale_scaling_writes_none(tmp_path):
    """No scaling, a band subset (the lists no longer match) and normalised reflectance (the
    data divided already): no variables, no metadata."""
    import scipy.io

    cube = hsi.Cube(_pixels(), wavelengths=WL,
                    metadata={"band_scales": S2_SCALES, "band_offsets": S2_OFFSETS})
    subset = cube.with_data(cube.data[1:3], wavelengths=WL[1:3])
    applied = cube.with_data(cube.data, metadata={**cube.metadata,
                                                  "reflectance_scale_applied": 10000.0})
    for name, c in {"plain": hsi.Cube(_pixels()), "subset": subset,
                    "applied": applied}.items():
        out = hsi.save(c, tmp_path / f"{name}.mat")
        assert not {"band_scales", "band_offsets"} & set(scipy.io.loadmat(out)), name
        assert "band_scales" not in hsi.open(out).metadata, name


@pytest.mark.parametrize(("variables", "expected"), [
    ({"band_scales": np.array([S2_SCALES])}, (S2_SCALES, [0.0] * 4)),  # offsets default 0
    ({"band_scales": np.array([S2_SCALES[:3]]),  # one value short: left out
      "band_offsets": np.array([S2_OFFSETS[:3]])}, None),
    ({"band_scales": np.ones((1, 4)), "band_offsets": np.zeros((1, 4))}, None),  # unscaled
])
def test_mat_scaling_variables_of_other_files(tmp_path, variables, expected):
    import scipy.io

    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"img": _pixels().transpose(1, 2, 0), **variables})
    meta = hsi.open(path).metadata
    got = (meta["band_scales"], meta["band_offsets"]) if "band_scales" in meta else None
    assert got == expected
    assert expected is not None or "band_offsets" not in meta
