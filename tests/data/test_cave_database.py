"""The whole CAVE database: registry entries, the fixed split, loading when present."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.data import DATASETS, data_dir
from hsi.data.cave_database import CAVE_DATASETS, CAVE_SCENES, CAVE_TEST, CAVE_TRAIN, COMMIT

ISSUE_TEST_SPLIT = ("jelly_beans", "oil_painting", "paints", "photo_and_face", "pompoms",
                    "real_and_fake_apples", "real_and_fake_peppers", "sponges", "stuffed_toys",
                    "superballs", "thread_spools")


def test_split_is_the_fixed_one():
    assert len(CAVE_SCENES) == 31 and "watercolors" not in CAVE_SCENES
    assert CAVE_TRAIN[0] == "balloons" and CAVE_TRAIN[-1] == "hairs" and len(CAVE_TRAIN) == 20
    assert CAVE_TEST == ISSUE_TEST_SPLIT
    assert not set(CAVE_TRAIN) & set(CAVE_TEST)


def test_every_scene_is_registered_with_31_checksummed_bands():
    for scene in CAVE_SCENES:
        cls = DATASETS[f"cave_{scene}"]
        assert len(cls.files) == 31
        assert all(len(sha) == 64 for sha in cls.files.values())
        url = cls.urls[next(iter(cls.files))][0]
        assert COMMIT in url and url.endswith(f"{scene}_ms_01.png")


@pytest.mark.skipif(not (data_dir() / "cave" / "jelly_beans_ms").is_dir(),
                    reason="the whole CAVE database is not under $HSI_DATA_DIR/cave")
def test_load_a_test_scene():
    sample = CAVE_DATASETS["cave_jelly_beans"](checksum=True).load()
    cube = sample.cube
    assert cube.shape == (31, 512, 512)
    np.testing.assert_allclose(cube.wavelengths, np.arange(400, 701, 10))
    assert 0.0 <= float(cube.data.min()) and float(cube.data.max()) <= 1.0
    assert sample.metadata["cave_split"] == "test"
