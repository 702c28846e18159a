"""Tile windows over an HR grid: exact cover, ratio alignment, overlap, stitching."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.windows import Window
from scipy.ndimage import uniform_filter

from hsi.errors import SensorError, ShapeError
from hsi.tiling import align_up, crop_to_core, stitch, tile_windows


class TestTileWindows:
    def test_hand_computed_edge_tile(self):
        tiles = tile_windows(100, 70, tile=32, overlap=8, ratio=4)
        assert len(tiles) == 4 * 3
        t = tiles[5]  # second tile row, third column: the right edge
        assert t.core == Window(64, 32, 6, 32)
        assert t.read == Window(56, 24, 14, 48)  # cols 56..70 (clipped), rows 24..72
        # LR: rows 6..18, cols 14..ceil(70 / 4) = 18
        assert t.lr_read == Window(14, 6, 4, 12)
        assert t.inner == (slice(8, 40), slice(8, 14))
        assert t.pixels == 6 * 32

    @pytest.mark.parametrize(("h", "w", "tile", "overlap", "ratio"),
                             [(64, 64, 16, 8, 4), (100, 70, 32, 5, 4), (37, 53, 10, 3, 1),
                              (48, 40, 9, 0, 3)])
    def test_cores_cover_grid_exactly_once(self, h, w, tile, overlap, ratio):
        count = np.zeros((h, w), dtype=int)
        for t in tile_windows(h, w, tile=tile, overlap=overlap, ratio=ratio):
            r, c = int(t.core.row_off), int(t.core.col_off)
            count[r:r + int(t.core.height), c:c + int(t.core.width)] += 1
            # the read window holds the core and stays inside the grid
            assert t.read.row_off <= r and t.read.col_off <= c
            assert t.read.row_off + t.read.height <= h and t.read.col_off + t.read.width <= w
        np.testing.assert_array_equal(count, 1)

    def test_offsets_aligned_and_lr_windows_exact(self):
        ratio = 4
        for t in tile_windows(64, 96, tile=30, overlap=5, ratio=ratio):
            for win in (t.core, t.read):
                assert win.row_off % ratio == 0 and win.col_off % ratio == 0
                assert win.height % ratio == 0 and win.width % ratio == 0
            assert t.lr_read == Window(t.read.col_off // ratio, t.read.row_off // ratio,
                                       t.read.width // ratio, t.read.height // ratio)

    def test_tile_and_overlap_rounded_up_to_ratio(self):
        tiles = tile_windows(64, 64, tile=30, overlap=5, ratio=4)
        assert tiles[0].core == Window(0, 0, 32, 32)
        assert tiles[0].read == Window(0, 0, 40, 40)  # overlap 5 -> 8
        assert align_up(5, 4) == 8 and align_up(8, 4) == 8 and align_up(0, 4) == 0

    def test_single_tile_when_tile_exceeds_grid(self):
        (t,) = tile_windows(20, 12, tile=256, overlap=16, ratio=4)
        assert t.core == t.read == Window(0, 0, 12, 20)
        assert t.lr_read == Window(0, 0, 3, 5)

    def test_lr_windows_clipped_to_given_lr_grid(self):
        # HR 66 rows for an LR of 16 rows at ratio 4 (within half an LR pixel)
        last = tile_windows(66, 64, tile=32, overlap=0, ratio=4, lr_height=16)[-1]
        assert last.read.row_off + last.read.height == 66
        assert last.lr_read.row_off + last.lr_read.height == 16

    def test_errors(self):
        with pytest.raises(ShapeError, match="tile must be a whole number >= 1"):
            tile_windows(10, 10, tile=0)
        with pytest.raises(ShapeError, match="overlap must be a whole number >= 0"):
            tile_windows(10, 10, overlap=-1)
        for bad in (16.5, "16", True):  # were read as 16, 16 and 1
            with pytest.raises(ShapeError, match="tile must be a whole number"):
                tile_windows(40, 40, tile=bad)
        with pytest.raises(ShapeError, match="overlap must be a whole number"):
            tile_windows(40, 40, tile=16, overlap=2.5)
        assert len(tile_windows(40, 40, tile=np.int64(16))) == 9  # numpy integers are fine
        with pytest.raises(ShapeError, match="at least 1×1"):
            tile_windows(0, 10)
        with pytest.raises(SensorError, match="ratio"):
            tile_windows(10, 10, ratio=2.5)


class TestStitch:
    def test_local_filter_tiled_equals_untiled(self, rng):
        """A 5×5 box filter applied per read window, cropped and stitched == applied once."""
        image = rng.random((3, 45, 38)).astype(np.float32)
        expected = uniform_filter(image, size=(1, 5, 5), mode="reflect")
        tiles = tile_windows(45, 38, tile=16, overlap=2)
        parts = []
        for t in tiles:
            r, c = int(t.read.row_off), int(t.read.col_off)
            block = image[:, r:r + int(t.read.height), c:c + int(t.read.width)]
            parts.append(uniform_filter(block, size=(1, 5, 5), mode="reflect"))
        np.testing.assert_allclose(stitch(tiles, parts, 45, 38), expected, rtol=0, atol=1e-6)

    def test_too_little_overlap_shows_seams(self, rng):
        image = rng.random((1, 40, 40)).astype(np.float32)
        expected = uniform_filter(image, size=(1, 5, 5), mode="reflect")
        tiles = tile_windows(40, 40, tile=16, overlap=1)  # field is 2 pixels
        parts = [uniform_filter(image[:, int(t.read.row_off):int(t.read.row_off + t.read.height),
                                      int(t.read.col_off):int(t.read.col_off + t.read.width)],
                                size=(1, 5, 5), mode="reflect") for t in tiles]
        assert np.abs(stitch(tiles, parts, 40, 40) - expected).max() > 1e-3

    def test_crop_to_core_checks_size(self):
        t = tile_windows(32, 32, tile=16, overlap=4)[0]
        assert crop_to_core(np.zeros((2, 20, 20)), t).shape == (2, 16, 16)
        with pytest.raises(ShapeError, match="expected a result of 20×20"):
            crop_to_core(np.zeros((2, 16, 16)), t)


def test_thin_edge_tiles_read_further_into_the_scene():
    from hsi.tiling import tile_windows

    tiles = tile_windows(84, 86, tile=16, overlap=0, ratio=4, min_read=32)
    covered = np.zeros((84, 86), dtype=int)
    for t in tiles:
        core, read = t.core, t.read
        r0, c0 = core.row_off, core.col_off
        covered[r0:r0 + core.height, c0:c0 + core.width] += 1
        assert read.width >= 32 and read.height >= 32
        assert read.col_off % 4 == 0 and read.row_off % 4 == 0
        assert read.col_off <= c0 and read.col_off + read.width >= c0 + core.width
    assert (covered == 1).all()


def test_spread_windows_cover_the_grid_cells_inside_the_scene():
    from rasterio.windows import Window

    from hsi.tiling import spread_windows

    wins = spread_windows(100, 60, 20, 4, ratio=4)
    assert wins == [Window(4, 12, 20, 20), Window(32, 12, 20, 20), Window(4, 64, 20, 20),
                    Window(32, 64, 20, 20)]
    assert spread_windows(10, 10, 20, 16) == [Window(0, 0, 10, 10)]  # small scene: once
