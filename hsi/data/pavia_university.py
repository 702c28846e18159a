"""Pavia University (ROSIS-03, 610×340): ground truth only (the cube is not in the data folder).

The file is a re-saved copy of EHU's ``PaviaU_gt.mat`` (same class counts) with an extra
variable ``GroundT``; only ``paviaU_gt`` is read.
"""

from __future__ import annotations

from typing import ClassVar

from hsi.data.base import Dataset, Sample, github_raw, loadmat

GT = "pavia_university/PaviaU_gt.mat"


class PaviaUniversity(Dataset):
    """Pavia University 9-class ground truth."""

    name = "pavia_university"
    description = "ROSIS-03 Pavia University: 610×340 9-class ground truth"
    files: ClassVar[dict[str, str]] = {
        GT: "2ed3ec2dec1d763f478e75d05a975b90550f8095bedc3af399aa6950ad9e102c"}
    # A re-saved copy: EHU's original has other bytes, so only this copy matches the sha256.
    urls: ClassVar[dict[str, tuple[str, ...]]] = {GT: (github_raw(
        "Johnysama22/Local-Semantic-Feature-Aggregation-Based-Transformer-for-Hyperspectral-"
        "Image-Classification", "c6dc1c2773804973dcce4678d7585124a6ad7406", "PaviaU_gt.mat"),)}
    homepage = ("http://www.ehu.eus/ccwintco/index.php/"
                "Hyperspectral_Remote_Sensing_Scenes#Pavia_University_scene")
    citation = ("ROSIS-03 Pavia University scene, courtesy of Prof. Paolo Gamba, University of "
                "Pavia; EHU GIC 'Hyperspectral Remote Sensing Scenes'")
    licence = "public for research (EHU GIC redistribution)"
    class_names: ClassVar[list[str]] = [
        "Asphalt", "Meadows", "Gravel", "Trees", "Painted metal sheets", "Bare Soil", "Bitumen",
        "Self-Blocking Bricks", "Shadows"]

    def load(self) -> Sample:
        """Return the labels (610, 340) uint8, 0 = unlabelled, 1..9; ``cube`` is None."""
        labels = loadmat(self.path(GT), ["paviaU_gt"])["paviaU_gt"].astype("uint8")
        return Sample(cube=None, labels=labels, class_names=list(self.class_names),
                      name=self.name)
