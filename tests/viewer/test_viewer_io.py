"""The plugin's manifest, reader, writers, sample data and layer conversions."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import SAMPLE_TRANSFORM, canvas_std

pytestmark = pytest.mark.gui


def test_manifest_validates_with_imports():
    """``npe2 validate hsikit --imports``: schema valid and every python_name importable."""
    from npe2.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["validate", "hsikit", "--imports"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_manifest_is_the_installed_entry_point():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("hsikit")
    assert manifest.name == "hsikit"
    contrib = manifest.contributions
    assert {w.display_name for w in contrib.widgets} == {"Spectrum", "True colour", "Fuse",
                                                         "Cluster", "Classify", "Band math"}
    assert {s.key for s in contrib.sample_data} == {"salinas_a", "fusion_pair", "indian_pines",
                                                   "jasper_ridge", "samson"}
    assert contrib.readers[0].accepts_directories


def test_plane_geometry_overlays_lr_and_hr():
    """An LR pixel's centre lands on the centre of its ratio × ratio HR block."""
    from affine import Affine

    from hsi.viewer._convert import plane_geometry

    hr = Affine(10.0, 0, 500000.0, 0, -10.0, 4000000.0)
    lr = hr @ Affine.scale(4)
    (sy_h, sx_h), (ty_h, tx_h) = plane_geometry(hr)
    (sy_l, sx_l), (ty_l, tx_l) = plane_geometry(lr)
    assert (sy_h, sx_h, sy_l, sx_l) == (10.0, 10.0, 40.0, 40.0)
    assert (ty_h, tx_h) == (-3999995.0, 500005.0)
    # LR pixel (0, 0) covers HR rows/cols 0..3: its centre is halfway between HR pixels 1 and 2
    assert ty_l == pytest.approx(ty_h + 1.5 * sy_h)
    assert tx_l == pytest.approx(tx_h + 1.5 * sx_h)
    assert plane_geometry(None, ratio=4) == ((4.0, 4.0), (1.5, 1.5))


def test_reader_gives_cube_layer_with_georeference(sample, sample_tif):
    from hsi.viewer._reader import napari_get_reader

    reader = napari_get_reader(str(sample_tif))
    assert reader is not None
    (data, attrs, kind), (rgb, rgb_attrs, _) = reader(str(sample_tif))
    assert kind == "image" and rgb.shape == (83, 86, 3) and rgb_attrs["rgb"]
    assert data.shape == (204, 83, 86)
    np.testing.assert_array_equal(np.asarray(data), np.asarray(sample.data))
    meta = attrs["metadata"]
    np.testing.assert_allclose(meta["wavelengths"], sample.wavelengths)
    np.testing.assert_allclose(meta["fwhm"], sample.fwhm)
    assert "UTM zone 10N" in meta["crs"]
    assert meta["transform"] == pytest.approx(SAMPLE_TRANSFORM)
    assert attrs["scale"] == pytest.approx((1.0, 3.7, 3.7))
    assert attrs["translate"] == pytest.approx((0.0, -(4060000.0 - 1.85), 620000.0 + 1.85))
    assert attrs["axis_labels"] == ("band", "y", "x")


def test_lazy_cube_layer_stays_dask(sample, sample_tif):
    """A lazily opened cube is handed to napari as dask, contrast (2-98 %) set from the band
    napari shows first: the middle one."""
    import dask.array as da

    import hsi
    from hsi.viewer._convert import cube_layer_data

    cube = hsi.open(sample_tif, lazy=True)
    data, attrs, _ = cube_layer_data(cube)
    assert isinstance(data, da.Array)
    expected = np.percentile(np.asarray(sample.data[101], np.float64), [2.0, 98.0])
    assert attrs["contrast_limits"] == pytest.approx(tuple(expected))


def test_viewer_opens_sample_through_plugin(make_napari_viewer, sample, sample_tif):
    viewer = make_napari_viewer(show=True)
    layer, rgb = viewer.open(str(sample_tif), plugin="hsikit")
    assert layer.data.shape == (204, 83, 86)
    assert rgb.rgb and rgb.data.shape == (83, 86, 3) and rgb.scale == pytest.approx((3.7, 3.7))
    assert layer.scale == pytest.approx((1.0, 3.7, 3.7))
    assert set(layer.metadata) >= {"wavelengths", "fwhm", "crs", "transform"}
    assert layer.metadata["transform"] == pytest.approx(SAMPLE_TRANSFORM)
    assert viewer.dims.current_step[0] == 101
    assert viewer.dims.axis_labels == (f"λ = {sample.wavelengths[101]:.1f} nm", "y", "x")
    viewer.dims.set_current_step(0, 30)
    assert viewer.dims.axis_labels[0] == f"λ = {sample.wavelengths[30]:.1f} nm"
    assert canvas_std(viewer) > 5


