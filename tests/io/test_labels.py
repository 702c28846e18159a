"""Label rasters in, class maps (uint8 GeoTIFF with colour table and names) out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import scipy.io
from affine import Affine
from rasterio.crs import CRS

import hsi
from hsi.errors import FormatError, HsiIOError
from hsi.io.labels import default_colors, read_class_map, read_labels, write_class_map

T = Affine(3.7, 0.0, 600_000.0, 0.0, -3.7, 4_060_000.0)


def test_salinas_a_ground_truth(data_dir):
    labels, crs, transform = read_labels(data_dir / "salinas_a" / "SalinasA_gt.mat")
    assert labels.shape == (83, 86) and labels.dtype == np.int64
    assert crs is None and transform is None
    values, counts = np.unique(labels, return_counts=True)
    assert values.tolist() == [0, 1, 10, 11, 12, 13, 14]
    assert counts[1:].tolist() == [391, 1343, 616, 1525, 674, 799]


def test_class_map_round_trip(tmp_path, rng):
    labels = rng.integers(0, 4, (9, 11)).astype(np.uint8)
    out = write_class_map(tmp_path / "map.tif", labels, crs=CRS.from_epsg(32610),
                          transform=T, class_names=["corn", "grass", "water"])
    back, crs, transform = read_labels(out)
    np.testing.assert_array_equal(back, labels)
    assert crs == CRS.from_epsg(32610) and transform == T
    with rasterio.open(out) as src:  # what any GIS sees
        assert src.dtypes[0] == "uint8"
        assert json.loads(src.tags()["CLASS_NAMES"]) == ["corn", "grass", "water"]
        assert src.descriptions[0] == "class: 1=corn, 2=grass, 3=water"
        cmap = src.colormap(1)
    assert cmap[0] == (0, 0, 0, 255)
    assert [cmap[i][:3] for i in (1, 2, 3)] == default_colors(3)
    _, names, colours = read_class_map(out)
    assert names == ["corn", "grass", "water"] and sorted(colours) == [0, 1, 2, 3]


def test_custom_colours(tmp_path):
    out = write_class_map(tmp_path / "c.tif", np.array([[0, 1], [2, 1]], np.uint8), crs=None,
                          transform=None, class_names=["a", "b"],
                          colors=[(10, 20, 30), (200, 100, 0)])
    _, _, cmap = read_class_map(out)
    assert cmap[1] == (10, 20, 30, 255) and cmap[2] == (200, 100, 0, 255)


def test_default_colours_distinct():
    colours = default_colors(40)
    assert len(set(colours)) == 40 and (0, 0, 0) not in colours


def test_label_out_of_range_writes_nothing(tmp_path):
    with pytest.raises(FormatError, match=r"one of the class codes \[1, 2\], got \[3\]"):
        write_class_map(tmp_path / "m.tif", np.array([[0, 3]], np.uint8), crs=None,
                        transform=None, class_names=["a", "b"])
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(HsiIOError):
        write_class_map(tmp_path / "f" / "m.tif", np.zeros((2, 2), np.uint8), crs=None,
                        transform=None, class_names=["a"])


def test_envi_labels(tmp_path, rng):
    labels = rng.integers(0, 7, (1, 5, 6)).astype(np.uint8)
    hsi.save(hsi.Cube(labels, crs="EPSG:32610", transform=T), tmp_path / "gt.hdr")
    back, crs, transform = read_labels(tmp_path / "gt.hdr")
    np.testing.assert_array_equal(back, labels[0])
    assert crs == CRS.from_epsg(32610) and transform == T


def test_mat_labels_choice_and_errors(tmp_path):
    gt = np.array([[0, 1], [2, 2]], dtype=np.uint8)
    scipy.io.savemat(tmp_path / "gt.mat", {"gt": gt, "names": np.array(["a", "b"])})
    np.testing.assert_array_equal(read_labels(tmp_path / "gt.mat")[0], gt)
    scipy.io.savemat(tmp_path / "two.mat", {"gt": gt, "test_gt": gt})
    with pytest.raises(FormatError, match="several"):
        read_labels(tmp_path / "two.mat")
    np.testing.assert_array_equal(read_labels(tmp_path / "two.mat", var="test_gt")[0], gt)
    scipy.io.savemat(tmp_path / "frac.mat", {"gt": np.array([[0.5, 1.0], [2, 2]])})
    with pytest.raises(FormatError, match="whole numbers"):
        read_labels(tmp_path / "frac.mat")


def test_multiband_tiff_is_not_labels(tmp_path, rng):
    hsi.save(hsi.Cube(rng.random((2, 3, 3)).astype(np.float32)), tmp_path / "two.tif")
    with pytest.raises(FormatError, match="must have 1 band, got 2"):
        read_labels(tmp_path / "two.tif")
