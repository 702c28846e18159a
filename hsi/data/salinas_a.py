"""Salinas-A: AVIRIS 1998, Salinas Valley (California), 83×86 pixels, 204 bands, 6 classes.

The cube is the EHU "corrected" file: AVIRIS channels 1..224 without the water-absorption
channels [108-112], [154-167] and 224 (1-based). Values are int16 counts; the loader divides by
:data:`SCALE` (10 000) to get a float32 cube in about [0, 1]. EHU describes the Salinas scene as
at-sensor radiance, so this is a reflectance-*like* scale, not a calibrated surface reflectance.

Wavelengths: the 1998 band calibration is not distributed with the data. We use the AVIRIS
1992 calibration (``indian_pines/92AV3C.spc``: centre and FWHM per original channel number), so
the centres are approximate (within a few nm) for 1998. The .spc lacks the first channel of
each of the four spectrometers (1, 33, 97, 161); those are extrapolated from the next two
channels of the same spectrometer. AVIRIS spectrometers overlap (channel 32 at 696.5 nm is
redder than channel 34 at 686.9 nm), so the loader **sorts the bands by wavelength**; the
original channel numbers, in cube order, are in ``cube.metadata["aviris_channels"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from hsi.cube import Cube
from hsi.data.base import Dataset, Sample, github_raw, loadmat

#: Divide the int16 counts by this to get a float32 cube in about [0, 1].
SCALE = 10000.0

#: AVIRIS channels (1-based) removed from the "corrected" Salinas scenes.
WATER_CHANNELS = (*range(108, 113), *range(154, 168), 224)

#: AVIRIS channels (1-based) kept in the 204-band file, in file order.
CHANNELS = np.array([c for c in range(1, 225) if c not in WATER_CHANNELS])

#: First channel of each AVIRIS spectrometer (A, B, C, D).
SPECTROMETER_STARTS = (1, 33, 97, 161)

#: The EHU Salinas class list (16 classes); Salinas-A holds 1, 10, 11, 12, 13, 14.
SALINAS_CLASSES = {
    1: "Brocoli_green_weeds_1", 2: "Brocoli_green_weeds_2", 3: "Fallow",
    4: "Fallow_rough_plow", 5: "Fallow_smooth", 6: "Stubble", 7: "Celery",
    8: "Grapes_untrained", 9: "Soil_vinyard_develop", 10: "Corn_senesced_green_weeds",
    11: "Lettuce_romaine_4wk", 12: "Lettuce_romaine_5wk", 13: "Lettuce_romaine_6wk",
    14: "Lettuce_romaine_7wk", 15: "Vinyard_untrained", 16: "Vinyard_vertical_trellis",
}

#: Salinas-A ground-truth codes, in the order of the remapped labels 1..6.
CODES = (1, 10, 11, 12, 13, 14)

SPC = "indian_pines/92AV3C.spc"


def aviris_calibration(spc_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return the AVIRIS centre wavelengths and FWHM for channels 1..224 from a ``.spc`` file.

    Parameters
    ----------
    spc_path : path
        AVIRIS spectral calibration text (2 header lines, then rows of centre nm, FWHM nm,
        centre uncertainty, FWHM uncertainty, original channel number).

    Returns
    -------
    centres, fwhm : numpy.ndarray, shape (224,)
        In nm, indexed by channel - 1. Channels absent from the file are extrapolated linearly
        from the next two channels of the same spectrometer (FWHM copied from the next one).
    """
    table = np.loadtxt(spc_path, skiprows=2)
    centres = np.full(224, np.nan)
    fwhm = np.full(224, np.nan)
    channels = table[:, 4].astype(int)
    centres[channels - 1] = table[:, 0]
    fwhm[channels - 1] = table[:, 1]
    for i in np.flatnonzero(np.isnan(centres)):
        centres[i] = 2 * centres[i + 1] - centres[i + 2]
        fwhm[i] = fwhm[i + 1]
    return centres, fwhm


