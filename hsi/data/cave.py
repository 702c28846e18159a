"""CAVE (partial): two scenes of the Columbia CAVE multispectral database, bands 1-20 only.

Only bands 1-20 (400-590 nm, 10 nm apart) of each scene exist in the redistributed copy, as one
16-bit grey PNG per band, **640×512** instead of the canonical 512×512 (the uploader resampled
them horizontally). Use them for demos and smoke tests, never for numbers compared with the
literature. The loader stacks the PNGs and divides by 65535 (float32 in [0, 1]).
"""

from __future__ import annotations

import numpy as np

from hsi.cube import Cube
from hsi.data.base import Dataset, Sample, github_raw

REPO = "fenghaoxuan99/ImguiProject"
COMMIT = "9a09c02b483198c0b7ad80783827b664316411ac"

#: 16-bit full scale of the PNGs.
SCALE = 65535.0

BALLOONS = {
    "balloons_ms_01.png": "c9134ce4640f4448e7021d71c11def55905931cc11f4c5ad727d4fabc5ac47ce",
    "balloons_ms_02.png": "77205bd2701c16d4a9dabab598aa8949880a54d4f8bdfe1460bb613e035a3177",
    "balloons_ms_03.png": "a9edab65000208b6b0f4e3e82a703bb1cf7e770b39e4a697b7b294a93308a678",
    "balloons_ms_04.png": "0f82efed04088e23f184f9f2dbc8913974f4edc63ff6982e5e5c361e7553b289",
    "balloons_ms_05.png": "babd61560023f852ffe404aea2635a94c3244366bf2d860632d4b311379f79d5",
    "balloons_ms_06.png": "567bb294a5399c9912046d64182ae0c7eec1db1976861747ed1f9a03330ecd51",
    "balloons_ms_07.png": "f63d77b45a4dfc2f1471a5e1b294903130ebe110141103906fa54fcf9ea7c7f6",
    "balloons_ms_08.png": "6df6566594c8b2e26127e5b79ebd776ad431912ed39ce90132b1217f74aeaaa7",
    "balloons_ms_09.png": "2eaa79b6d28ce64df49459b0bd2e7a2463a76a77db31b236a24ef61c78b1d1fa",
    "balloons_ms_10.png": "2cb65d52b98cebaa41b79053f88060c217287be7da42d8430da62f0bdb6cc5ef",
    "balloons_ms_11.png": "3c47786d39a83deae9a218c42561ff5117d2574b47bb0086c4b4c9ce77dd67c3",
    "balloons_ms_12.png": "c09cb944a1f2aa48517fd8f975047151e1eef6c74c34c5a5b1eef975eed1703c",
    "balloons_ms_13.png": "f897c23c23604698d2b445ef280883a3478a5f266f57f3b0fde91ac57f99c8dc",
    "balloons_ms_14.png": "c8322220a2a33c4ed68f6b17390c7dfb487d96083f373c52ee5b4793610ee460",
    "balloons_ms_15.png": "346eea96e80cb5b830825fe52bdd81493cf4691eff726b58de85a8e574cda2ef",
    "balloons_ms_16.png": "6c1c84e40094a159d6d5c0dc6b2f886bdf09c3bbf9891c59d87afb29eca9267e",
    "balloons_ms_17.png": "d75ba9a05cf8b17cb23ee9c2968b9adc1807723fe5b3a25484b7a323b3b5aa32",
    "balloons_ms_18.png": "da1ae518bb1432ba71157a052c896de011f4a0a4286b73588eb517484f9abbe4",
    "balloons_ms_19.png": "17781d37b910634b229b340230cb88e70849bd48c41a6f12e285d81d83afd561",
    "balloons_ms_20.png": "1ec102ce65dbb5b8447d94407b595c3a37e8ba1e7ab8779c8b2a39c3ee43e6c1",
}

