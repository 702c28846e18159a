"""A registered dataset written as the files the commands read (``hsi data export``).

The registry's loaders read each dataset's own layout (``.mat``, ``.npy``, PNG folders); the
commands (``hsi classify``, ``hsi cluster``, ``hsi simulate``, ``hsi fuse``) read rasters.
:func:`export_dataset` bridges the two: the cube as a GeoTIFF with its wavelengths, the
ground truth as a class map with its names and colours, the abundances of the unmixing
benchmarks as a float GeoTIFF.
"""

from __future__ import annotations

import os
from pathlib import Path

from hsi.data.base import Sample

__all__ = ["export_dataset", "export_paths"]


def export_paths(name: str, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Where :func:`export_dataset` writes each part of dataset ``name``.

    Returns
    -------
    dict
        ``{"cube": out_dir/NAME.tif, "labels": out_dir/NAME_gt.tif,
        "abundances": out_dir/NAME_abundances.tif}`` (a part the dataset lacks is not
        written).
    """
    out = Path(out_dir)
    return {"cube": out / f"{name}.tif", "labels": out / f"{name}_gt.tif",
            "abundances": out / f"{name}_abundances.tif"}


def export_dataset(name: str, out_dir: str | os.PathLike,
                   root: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write registered dataset ``name`` into ``out_dir`` as GeoTIFFs.

    Parameters
    ----------
    name : str
        Registry name (``hsi.data.DATASETS``), e.g. ``"indian_pines"``.
    out_dir : path
        Folder for the files (created if needed). The files appear together once all are
        complete (none on an error); existing files of the same names are replaced.
    root : path, optional
        Data folder (default :func:`hsi.data.data_dir`).

    Returns
    -------
    dict of str to pathlib.Path
        The files written, keyed ``"cube"`` (``(bands, H, W)`` float32 in the loader's scale,
        wavelengths in nm in the file's band order), ``"labels"`` (uint8 class map: 0
        unlabelled, ``k`` = ``class_names[k - 1]``, names and colours in its metadata) and
        ``"abundances"`` (``(K, H, W)`` float32, band ``k`` the abundance of the class coded
        ``k + 1`` in the labels, summing to 1 per pixel):
        those the dataset has.

    Raises
    ------
    DatasetNotFoundError
        Unknown name, or its files are missing from the data folder.
    ChecksumError
        A file of the dataset differs from the registry's sha256 (checked before reading).
    ConfigError
        The dataset is a spectral response, not a scene.
    HsiIOError
        An output would replace one of the dataset's files, or the folder cannot be written.
    """
    import numpy as np

    from hsi.cube import Cube
    from hsi.data.registry import get_dataset
    from hsi.errors import ConfigError
    from hsi.io import save
    from hsi.io.atomic import atomic_files
    from hsi.io.guard import check_outputs
    from hsi.io.labels import write_class_map

    dataset = get_dataset(name)(root=root, checksum=True)  # never export damaged bytes
    sample = dataset.load()
    if not isinstance(sample, Sample):
        from hsi.srf_presets import PRESETS

        # only a preset's name is a sensor (nikon_d700); mhf_net_srf is not one
        use = (f"use it as a sensor by its name, {name!r}" if name in PRESETS
               else f"hsi.data.load({name!r}) returns it as an SRF")
        raise ConfigError(f"dataset {name!r} is a spectral response, not a scene: nothing to "
                          f"export ({use})")
    parts = {"cube": sample.cube, "labels": sample.labels, "abundances": sample.abundances}
    wanted = {k: p for k, p in export_paths(name, out_dir).items() if parts[k] is not None}
    check_outputs(wanted.values(), [dataset.path(rel) for rel in dataset.files])
    grid = sample.cube  # georeference of every part (the registered scenes have none)
    crs = grid.crs if grid is not None else None
    transform = grid.transform if grid is not None else None
    with atomic_files(list(wanted.values())) as tmps:  # every part or none
        tmp = dict(zip(wanted, tmps, strict=True))
        if sample.cube is not None:
            save(sample.cube, tmp["cube"], format="geotiff")
        if sample.labels is not None:
            write_class_map(tmp["labels"], sample.labels, crs=crs, transform=transform,
                            class_names=list(sample.class_names))
        if sample.abundances is not None:
            abundances = Cube(np.ascontiguousarray(sample.abundances, dtype=np.float32),
                              crs=crs, transform=transform, name=f"{name} abundances")
            save(abundances, tmp["abundances"], format="geotiff")
    return wanted
