"""ABU (Airport-Beach-Urban) anomaly scenes: ten AVIRIS-like 100×100 crops, 189–207 bands.

The set of Kang et al. (IEEE TGRS 2017) as kept in the public repository ``jiojio0505/OT-AD``
at a pinned commit: ``abu-airport-{1,2,3,4}``, ``abu-urban-{1..5}`` and ``sandiego``. Each file
holds ``data`` ``(100, 100, bands)`` integer counts and ``map`` ``(100, 100)``, the anomaly mask.

**No wavelengths are distributed** (nor which water bands were dropped), so the loader puts the
bands on a nominal AVIRIS grid, ``numpy.linspace(400, 2500, bands)`` nm, and marks it
``metadata["wavelengths_nominal"] = True``: fine for spatial detail and for training, not for
sensor-exact work. Counts are divided by 10 000 (AVIRIS scaling) and negative counts (a few
detector offsets down to −50) are clipped to 0. ``labels`` is 1 (background) / 2 (anomaly).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hsi.cube import Cube
from hsi.data.base import Dataset, Sample, github_raw, loadmat

REPO = "jiojio0505/OT-AD"
COMMIT = "dd4a58097fc6b42c8d2eb6674bce8865cd39723a"
#: Counts to reflectance-like values.
SCALE = 10000.0
#: scene -> (sha256, size in bytes) of ``abu/<scene>.mat``.
ABU_FILES: dict[str, tuple[str, int]] = {
    "abu-airport-1": ("5de3c0b74593552e21e88ee280d02c4acae60bd48a013d72bd28ef63815485f5",
                      4110248),
    "abu-airport-2": ("7121476e700001e76191d6ee6bc6f2d5f680c0fe49186b61a57f10fcac7718b9", 2802536),
    "abu-airport-3": ("97b574be2de8c1ae3158b60b4aa34676c59a218398fc096c0dcdf125a6c74495", 2774082),
    "abu-airport-4": ("c10cb987f0a75ad5834da2be35e2cfe740660fd9094521dd6d047de535a2a72b", 2570267),
    "abu-urban-1": ("951d8d9c405d7ae200634dfd5244586545c01a561b1028f0e65e09e562523942", 2666116),
    "abu-urban-2": ("ed900cbde844582dd51943f920eac47c3a4e7f4cf3e0ae7612fdfb80b7ee7807", 2678487),
    "abu-urban-3": ("a4e4ef3c512b72510f5852300a5050e9e544f80abb021d79ee04921c2070598b", 2262918),
    "abu-urban-4": ("6d6b81c9688f883a9ca59ff99ebc8053c5be1a14099960c460ba420d8507e676", 2837140),
    "abu-urban-5": ("16a50cfca9d6c4783adfd663e9d1e5e948ddaad950912b58577a604c86eb64c5", 2809140),
    "sandiego": ("6830b031438366acbcf3d20f35a5589f969783471a6fd987b792954c51283b01", 3790248),
}


class AbuScene(Dataset):
    """One ABU scene (subclasses set :attr:`scene`)."""

    scene: str = ""
    homepage = "http://xudongkang.weebly.com/data-sets.html"
    citation = ("X. Kang, X. Zhang, S. Li, K. Li, J. Li, J. A. Benediktsson, "
                "'Hyperspectral anomaly "
                "detection with attribute and edge-preserving filters', IEEE TGRS 55(10), 2017")
    licence = "research use (no licence file in the source repository; cite Kang et al. 2017)"
    class_names: ClassVar[list[str]] = ["background", "anomaly"]

    def load(self) -> Sample:
        """Return the cube ``(bands, 100, 100)`` float32 (counts / 10 000, nominal grid).

        Returns
        -------
        Sample
            ``cube`` with wavelengths ``linspace(400, 2500, bands)`` nm (nominal);
            ``labels`` (100, 100) uint8: 1 background, 2 anomaly.
        """
        mat = loadmat(self.path(f"abu/{self.scene}.mat"), ["data", "map"])
        counts = np.moveaxis(np.asarray(mat["data"]), -1, 0)
        data = np.clip(counts.astype(np.float32), 0.0, None) / SCALE
        wavelengths = np.linspace(400.0, 2500.0, data.shape[0])
        cube = Cube(np.ascontiguousarray(data), wavelengths=wavelengths, name=self.name,
                    metadata={"wavelengths_nominal": True})
        labels = (np.asarray(mat["map"]) > 0).astype(np.uint8) + 1
        return Sample(cube=cube, labels=labels, class_names=list(self.class_names),
                      name=self.name)


def _scene_class(scene: str) -> type[AbuScene]:
    sha, size = ABU_FILES[scene]
    rel = f"abu/{scene}.mat"
    return type(f"Abu_{scene.replace('-', '_')}", (AbuScene,), {
        "scene": scene,
        "name": scene.replace("-", "_"),
        "description": f"ABU {scene}: AVIRIS-like 100×100 anomaly scene (nominal wavelengths)",
        "files": {rel: sha},
        "sizes": {rel: size},
        "urls": {rel: (github_raw(REPO, COMMIT, f"data/{scene}.mat"),)},
        "__doc__": f"ABU scene {scene!r} (nominal 400-2500 nm grid).",
    })


#: Registry name (``abu_airport_1``, …, ``sandiego``) -> dataset class.
ABU_DATASETS: dict[str, type[AbuScene]] = {
    scene.replace("-", "_"): _scene_class(scene) for scene in ABU_FILES
}
