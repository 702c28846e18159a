"""The dataset registry: name -> :class:`hsi.data.base.Dataset` subclass.

Add a dataset by writing its module in :mod:`hsi.data` and one line here.
"""

from __future__ import annotations

import os

from hsi.data.abu import ABU_DATASETS
from hsi.data.base import Dataset, Sample
from hsi.data.cave import CaveBalloons, CaveOilPainting
from hsi.data.cave_database import CAVE_DATASETS
from hsi.data.indian_pines import IndianPines
from hsi.data.jasper_ridge import JasperRidge
from hsi.data.pavia_university import PaviaUniversity
from hsi.data.salinas_a import SalinasA
from hsi.data.samson import Samson
from hsi.data.spectral_responses import MhfNetSrf, NikonD700
from hsi.errors import DatasetNotFoundError

DATASETS: dict[str, type[Dataset]] = {
    cls.name: cls
    for cls in (SalinasA, Samson, JasperRidge, IndianPines, PaviaUniversity, CaveBalloons,
                CaveOilPainting, NikonD700, MhfNetSrf)
}
DATASETS.update(CAVE_DATASETS)
DATASETS.update(ABU_DATASETS)


def get_dataset(name: str) -> type[Dataset]:
    """Return the dataset class registered as ``name``.

    Parameters
    ----------
    name : str
        A registry name; case, surrounding spaces and ``-`` for ``_`` do not matter
        (``"Indian-Pines"`` is ``"indian_pines"``).

    Raises
    ------
    DatasetNotFoundError
        For a name not in the registry (the message names the closest one and lists the
        known ones).
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key in DATASETS:
        return DATASETS[key]
    import difflib

    close = difflib.get_close_matches(key, DATASETS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise DatasetNotFoundError(
        f"no dataset named {name!r} ({hint}known: {', '.join(DATASETS)})")


def load(name: str, root: str | os.PathLike | None = None, *, download: bool = False,
         checksum: bool = True) -> Sample:
    """Load a registered dataset.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"salinas_a"``, ``"samson"``, ``"jasper_ridge"``,
        ``"cave_jelly_beans"`` (whole CAVE database), ``"cave_partial_balloons"``,
        ``"indian_pines"``.
    root : path, optional
        Data folder (default :func:`hsi.data.data_dir`).
    download : bool
        Download missing files (sha256-checked).
    checksum : bool
        Check every file's sha256 against the registry first (default; a file hashed once
        in this process is not hashed again while unchanged). ``False`` skips the check,
        though a file that then fails to decode is still checked and named.

    Returns
    -------
    Sample
        ``cube`` (float32, wavelengths in nm), ``labels`` (H, W), ``class_names``. The SRF
        datasets (``nikon_d700``, ``mhf_net_srf``) return an :class:`hsi.degrade.SRF` instead.

    Raises
    ------
    DatasetNotFoundError
        Unknown name, or files missing without ``download``.
    ChecksumError
        A file with the wrong sha256 (the message starts with its path).
    """
    return get_dataset(name)(root=root, download=download, checksum=checksum).load()
