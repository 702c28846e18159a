"""Indian Pines (AVIRIS 1992, 145×145): the corrected 200-band cube and EHU's 16 classes.

``Indian_pines_corrected.npy`` is the "corrected" cube (water bands 104-108, 150-163 and 220
removed) as tensorly 0.10.0 ships it, ``(145, 145, 200)`` uint16. Its band centres and FWHM
come from the AVIRIS 1992 calibration ``92AV3C.spc`` with the same bands dropped, **in the
file's band order**: AVIRIS's spectrometers overlap, so band 31 (696.5 nm) lies above band 32
(686.9 nm); the order is kept, as ENVI and SPy keep it. ``Indian_pines_gt.mat`` is EHU's
16-class ground truth; the folder also holds the older Purdue labelling (``92AV3GT.GIS``).
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np

from hsi.data.base import Dataset, Sample, github_raw, loadmat

GT = "indian_pines/Indian_pines_gt.mat"
CUBE = "indian_pines/Indian_pines_corrected.npy"
SPC = "indian_pines/92AV3C.spc"
#: 1-based AVIRIS channels removed from the 220-band cube to make the "corrected" 200 bands.
DROPPED = (*range(104, 109), *range(150, 164), 220)
#: Counts to reflectance-like values (AVIRIS 1992 scaled radiance; max count 9604).
SCALE = 10000.0
#: The wheel the cube was taken from (PyPI, fixed content; unpacked by hand: it is a zip).
TENSORLY_WHEEL = ("https://files.pythonhosted.org/packages/py3/t/tensorly/"
                  "tensorly-0.10.0-py3-none-any.whl")
WHEEL_MEMBER = "tensorly/datasets/data/Indian_pines_corrected.npy"


def corrected_wavelengths(spc_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Centres and FWHM (nm) of the 200 corrected bands, in the cube's band order."""
    table = np.loadtxt(spc_path, skiprows=2)
    keep = np.setdiff1d(np.arange(1, table.shape[0] + 1), DROPPED) - 1
    return table[keep, 0], table[keep, 1]

SPY = ("spectralpython/sample-data", "b2c0458d18a26b84c4262a09a106bd7cdeb1203d")


class IndianPines(Dataset):
    """Indian Pines: the corrected 200-band AVIRIS cube and EHU's 16-class ground truth."""

    name = "indian_pines"
    description = "AVIRIS 1992 Indian Pines: 145×145×200 corrected cube, 16-class ground truth"
    files: ClassVar[dict[str, str]] = {
        CUBE: "8f038e4d81569e38ebfc72a15c9984c150de42580ab260be10a13442e912e451",
        GT: "65c4687a8ab04f6da4789799bc3bc4f6e88bccac3ed6a2e6ae367e5e6b9e429c",
        "indian_pines/92AV3GT.GIS":
            "4264595a73b804d0321f882cfc5667c24ced5d9166a30fe2867ba35975070d94",
        "indian_pines/92AV3C.spc":
            "beab701c26ba0c2430e1e0e4073e2179092c8c5bb281f5578dba6694906c5c4c",
    }
    sizes: ClassVar[dict[str, int]] = {CUBE: 8410128, GT: 1125, "indian_pines/92AV3GT.GIS": 21153,
                                       "indian_pines/92AV3C.spc": 10976}
    urls: ClassVar[dict[str, tuple[str, ...]]] = {
        CUBE: (f"{TENSORLY_WHEEL}#member={WHEEL_MEMBER}",),  # one file of the wheel (a zip)
        GT: (github_raw("helloworld-wuch/MATLAB", "4cb1f83be67f0ca4900d85d7bbce257cf68f4fa0",
                        "Indian_pines_gt.mat"),
             "http://www.ehu.eus/ccwintco/uploads/c/c4/Indian_pines_gt.mat"),
        "indian_pines/92AV3GT.GIS": (github_raw(*SPY, "92AV3GT.GIS"),),
        "indian_pines/92AV3C.spc": (github_raw(*SPY, "92AV3C.spc"),),
    }
    homepage = ("http://www.ehu.eus/ccwintco/index.php/"
                "Hyperspectral_Remote_Sensing_Scenes#Indian_Pines")
    citation = ("M. F. Baumgardner, L. L. Biehl, D. A. Landgrebe, '220 Band AVIRIS Hyperspectral "
                "Image Data Set: June 12, 1992 Indian Pine Test Site 3', Purdue University "
                "Research Repository (2015), doi:10.4231/R7RX991C")
    licence = "public (Purdue; EHU GIC redistribution)"
    class_names: ClassVar[list[str]] = [
        "Alfalfa", "Corn-notill", "Corn-mintill", "Corn", "Grass-pasture", "Grass-trees",
        "Grass-pasture-mowed", "Hay-windrowed", "Oats", "Soybean-notill", "Soybean-mintill",
        "Soybean-clean", "Wheat", "Woods", "Buildings-Grass-Trees-Drives", "Stone-Steel-Towers",
    ]

    def load(self) -> Sample:
        """Return the cube ``(200, 145, 145)`` float32 = counts / 10 000 with its band centres
        (file order) and the labels ``(145, 145)`` uint8, 0 = unlabelled, 1..16."""
        from hsi.cube import Cube
        from hsi.errors import FormatError
        from hsi.memory import check_allocation

        path = self.path(CUBE)
        try:
            raw = np.load(path, mmap_mode="r", allow_pickle=False)
        except MemoryError:
            raise
        except Exception as exc:  # a damaged header: ValueError, SyntaxError, EOFError, …
            raise FormatError(f"{path}: not a readable .npy file ({exc})") from None
        if raw.shape != (145, 145, 200):
            raise FormatError(f"{path}: expected a (145, 145, 200) array, got {raw.shape}")
        check_allocation(raw.size * 4, str(path))
        data = np.ascontiguousarray(np.moveaxis(raw, -1, 0), dtype=np.float32) / np.float32(SCALE)
        centres, fwhm = corrected_wavelengths(self.path(SPC))
        cube = Cube(data, wavelengths=centres, fwhm=fwhm, name=self.name,
                    metadata={"raw_scale": SCALE})
        labels = loadmat(self.path(GT), ["indian_pines_gt"])["indian_pines_gt"].astype("uint8")
        return Sample(cube=cube, labels=labels, class_names=list(self.class_names),
                      name=self.name)
