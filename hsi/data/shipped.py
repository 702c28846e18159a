"""The real sample shipped inside the package: the whole Salinas-A scene (about 1.1 MB).

Written by :mod:`hsi.data.make_sample` from the EHU files; see the README for attribution.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hsi.cube import Cube
from hsi.data.salinas_a import SCALE, SalinasA

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
CUBE_PATH = SAMPLE_DIR / "salinas_a.tif"
LABELS_PATH = SAMPLE_DIR / "salinas_a_labels.tif"


def _quiet_georeference() -> None:
    """Install :mod:`hsi.io.geotiff`'s process-wide filter of rasterio's
    ``NotGeoreferencedWarning`` (the sample has no georeference, and neither has any ``.mat``
    or lab scene).

    The filter is installed when that module is first imported. It must not be first imported
    inside a ``warnings.catch_warnings()`` block, as these functions once did: the block's exit
    restores the filters from before it and so drops that one for the rest of the process, and
    every later ``hsi.open`` or ``hsi.save`` of a file without georeference printed rasterio's
    warning (the README's Python example printed two).
    """
    import hsi.io.geotiff  # noqa: F401  (imported for its warning filter)


def sample_cube() -> Cube:
    """Return the shipped Salinas-A cube.

    Returns
    -------
    Cube, shape (204, 83, 86), float32
        Counts / 10 000 (reflectance-like, about [0, 1]); bands sorted by wavelength, centres in
        nm from the AVIRIS 1992 calibration (approximate for this 1998 scene, see
        :mod:`hsi.data.salinas_a`); no CRS or transform (the source has none). Each band's
        original AVIRIS channel number in ``metadata["aviris_channels"]``.
    """
    import rasterio

    from hsi.io import open as open_cube

    _quiet_georeference()
    raw = open_cube(CUBE_PATH)
    with rasterio.open(CUBE_PATH) as src:
        channels = json.loads(src.tags()["AVIRIS_CHANNELS"])
    data = np.asarray(raw.data, dtype=np.float32) / np.float32(SCALE)
    return Cube(data, wavelengths=raw.wavelengths, fwhm=raw.fwhm, name="salinas_a_sample",
                metadata={"source": "hsikit sample: Salinas-A (AVIRIS 1998, UPV/EHU GIC)",
                          "raw_scale": SCALE, "aviris_channels": channels})


def sample_labels() -> tuple[np.ndarray, list[str]]:
    """Return the shipped Salinas-A ground truth.

    Returns
    -------
    labels : numpy.ndarray, shape (83, 86), uint8
        0 = unlabelled, ``k`` = ``class_names[k - 1]`` (6 classes).
    class_names : list of str
        EHU Salinas class names of the codes 1, 10, 11, 12, 13, 14.
    """
    import rasterio

    _quiet_georeference()
    with rasterio.open(LABELS_PATH) as src:
        labels = src.read(1)
        names = json.loads(src.tags().get("CLASS_NAMES", "null")) or list(SalinasA.class_names)
    return labels, names
