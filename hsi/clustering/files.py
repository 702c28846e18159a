"""Clustering a cube file into a class map file (what ``hsi cluster`` runs).

>>> from hsi.clustering import cluster_file
>>> result = cluster_file("scene.tif", 6, "clusters.tif", method="kmeans")  # doctest: +SKIP
>>> result.k                                                                # doctest: +SKIP
6
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hsi.progress import ProgressCallback, report_progress

if TYPE_CHECKING:
    from hsi.clustering.api import ClusterResult

__all__ = ["cluster_file"]


def cluster_file(
    cube_path: str | os.PathLike,
    k: int | str,
    output: str | os.PathLike,
    *,
    method: str = "kmeans",
    seed: int = 0,
    device: str = "auto",
    confidence: str | os.PathLike | None = None,
    var: str | None = None,
    progress: bool = True,
    callback: ProgressCallback | None = None,
) -> ClusterResult:
    """Cluster the pixels of the cube at ``cube_path`` and write its class map (and confidence).

    Parameters
    ----------
    cube_path : path
        Any cube :func:`hsi.io.open` reads.
    k : int or "auto"
        Number of clusters, as :func:`hsi.clustering.cluster`.
    output : path
        Class map GeoTIFF: uint8 ``(H, W)``, values 1..k (0 = nodata), a colour table, class
        names ``cluster 1`` ... and the cube's CRS and transform.
    method, seed, device
        As :func:`hsi.clustering.cluster`.
    confidence : path, optional
        Also write the per-pixel confidence in [0, 1], float32 ``(1, H, W)`` (format from the
        extension, as :func:`hsi.io.save`).
    var : str, optional
        Variable of a ``.mat`` holding several cubes.
    progress : bool
        tqdm progress bars on stderr.
    callback : callable, optional
        ``callback(done_steps, total_steps)`` (:mod:`hsi.progress`): the clustering's steps,
        then one for writing the files (``done == total`` once they are written). Return
        ``True`` to stop; nothing is written then.

    Returns
    -------
    ClusterResult
        Labels and confidence ``(H, W)``, the method, ``k`` and how it was chosen.

    Raises
    ------
    HsiIOError, FormatError
        Unreadable cube or unwritable outputs.
    ShapeError, ConfigError
        From :func:`hsi.clustering.cluster` (``k`` out of range, unknown method or device).
    Cancelled
        When ``callback`` returns ``True``.

    Nothing is written unless both files are complete: they replace their destinations
    together, atomically.
    """
    from hsi.clustering.api import cluster
    from hsi.cube import Cube
    from hsi.io import open as open_cube
    from hsi.io import output_format, save
    from hsi.io.atomic import atomic_files
    from hsi.io.labels import write_class_map

    steps = {"total": 1}

    def clustering_callback(done: int, total: int) -> bool | None:  # one step more: writing
        steps["total"] = total + 1
        return callback(done, total + 1)

    cube = open_cube(cube_path, var=var)
    result = cluster(cube, k, method=method, seed=seed, device=device, progress=progress,
                     callback=clustering_callback if callback is not None else None)
    outputs = [output] + ([confidence] if confidence is not None else [])
    with atomic_files(outputs) as tmps:  # both files or neither
        write_class_map(tmps[0], result.labels, crs=cube.crs, transform=cube.transform,
                        class_names=result.class_names)
        if confidence is not None:
            save(Cube(result.confidence[None], crs=cube.crs, transform=cube.transform,
                      name="cluster confidence"), tmps[1], format=output_format(confidence))
        # before the temporaries are moved into place: a cancel here still leaves nothing
        report_progress(callback, steps["total"], steps["total"], "clustering")
    return result
