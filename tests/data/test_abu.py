"""ABU anomaly scenes (real data): layout, scaling, nominal wavelengths, checksums."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from hsi.data import load
from hsi.data.abu import ABU_FILES


@pytest.mark.parametrize("scene", sorted(ABU_FILES))
def test_scene_loads_with_its_checksum(scene, data_dir):
    path = data_dir / "abu" / f"{scene}.mat"
    if not path.exists():
        pytest.skip(f"{path} not in the data folder")
    sample = load(scene.replace("-", "_"), root=data_dir, checksum=True)
    raw = scipy.io.loadmat(path)
    bands = raw["data"].shape[2]
    cube = sample.cube
    assert cube.shape == (bands, 100, 100) and cube.dtype == np.float32
    # band-first, counts / 10 000, negatives clipped
    expected = np.clip(raw["data"][37, 61, :].astype(np.float32), 0, None) / 10000.0
    np.testing.assert_allclose(cube.data[:, 37, 61], expected, rtol=1e-6)
    assert float(cube.data.min()) >= 0.0
    assert cube.wavelengths[0] == 400.0 and cube.wavelengths[-1] == 2500.0
    assert cube.metadata["wavelengths_nominal"] is True
    assert int((sample.labels == 2).sum()) == int(raw["map"].sum())
    assert set(np.unique(sample.labels)) <= {1, 2}
