"""Tabulated spectral responses (SRFs) in the data folder.

``load()`` of these datasets returns a :class:`hsi.degrade.SRF`, not a :class:`Sample`.
The Nikon D700 curves are CC BY-NC-SA 4.0 (non-commercial use only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from hsi.data.base import Dataset, github_raw

if TYPE_CHECKING:
    from hsi.srf import SRF

CAMSPEC = "srf/nikon_d700_camspec/"
MHF = "srf/mhf_net/"
MHF_REPO = ("XieQi2015/MHF-net", "fec414c2db94563fe382dd73f3774101ccbf1fbf")


class NikonD700(Dataset):
    """Nikon D700 RGB sensitivities, 400-720 nm every 10 nm (RIT camspec database)."""

    name = "nikon_d700"
    description = "Nikon D700 RGB spectral sensitivities, 400-720 nm (camspec)"
    files: ClassVar[dict[str, str]] = {
        CAMSPEC + "Nikon_D700.csv":
            "d03350d72808b20debc62cb2cb4229b65c0a012afe5c892bcc5106286efa92e5",
        CAMSPEC + "README.md": "7a121bc590a2aaae98f5661c093a42435e238de34379b0db3437ee93ced7e3d7",
    }
    urls: ClassVar[dict[str, tuple[str, ...]]] = {CAMSPEC + name: (github_raw("butcherg/ssf-data",
                                        "ae8620d680877716671c0f0772ef4e625eb9039c",
                                        f"Nikon/D700/camspec/{name}"),)
            for name in ("Nikon_D700.csv", "README.md")}
    homepage = "http://www.gujinwei.org/research/camspec/db.html"
    citation = ("J. Jiang, D. Liu, J. Gu, S. Süsstrunk, 'What is the space of spectral sensitivity "
                "functions for digital color cameras?', WACV 2013")
    licence = "CC BY-NC-SA 4.0 (non-commercial), Rochester Institute of Technology"

    def load(self) -> SRF:  # type: ignore[override]
        """Return the curves as an :class:`hsi.degrade.SRF` (3 bands R, G, B)."""
        from hsi.degrade import SRF

        return SRF.from_csv(self.path(CAMSPEC + "Nikon_D700.csv"), name="nikon_d700")


class MhfNetSrf(Dataset):
    """SRF matrices used by the MHF-net fusion papers (CAVE RGB, camera bank, Pavia 4-band)."""

    name = "mhf_net_srf"
    description = "MHF-net SRFs: CAVE RGB (31×3 at 400-700 nm), 52-camera bank, ROSIS 4-band"
    files: ClassVar[dict[str, str]] = {
        MHF + "CAVEdata/response coefficient.mat":
            "d9aceda6c253841cdff64d5c9a2aa2cc8f58f53ce7b684c008eab21c15692af6",
        MHF + "CAVEdata/AllR.mat":
            "c2270d874a0c96e465975eeb67ef120982abd5e5dddfe4e3103054fac3ce88bf",
        MHF + "ROSIS_Pavia/R.mat":
            "851e79bac37fb3af2499ddc44a2b5e07d23bd86e14583fc12c899f9a7227d4a5",
    }
    urls: ClassVar[dict[str, tuple[str, ...]]] = {
        MHF + "CAVEdata/response coefficient.mat":
            (github_raw(*MHF_REPO, "CMHF-net/rowData/CAVEdata/response coefficient.mat"),),
        MHF + "CAVEdata/AllR.mat": (github_raw(*MHF_REPO, "BMHF-net/rowData/CAVEdata/AllR.mat"),),
        MHF + "ROSIS_Pavia/R.mat": (github_raw(*MHF_REPO, "BMHF-net/rowData/ROSIS_Pavia/R.mat"),),
    }
    homepage = "https://github.com/XieQi2015/MHF-net"
    citation = ("Q. Xie, M. Zhou, Q. Zhao, D. Meng, W. Zuo, Z. Xu, 'Multispectral and "
                "Hyperspectral Image Fusion by MS/HS Fusion Net', CVPR 2019")
    licence = "no licence file in the source repository (research use)"

    def load(self) -> SRF:  # type: ignore[override]
        """Return the CAVE RGB response (``R`` (31, 3) at 400:10:700 nm) as an SRF."""
        from hsi.degrade import SRF

        return SRF.from_mat(self.path(MHF + "CAVEdata/response coefficient.mat"), var="R",
                            wavelengths=np.arange(400.0, 701.0, 10.0), name="mhf_net_cave",
                            band_names=["R", "G", "B"])
