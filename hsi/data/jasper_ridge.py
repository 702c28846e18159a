"""Jasper Ridge: AVIRIS, 100×100 pixels, 198 of 224 bands, 4 endmembers (tree, water, dirt, road).

The unmixing benchmark of Zhu et al. (arXiv:1708.05125). ``Y`` holds uint16 counts as
``(bands, pixels)`` with pixels in MATLAB column-major order, so the cube is
``Y.reshape(198, 100, 100, order="F")`` and the float32 scale is ``Y / maxValue`` (5000).
Wavelengths: the benchmark states 224 AVIRIS channels from 380 to 2500 nm, of which the file
keeps those listed in ``SlectBands`` (1-based); the loader takes them from the nominal grid
``numpy.linspace(380, 2500, 224)`` (not a calibration). ``labels`` = argmax of the abundances + 1.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hsi.cube import Cube
from hsi.data.base import Dataset, Sample, github_raw, loadmat, mat_strings

FILE = "jasper_ridge/jasperRidge2_R198.mat"

#: The nominal 224-channel AVIRIS grid the benchmark describes (nm).
NOMINAL_GRID = np.linspace(380.0, 2500.0, 224)

#: ``SlectBands``: the 198 channels kept (1-based): 4..107, 113..153, 167..219.
SELECTED = np.array([*range(4, 108), *range(113, 154), *range(167, 220)])


class JasperRidge(Dataset):
    """Jasper Ridge unmixing benchmark with abundance ground truth."""

    name = "jasper_ridge"
    description = "AVIRIS Jasper Ridge, 100×100 px, 198 bands 380–2500 nm, 4 endmembers"
    files: ClassVar[dict[str, str]] = {
        FILE: "7dd702f9958510f35c7fee35f7f18ecfca393c9eebd39bddf6c9b7d147754caa"}
    urls: ClassVar[dict[str, tuple[str, ...]]] = {
        FILE: (github_raw("MeiShaohui/Spectral-Variability-Augmented-Sparse-Unmixing",
                          "9e3e2264f0b4547780d6da79f69973f93599bb45",
                          "data/jasperRidge2_R198.mat"),)}
    homepage = "https://rslab.ut.ac.ir/data"
    citation = ("F. Zhu, 'Hyperspectral unmixing: ground truth labeling, datasets, benchmark "
                "performances and survey', arXiv:1708.05125 (2017)")
    licence = "public for research (unmixing benchmark of F. Zhu et al.)"
    wavelengths = NOMINAL_GRID[SELECTED - 1]
    rgb_bands = (24, 15, 5)  # nearest 640/550/460 nm on the nominal grid
    class_names: ClassVar[list[str]] = ["tree", "water", "dirt", "road"]

    def load(self) -> Sample:
        """Return the cube (float32, ``Y / maxValue``), argmax labels 1..4 and the abundances.

        Returns
        -------
        Sample
            ``cube`` (198, 100, 100); ``labels`` (100, 100) uint8; ``abundances`` (4, 100, 100).
        """
        mat = loadmat(self.path(FILE), ["Y", "A", "nRow", "nCol", "maxValue", "SlectBands",
                                        "cood"])
        rows, cols = int(mat["nRow"].item()), int(mat["nCol"].item())
        bands = mat["Y"].shape[0]
        data = mat["Y"].reshape(bands, rows, cols, order="F").astype(np.float32)
        data /= np.float32(mat["maxValue"].item())
        abundances = mat["A"].reshape(-1, rows, cols, order="F").astype(np.float32)
        selected = mat["SlectBands"].astype(int).reshape(-1)
        names = [n.split("-", 1)[-1].lower() for n in mat_strings(mat["cood"])]
        labels = (np.argmax(abundances, axis=0) + 1).astype(np.uint8)
        cube = Cube(data, wavelengths=NOMINAL_GRID[selected - 1], name=self.name,
                    metadata={"aviris_channels": selected.tolist(), "wavelengths_nominal": True,
                              "raw_scale": float(mat["maxValue"].item())})
        return Sample(cube=cube, labels=labels, class_names=names, abundances=abundances,
                      name=self.name)