def test_reader_declines_non_cubes(tmp_path):
    from hsi.viewer._reader import napari_get_reader

    text = tmp_path / "notes.txt"
    text.write_text("not a cube")
    fake_tif = tmp_path / "fake.tif"
    fake_tif.write_text("a text file named .tif")
    lonely_img = tmp_path / "data.img"
    lonely_img.write_bytes(b"\0" * 64)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    from scipy.io import savemat

    savemat(tmp_path / "scalar.mat", {"x": 3.0})
    for path in (text, fake_tif, lonely_img, empty_dir, tmp_path / "scalar.mat",
                 tmp_path / "missing.hdr"):
        assert napari_get_reader(str(path)) is None, path
    assert napari_get_reader([str(text), str(fake_tif)]) is None


def test_broken_cube_notifies_instead_of_raising(tmp_path, sample):
    """An ENVI header whose data file is too short: a notification, no layer, no exception."""
    from napari.utils.notifications import notification_manager

    import hsi
    from hsi.viewer._reader import napari_get_reader

    hdr = hsi.save(sample, tmp_path / "broken.hdr")
    data_file = next(p for p in tmp_path.iterdir() if p.stem == "broken" and p != hdr)
    data_file.write_bytes(data_file.read_bytes()[:1000])
    reader = napari_get_reader(str(hdr))
    assert reader is not None  # clearly ours
    seen = []
    notification_manager.notification_ready.connect(seen.append)
    try:
        assert reader(str(hdr)) == [(None,)]  # napari's "nothing to show"
    finally:
        notification_manager.notification_ready.disconnect(seen.append)
    assert len(seen) == 1
    message = seen[0].message
    assert "broken" in message and "\n" not in message


def test_cave_folder_reader(tmp_path):
    import imageio.v3 as iio

    from hsi.viewer._reader import napari_get_reader

    folder = tmp_path / "toy_ms"
    folder.mkdir()
    rng = np.random.default_rng(0)
    bands = rng.integers(0, 65535, size=(3, 8, 10), dtype=np.uint16)
    for i, band in enumerate(bands, start=1):
        iio.imwrite(folder / f"toy_ms_{i:02d}.png", band)
    [(data, _, kind)] = napari_get_reader(str(folder))(str(folder))
    assert kind == "image" and data.shape == (3, 8, 10)
    np.testing.assert_allclose(np.asarray(data), bands / 65535.0, rtol=1e-6)


@pytest.mark.parametrize("suffix", [".tif", ".hdr"])
def test_image_writer_round_trip(tmp_path, sample, suffix):
    import hsi
    from hsi.viewer._convert import cube_layer_data
    from hsi.viewer._writer import write_image

    data, attrs, _ = cube_layer_data(sample)
    written = write_image(str(tmp_path / f"out{suffix}"), data, attrs)
    assert str(tmp_path / f"out{suffix}") in written
    back = hsi.open(tmp_path / f"out{suffix}")
    np.testing.assert_allclose(np.asarray(back.data), np.asarray(sample.data))
    np.testing.assert_allclose(back.wavelengths, sample.wavelengths)
    assert back.crs == sample.crs
    assert tuple(back.transform)[:6] == pytest.approx(SAMPLE_TRANSFORM)


@pytest.mark.parametrize("suffix", [".tif", ".hdr"])
def test_image_writer_keeps_what_the_values_mean(tmp_path, sample, suffix):
    """An int16 cube of reflectance × 10 000 opened in napari and saved with the hsikit writer
    lost its reflectance scale factor and band names (hsi fuse then had to guess the scale)."""
    import hsi
    from hsi.viewer._reader import read_cube
    from hsi.viewer._writer import write_image

    names = [f"B{i:03d}" for i in range(sample.bands)]
    scaled = hsi.Cube((np.asarray(sample.data) * 10000).astype(np.int16),
                      wavelengths=sample.wavelengths, crs=sample.crs, transform=sample.transform,
                      metadata={"reflectance_scale_factor": 10000.0, "band_names": names,
                                "bbl": [1] * (sample.bands - 1) + [0]})
    source = hsi.save(scaled, tmp_path / f"in{suffix}")
    data, attrs, _ = read_cube(str(source))[0]
    out = tmp_path / f"out{suffix}"
    assert str(out) in write_image(str(out), data, attrs)  # (ENVI: the header and its data)
    back = hsi.open(out)
    assert back.metadata["reflectance_scale_factor"] == 10000.0
    assert list(back.metadata["band_names"]) == names
    assert [int(b) for b in back.metadata["bbl"]] == [1] * (sample.bands - 1) + [0]
    np.testing.assert_array_equal(np.asarray(back.data), np.asarray(scaled.data))


