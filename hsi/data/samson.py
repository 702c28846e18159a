"""Samson: 95×95 pixels, 156 bands (401–889 nm), 3 endmembers (rock, tree, water).

The unmixing benchmark of Zhu et al. (arXiv:1708.05125), already scaled to [0, 1]. The file
has no wavelengths; the benchmark states 156 channels from 401 to 889 nm, so the loader uses
``numpy.linspace(401, 889, 156)`` (3.14 nm spacing): nominal, not a calibration. ``labels`` is
the argmax of the abundance ground truth plus 1 (every pixel labelled).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hsi.cube import Cube
from hsi.data.base import Dataset, Sample, github_raw, loadmat, mat_strings

FILE = "samson/Samson.mat"


class Samson(Dataset):
    """Samson unmixing benchmark with abundance ground truth."""

    name = "samson"
    description = "SAMSON sensor, 95×95 px, 156 bands 401–889 nm, 3 endmembers (abundances)"
    files: ClassVar[dict[str, str]] = {
        FILE: "3c824a1ba6fb087d5ae015038a94c70c68008f371fac22bcd573ba83585e60e4"}
    urls: ClassVar[dict[str, tuple[str, ...]]] = {
        FILE: (github_raw("florian6973/hyperspectral-imaging",
                          "20e7a02ffbaecfa8d7682a9b15f7e3c5851c36bf", "Samson.mat"),)}
    homepage = "https://rslab.ut.ac.ir/data"
    citation = ("F. Zhu, 'Hyperspectral unmixing: ground truth labeling, datasets, benchmark "
                "performances and survey', arXiv:1708.05125 (2017)")
    licence = "public for research (unmixing benchmark of F. Zhu et al.)"
    wavelengths = np.linspace(401.0, 889.0, 156)
    rgb_bands = (76, 47, 19)  # nearest 640/550/460 nm on the nominal grid
    class_names: ClassVar[list[str]] = ["rock", "tree", "water"]

    def load(self) -> Sample:
        """Return the cube (float32 in [0, 1]), argmax labels 1..3 and the abundances.

        Returns
        -------
        Sample
            ``cube`` (156, 95, 95); ``labels`` (95, 95) uint8; ``abundances`` (3, 95, 95).
        """
        mat = loadmat(self.path(FILE), ["SamSon", "A", "cood"])
        data = np.ascontiguousarray(np.moveaxis(mat["SamSon"], -1, 0), dtype=np.float32)
        abundances = np.moveaxis(mat["A"], -1, 0).astype(np.float32)
        names = [n.split("-", 1)[-1].lower() for n in mat_strings(mat["cood"])]
        labels = (np.argmax(abundances, axis=0) + 1).astype(np.uint8)
        cube = Cube(data, wavelengths=self.wavelengths, name=self.name,
                    metadata={"wavelengths_nominal": True})
        return Sample(cube=cube, labels=labels, class_names=names, abundances=abundances,
                      name=self.name)