OIL_PAINTING = {
    "oil_painting_ms_01.png": "88c03ab4f47513c57510c16fddeadf2d63318696d0986a671d5b3b5e7ca405a2",
    "oil_painting_ms_02.png": "c962c605af82ea0bae70efafb64b9cbbaa5bed08bb5a7a984ac36bc351fb8009",
    "oil_painting_ms_03.png": "e61e37071c3122707217eca7450fb63cd4f49c4f21b6aa19030139866966309e",
    "oil_painting_ms_04.png": "cc9ca8407532010d0c9e623d8005f92ea22284f145235a6461cf9e6287805d4c",
    "oil_painting_ms_05.png": "e7a14f98ed1a6a36e7208b816977b4ac8876240a00489b44bc6b0dadbb2d98ae",
    "oil_painting_ms_06.png": "9701a787a89141d390c55576457ea909c0e90d844196ed90a475a7184ccfaf57",
    "oil_painting_ms_07.png": "67b39aed2f90e541b8efafcdfa541fd9a126ea895b1e41939f16c9a112071a48",
    "oil_painting_ms_08.png": "4e464a301a295592bf9c4098d1ed42501374ad17768bca7f5bfabefafddd03c3",
    "oil_painting_ms_09.png": "cc527c4291d3842459e9fafb0f637b6a872a4f1c4156c5299df233a5b241d856",
    "oil_painting_ms_10.png": "1f6d75e34253142584e0bd86a737a75a7a89cc6d71a1593a0a4afc7adc66fa08",
    "oil_painting_ms_11.png": "bd58f8998bc78ee628a87538efd57fe2963e21e56c01976a35b22ed04eb9b5dc",
    "oil_painting_ms_12.png": "b11ec86c32df3ff24de8e4ccefe1492f539ee14fa458d6811afd391f3bc827a8",
    "oil_painting_ms_13.png": "dcacf842445fb164bb8b7bf9d8652366d450936a1788d70b17b2da1a1e1a80c1",
    "oil_painting_ms_14.png": "88c6d8cb133327ad6de57378888eeb1dc984ba70217c3e54c2e7d8501de856b2",
    "oil_painting_ms_15.png": "01fe3c249bdb3227a1da51e412bd5487617760be54111881a0617a0ab1f8a5b3",
    "oil_painting_ms_16.png": "ffc0dcb92d3ec148a4a1ece73409e011fd96ec2fc7cb870895ed8057a7905a58",
    "oil_painting_ms_17.png": "a09481c5abab6ad898d7de802a24ed86dff28f766ab14e61afedac13fc606670",
    "oil_painting_ms_18.png": "be871f259c4197170e5adce697633b6087c54c5fa10846f7f075c0727377aa35",
    "oil_painting_ms_19.png": "c7b7221c38a3d84e1ffc0f14c97ef4a1c98fcd8da49d5c804b3b19eba0e55c32",
    "oil_painting_ms_20.png": "36a114134dd75c905d0fdf6ba6511f7dcdf370cbfb0410b27a4f8e8fe3400af9",
}


class _CaveScene(Dataset):
    """One partial CAVE scene: 20 PNG bands, 400-590 nm."""

    homepage = "https://www.cs.columbia.edu/CAVE/databases/multispectral/"
    citation = ("F. Yasuma, T. Mitsunaga, D. Iso, S. K. Nayar, 'Generalized Assorted Pixel Camera: "
                "Post-Capture Control of Resolution, Dynamic Range and Spectrum', IEEE TIP 2010")
    licence = "free for research use (Columbia CAVE); partial, resampled copy"
    wavelengths = np.arange(400.0, 591.0, 10.0)
    rgb_bands = (19, 15, 6)  # 590 nm is the reddest band present; 550, 460 nm

    def load(self) -> Sample:
        """Return the cube (20, 512, 640) float32 = PNG counts / 65535; no labels."""
        import imageio.v3 as iio

        from hsi.errors import FormatError

        planes = []
        for rel in self.files:
            path = self.path(rel)
            try:
                plane = iio.imread(path)
            except Exception as exc:  # imageio raises many kinds
                raise FormatError(f"{path}: not a readable PNG ({exc})") from None
            if plane.ndim != 2 or plane.dtype != np.uint16:
                raise FormatError(f"{path}: expected a 16-bit grey PNG, got {plane.dtype} "
                                  f"{plane.shape}")
            planes.append(plane)
        data = np.stack(planes).astype(np.float32) / np.float32(SCALE)
        cube = Cube(data, wavelengths=self.wavelengths, name=self.name,
                    metadata={"partial": True, "resampled_width": True})
        return Sample(cube=cube, labels=None, class_names=[], name=self.name)


def _files(folder: str, shas: dict[str, str]) -> dict[str, str]:
    return {f"cave_partial/{folder}/{name}": sha for name, sha in shas.items()}


def _urls(folder: str, source: str, shas: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {f"cave_partial/{folder}/{name}": (github_raw(REPO, COMMIT, f"{source}/{name}"),)
            for name in shas}


class CaveBalloons(_CaveScene):
    """CAVE "balloons", bands 400-590 nm."""

    name = "cave_partial_balloons"
    description = "CAVE balloons (partial): 20 bands 400-590 nm, 512×640, resampled"
    files = _files("balloons_ms", BALLOONS)
    urls = _urls("balloons_ms", "DemoImage/Demo_Balloons", BALLOONS)


class CaveOilPainting(_CaveScene):
    """CAVE "oil painting", bands 400-590 nm."""

    name = "cave_partial_oil_painting"
    description = "CAVE oil painting (partial): 20 bands 400-590 nm, 512×640, resampled"
    files = _files("oil_painting_ms", OIL_PAINTING)
    urls = _urls("oil_painting_ms", "DemoImage/Demo_Oil_Painting", OIL_PAINTING)
