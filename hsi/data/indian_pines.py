"""Indian Pines (AVIRIS 1992, 145×145): ground truth only (the cube is not in the data folder).

``Indian_pines_gt.mat`` is EHU's 16-class ground truth. The folder also holds the older Purdue
labelling (``92AV3GT.GIS``, ERDAS GIS; it differs from EHU's) and the AVIRIS 1992 band
calibration ``92AV3C.spc`` that :mod:`hsi.data.salinas_a` uses for wavelengths.
"""

from __future__ import annotations

from typing import ClassVar

from hsi.data.base import Dataset, Sample, github_raw, loadmat

GT = "indian_pines/Indian_pines_gt.mat"

SPY = ("spectralpython/sample-data", "b2c0458d18a26b84c4262a09a106bd7cdeb1203d")


class IndianPines(Dataset):
    """Indian Pines 16-class ground truth (EHU)."""

    name = "indian_pines"
    description = "AVIRIS 1992 Indian Pines: 145×145 16-class ground truth + band calibration"
    files: ClassVar[dict[str, str]] = {
        GT: "65c4687a8ab04f6da4789799bc3bc4f6e88bccac3ed6a2e6ae367e5e6b9e429c",
        "indian_pines/92AV3GT.GIS":
            "4264595a73b804d0321f882cfc5667c24ced5d9166a30fe2867ba35975070d94",
        "indian_pines/92AV3C.spc":
            "beab701c26ba0c2430e1e0e4073e2179092c8c5bb281f5578dba6694906c5c4c",
    }
    urls: ClassVar[dict[str, tuple[str, ...]]] = {
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
        """Return the labels (145, 145) uint8, 0 = unlabelled, 1..16; ``cube`` is None."""
        labels = loadmat(self.path(GT), ["indian_pines_gt"])["indian_pines_gt"].astype("uint8")
        return Sample(cube=None, labels=labels, class_names=list(self.class_names),
                      name=self.name)