def test_labels_writer_keeps_colours_and_names(tmp_path, sample):
    import rasterio

    from hsi.io.labels import read_labels
    from hsi.viewer._convert import georef_metadata
    from hsi.viewer._writer import write_labels

    labels = np.zeros((83, 86), dtype=np.uint8)
    labels[:40] = 1
    labels[40:, :20] = 2
    meta = {**georef_metadata(sample), "class_names": {1: "lettuce", 2: "corn"},
            "class_colors": {1: (255, 0, 0), 2: (0, 0, 255)}}
    path = tmp_path / "map.tif"
    assert write_labels(str(path), labels, {"name": "map", "metadata": meta}) == [str(path)]
    back, crs, transform = read_labels(path)
    np.testing.assert_array_equal(back, labels)
    assert crs == sample.crs and tuple(transform)[:6] == pytest.approx(SAMPLE_TRANSFORM)
    with rasterio.open(path) as src:
        cmap = src.colormap(1)
        tags = src.tags()
    assert cmap[1][:3] == (255, 0, 0) and cmap[2][:3] == (0, 0, 255)
    assert "lettuce" in tags["CLASS_NAMES"] and "corn" in tags["CLASS_NAMES"]


def test_sample_data_layers(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    cube_layers = viewer.open_sample("hsikit", "salinas_a")
    assert [layer.data.shape for layer in cube_layers] == [(204, 83, 86), (83, 86, 3), (83, 86)]
    cube, rgb, truth = cube_layers
    assert len(truth.metadata["class_names"]) == 6
    # in true colour on top, as opening the file shows it (the band layer under it)
    assert rgb.rgb and rgb.visible and rgb.name == "Salinas-A true colour"
    assert rgb.metadata["rgb_wavelengths"][0] == pytest.approx(640, abs=10)
    assert tuple(rgb.scale) == tuple(cube.scale[-2:])
    assert viewer.layers.index(rgb) > viewer.layers.index(cube)
    assert float(np.std(np.asarray(rgb.data, dtype=float).mean(axis=(0, 1)))) > 1  # not grey
    pair = viewer.open_sample("hsikit", "fusion_pair")
    ref, lr, hr, hr_rgb = pair
    assert ref.data.shape == (204, 80, 84) and lr.data.shape == (204, 20, 21)
    assert hr.data.shape[1:] == (80, 84) and hr.data.shape[0] < 20
    # the MSI, with its 12 bands, is shown as its own RGB layer (its band layer hidden)
    assert hr_rgb.rgb and hr_rgb.data.shape == (80, 84, 3) and hr_rgb.visible
    assert not hr.visible and hr_rgb.metadata["rgb_wavelengths"][1] == pytest.approx(560, abs=5)
    assert hr_rgb.scale == pytest.approx(hr.scale[1:])
    # LR pixels are 4x larger and centred on their 4x4 HR blocks: the two overlay
    np.testing.assert_allclose(lr.scale[1:], 4 * np.asarray(hr.scale[1:]))
    np.testing.assert_allclose(lr.translate[1:], hr.translate[1:] + 1.5)

    def edges(layer):  # world position of the first and last pixels' outer edges
        scale, translate = np.asarray(layer.scale[1:]), np.asarray(layer.translate[1:])
        shape = np.asarray(layer.data.shape[1:])
        return translate - scale / 2, translate + scale * (shape - 0.5)

    np.testing.assert_allclose(edges(lr), edges(hr))
    assert canvas_std(viewer) > 5


def test_registered_scene_samples(make_napari_viewer, data_dir, monkeypatch, tmp_path):
    """Indian Pines from the data folder: its cube (file-order wavelengths) and its 16-class
    ground truth as layers; without the files, the error says how to get them."""
    from hsi.data import load
    from hsi.errors import DatasetNotFoundError
    from hsi.viewer._sample_data import registered_scene_layers

    viewer = make_napari_viewer(show=True)
    monkeypatch.setenv("HSI_DATA_DIR", str(data_dir))
    cube, rgb, truth = viewer.open_sample("hsikit", "indian_pines")
    assert rgb.rgb and rgb.data.shape == (145, 145, 3)
    sample = load("indian_pines", root=data_dir)
    assert cube.data.shape == (200, 145, 145) and truth.data.shape == (145, 145)
    np.testing.assert_array_equal(np.asarray(cube.data[:, 70, 70]), sample.cube.data[:, 70, 70])
    np.testing.assert_array_equal(truth.data, sample.labels)
    assert list(truth.metadata["class_names"].values()) == sample.class_names
    assert not truth.visible and canvas_std(viewer) > 5
    monkeypatch.setenv("HSI_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="samson"):
        registered_scene_layers("samson")
