"""The whole CAVE multispectral database: 31 scenes, 31 bands (400-700 nm), 512×512.

The original Columbia release layout, as kept in a public repository at a pinned commit:
``cave/NAME_ms/NAME_ms/NAME_ms_01.png … _31.png`` under the data folder (16-bit grey PNGs,
band ``n`` at ``400 + 10 (n − 1)`` nm). The sha256 of every band file is in
``hsi/data/manifests/cave.sha256``.

``watercolors`` is left out: its bands are 8-bit RGBA PNGs in the original release, unlike
every other scene, so it would need a conversion no paper states.

The fixed split used for every number hsikit reports on CAVE (INFN's benchmark):
:data:`CAVE_TRAIN` = the first 20 scenes in alphabetical order (``balloons`` … ``hairs``),
:data:`CAVE_TEST` = the other 11. Nothing from a test scene is used in training, tuning or
early stopping.

Choices made on CAVE (which checkpoint ``hsi fuse --method auto`` trusts, and at which ratios)
are taken on :data:`CAVE_VALIDATION`, every fifth training scene (``clay``,
``fake_and_real_food``, ``fake_and_real_sushi``, ``hairs``), by a model trained on the other 16
(:data:`CAVE_FIT`), never on the test split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hsi.data.base import Dataset, Sample, github_raw

#: Public repository and commit holding ``data/complete_ms_data/`` (original CAVE layout).
REPO = "xiuheng-wang/Tuning_free_PnP_HSI_deconvolution"
COMMIT = "dbf7c3bea6847d9ce820535e2d27e2e5d1c832b8"
#: Folder under the data folder.
FOLDER = "cave"
#: ``sha256  NAME_ms/NAME_ms/NAME_ms_NN.png`` lines, one per band file.
MANIFEST = Path(__file__).with_name("manifests") / "cave.sha256"
#: The scene left out (8-bit RGBA bands in the original release).
EXCLUDED = ("watercolors",)


def _manifest() -> dict[str, dict[str, str]]:
    """scene -> {path relative to the data folder: sha256}."""
    scenes: dict[str, dict[str, str]] = {}
    for line in MANIFEST.read_text().splitlines():
        sha, rel = line.split()
        scene = rel.split("/", 1)[0].removesuffix("_ms")
        scenes.setdefault(scene, {})[f"{FOLDER}/{rel}"] = sha
    return scenes


_SCENES = _manifest()
#: All 31 scenes, alphabetical.
CAVE_SCENES: tuple[str, ...] = tuple(sorted(_SCENES))
#: Training split: the first 20 scenes in alphabetical order.
CAVE_TRAIN: tuple[str, ...] = CAVE_SCENES[:20]
#: Test split: the other 11 scenes (never used in training, tuning or early stopping).
CAVE_TEST: tuple[str, ...] = CAVE_SCENES[20:]
#: Validation split: every fifth training scene, for choices (a model trained without them).
CAVE_VALIDATION: tuple[str, ...] = CAVE_TRAIN[4::5]
#: The training scenes without the validation split: what a validation model trains on.
CAVE_FIT: tuple[str, ...] = tuple(s for s in CAVE_TRAIN if s not in CAVE_VALIDATION)


class CaveScene(Dataset):
    """One scene of the whole CAVE database (subclasses set :attr:`scene`)."""

    scene: str = ""
    homepage = "https://www.cs.columbia.edu/CAVE/databases/multispectral/"
    citation = ("F. Yasuma, T. Mitsunaga, D. Iso, S. K. Nayar, 'Generalized Assorted Pixel Camera: "
                "Post-Capture Control of Resolution, Dynamic Range and Spectrum', IEEE TIP 2010")
    licence = "free for research use (Columbia CAVE)"
    wavelengths = np.arange(400.0, 701.0, 10.0)
    rgb_bands = (20, 13, 6)  # 600, 530, 460 nm

    def load(self) -> Sample:
        """Return the cube ``(31, 512, 512)`` float32 = PNG counts / 65535, 400-700 nm."""
        from hsi.io.cave import read_cave

        folder = self.root / FOLDER / f"{self.scene}_ms" / f"{self.scene}_ms"
        cube = read_cave(folder)
        cube.name = self.name
        split = "train" if self.scene in CAVE_TRAIN else "test"
        return Sample(cube=cube, labels=None, class_names=[], name=self.name,
                      metadata={"cave_split": split})


def _scene_class(scene: str) -> type[CaveScene]:
    files = _SCENES[scene]
    split = "train" if scene in CAVE_TRAIN else "test"
    urls = {rel: (github_raw(REPO, COMMIT, f"data/complete_ms_data/{rel.split('/', 1)[1]}"),)
            for rel in files}
    return type(f"Cave_{scene}", (CaveScene,), {
        "scene": scene,
        "name": f"cave_{scene}",
        "description": f"CAVE {scene.replace('_', ' ')}: 31 bands 400-700 nm, 512×512 "
                       f"({split} split)",
        "files": files,
        "urls": urls,
        "__doc__": f"CAVE scene {scene!r} ({split} split).",
    })


#: Registry name (``cave_<scene>``) -> dataset class, one per scene.
CAVE_DATASETS: dict[str, type[CaveScene]] = {
    f"cave_{scene}": _scene_class(scene) for scene in CAVE_SCENES
}


def cave_cubes(scenes: tuple[str, ...] | list[str],
               root: str | os.PathLike | None = None) -> list:
    """Load CAVE scenes by name (``"jelly_beans"``, …) as cubes ``(31, 512, 512)``.

    Raises
    ------
    DatasetNotFoundError
        When the database is not under the data folder (the message says where it goes).
    """
    return [CAVE_DATASETS[f"cave_{s}"](root=root).load().cube for s in scenes]
