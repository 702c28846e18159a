"""The scene engine: the one place where a scene is tiled, read and written.

Every pipeline that runs over a whole scene file goes through this package, so every door
(library call, CLI, batch) bounds memory by the tile, reports progress and can be cancelled:

- :class:`WindowReader` opens an input once and reads windows of it (GeoTIFF/ENVI through the
  file view of a lazy cube, :func:`hsi.io.indexing.load_window`; other formats from memory),
  turning low-level read failures into one-line :class:`~hsi.errors.HsiIOError`;
- tiles and their halos come from :func:`hsi.tiling.tile_windows` (a core, the read window grown
  by the halo, and the LR window of a two-resolution pair);
- :func:`scene_pass` is the optional first pass for statistics of the whole scene (it reads
  tile by tile and hands each tile to an accumulator);
- :func:`run_tiles` is the driver: the next tile is read in a read-ahead thread while the
  current one is computed, and the previous result is written by a writer thread (compression
  overlaps compute); at most one tile waits at each stage, so memory stays bounded;
- the output goes to a *sink* with the interface of :class:`hsi.io.geotiff.GeoTiffTileWriter`:
  that writer for a file (CLI, batch), :class:`ArrayWriter` for an array in memory (the
  napari docks), so both doors run the same tiling code;
- :class:`SceneProgress` is the tqdm bar and the caller's :data:`hsi.progress.ProgressCallback`
  over all the passes of a job; a callback returning ``True`` raises
  :class:`~hsi.errors.Cancelled` between tiles, the threads are drained, and the outputs
  (written through :mod:`hsi.io.atomic` / :class:`hsi.io.geotiff.GeoTiffTileWriter`) are
  never moved into place;
- :class:`BufferPool` keeps the results' buffers for reuse once written (fresh memory's page
  faults cost more than a tile's compute on CPU).

Users: :func:`hsi.fusion.scene.fuse_scene` (``fuse_files``: ``hsi fuse``, ``hsi fuse-batch``;
``fuse_cube``: the Fuse dock), :func:`hsi.classification.predict.predict_scene`
(``classify_to_files``, ``Classifier.predict``, ``hsi classify predict``; ``predict_arrays``:
the Classify dock), :func:`hsi.clustering.files.cluster_cube` (``cluster_file``: ``hsi
cluster``; the Cluster dock) and :func:`hsi.simulate.simulate_files` (``hsi simulate``).
"""

from __future__ import annotations

from hsi.engine.buffers import BufferPool
from hsi.engine.driver import SceneProgress, run_tiles, scene_pass, tile_batches
from hsi.engine.reader import WindowReader, read_ahead, reading
from hsi.engine.sink import ArrayWriter

__all__ = ["ArrayWriter", "BufferPool", "SceneProgress", "WindowReader", "read_ahead", "reading",
           "run_tiles",
           "scene_pass", "tile_batches"]