def band_order(spc_path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(order, wavelengths, fwhm)`` for the 204 Salinas bands sorted by wavelength.

    ``order`` indexes the file's bands: ``data[order]`` is the cube in wavelength order, and
    ``CHANNELS[order]`` its AVIRIS channel numbers.
    """
    centres, fwhm = aviris_calibration(spc_path)
    wl = centres[CHANNELS - 1]
    order = np.argsort(wl, kind="stable")
    return order, wl[order], fwhm[CHANNELS - 1][order]


def remap_labels(gt: np.ndarray) -> np.ndarray:
    """Map the Salinas codes 1, 10..14 to 1..6 (0 stays unlabelled), as uint8 ``(H, W)``."""
    out = np.zeros(gt.shape, dtype=np.uint8)
    for k, code in enumerate(CODES, start=1):
        out[gt == code] = k
    return out


class SalinasA(Dataset):
    """Salinas-A scene with its 6-class ground truth (see the module docstring for scales)."""

    name = "salinas_a"
    description = "AVIRIS 1998 Salinas-A, 83×86 px, 204 bands, 6 crop classes"
    files: ClassVar[dict[str, str]] = {
        "salinas_a/salinasA_corrected.mat":
            "b691a7a180e562812655271e356898b6b41a8c745f82230128233ad6f8d446cc",
        "salinas_a/SalinasA_gt.mat":
            "17814c1d3296c0e29b27f320f2c4174d2a68adb87e376abe78f02923e2c2e454",
        SPC: "beab701c26ba0c2430e1e0e4073e2179092c8c5bb281f5578dba6694906c5c4c",
    }
    # The cube is a re-saved copy (same data as EHU's SalinasA_corrected.mat, other bytes), so
    # only its GitHub copy matches the sha256; the ground truth is EHU's original file.
    urls: ClassVar[dict[str, tuple[str, ...]]] = {
        "salinas_a/salinasA_corrected.mat": (github_raw(
            "mavericksgeek/Multi-objective-GA-BandClassification",
            "0546d13bb458b9e25b4e7ddb106efa38473ae107", "salinasA_corrected.mat"),),
        "salinas_a/SalinasA_gt.mat": (
            github_raw("sampolk/MultiscaleDiffusionClustering",
                       "5d92b7ab131d954c784d298cb300aa42475e4b23", "data/SalinasA/SalinasA_gt.mat"),
            "http://www.ehu.eus/ccwintco/uploads/a/aa/SalinasA_gt.mat",
        ),
        SPC: (github_raw("spectralpython/sample-data",
                         "b2c0458d18a26b84c4262a09a106bd7cdeb1203d", "92AV3C.spc"),),
    }
    homepage = ("http://www.ehu.eus/ccwintco/index.php/"
                "Hyperspectral_Remote_Sensing_Scenes#Salinas-A_scene")
    citation = ("AVIRIS Salinas-A scene, Grupo de Inteligencia Computacional (GIC), UPV/EHU, "
                "'Hyperspectral Remote Sensing Scenes'; original data NASA/JPL AVIRIS (1998)")
    licence = "public (EHU GIC redistribution of NASA/JPL AVIRIS data)"
    class_names: ClassVar[list[str]] = [SALINAS_CLASSES[c] for c in CODES]
    #: Bands nearest 640/550/460 nm (AVIRIS channels 26, 17, 8). The wavelengths themselves come
    #: from the .spc file at load time (see :func:`band_order`).
    rgb_bands = (25, 16, 7)

    def load(self) -> Sample:
        """Return the cube (float32, counts / 10 000, bands sorted by wavelength) and labels 1..6.

        Returns
        -------
        Sample
            ``cube`` (204, 83, 86) float32; ``labels`` (83, 86) uint8 with 0 = unlabelled.
        """
        raw = loadmat(self.path("salinas_a/salinasA_corrected.mat"),
                      ["salinasA_corrected"])["salinasA_corrected"]
        gt = loadmat(self.path("salinas_a/SalinasA_gt.mat"), ["salinasA_gt"])["salinasA_gt"]
        order, wl, fwhm = band_order(self.path(SPC))
        data = np.ascontiguousarray(np.moveaxis(raw, -1, 0)[order], dtype=np.float32) / SCALE
        cube = Cube(data, wavelengths=wl, fwhm=fwhm, name="salinas_a",
                    metadata={"aviris_channels": CHANNELS[order].tolist(), "raw_scale": SCALE,
                              "gsd_m": 3.7})
        return Sample(cube=cube, labels=remap_labels(gt), class_names=list(self.class_names),
                      name=self.name)

