"""Write the shipped sample (``hsi/data/sample/``) from the Salinas-A files in the data folder.

Run once by a maintainer (not by the tests)::

    python -m hsi.data.make_sample [DATA_DIR]

It writes the whole 83×86×204 Salinas-A scene as int16 counts (bands sorted by wavelength, see
:mod:`hsi.data.salinas_a`) in a deflate-compressed GeoTIFF with horizontal predictor, the
wavelengths in GDAL's ``IMAGERY`` band metadata and band descriptions, and the 6-class ground
truth (remapped to 1..6) as a separate uint8 GeoTIFF. No CRS or transform: the EHU files have
none, and we do not invent one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import rasterio

from hsi.data.base import data_dir, loadmat
from hsi.data.salinas_a import CHANNELS, SPC, SalinasA, band_order, remap_labels

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
CUBE_FILE = "salinas_a.tif"
LABELS_FILE = "salinas_a_labels.tif"

ATTRIBUTION = ("Salinas-A, AVIRIS 1998 (NASA/JPL), via the 'Hyperspectral Remote Sensing Scenes' "
               "collection of the Grupo de Inteligencia Computacional, UPV/EHU; public")


def write_sample(root: Path, out: Path = SAMPLE_DIR) -> tuple[Path, Path]:
    """Write the sample cube and labels from the Salinas-A files under ``root``."""
    ds = SalinasA(root=root, checksum=True)
    raw = loadmat(ds.path("salinas_a/salinasA_corrected.mat"),
                  ["salinasA_corrected"])["salinasA_corrected"]
    gt = loadmat(ds.path("salinas_a/SalinasA_gt.mat"), ["salinasA_gt"])["salinasA_gt"]
    order, wl, fwhm = band_order(ds.path(SPC))
    data = np.ascontiguousarray(np.moveaxis(raw, -1, 0)[order]).astype(np.int16)
    bands, height, width = data.shape
    out.mkdir(parents=True, exist_ok=True)
    cube_path, labels_path = out / CUBE_FILE, out / LABELS_FILE
    profile = dict(driver="GTiff", count=bands, height=height, width=width, dtype="int16",
                   compress="deflate", zlevel=9, predictor=2, interleave="band")
    with rasterio.open(cube_path, "w", **profile) as dst:
        dst.write(data)
        dst.scales = [1e-4] * bands
        dst.update_tags(SOURCE=ATTRIBUTION, SCALE="reflectance-like value = count / 10000",
                        AVIRIS_CHANNELS=json.dumps(CHANNELS[order].tolist()),
                        WAVELENGTHS="AVIRIS 1992 calibration (92AV3C.spc), approximate for 1998")
        for i in range(bands):
            dst.set_band_description(i + 1, f"{wl[i]:.2f} nm")
            dst.update_tags(i + 1, "IMAGERY", CENTRAL_WAVELENGTH_UM=f"{wl[i] / 1000:.9f}",
                            FWHM_UM=f"{fwhm[i] / 1000:.9f}")
    labels = remap_labels(gt)
    with rasterio.open(labels_path, "w", driver="GTiff", count=1, height=height, width=width,
                       dtype="uint8", compress="deflate", zlevel=9) as dst:
        dst.write(labels, 1)
        dst.update_tags(SOURCE=ATTRIBUTION, CLASS_NAMES=json.dumps(SalinasA.class_names),
                        NODATA_CLASS="0 = unlabelled")
    return cube_path, labels_path


if __name__ == "__main__":  # pragma: no cover - maintainer script
    paths = write_sample(Path(sys.argv[1]) if len(sys.argv) > 1 else data_dir())
    for p in paths:
        print(f"{p}: {p.stat().st_size} bytes")
