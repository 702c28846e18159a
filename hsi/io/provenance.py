"""What produced a cube's pixels: the metadata entries a file records and reads back.

``hsi fuse`` and :func:`hsi.fusion.fuse` record the method that ran, the ratio, the PSF,
the LR-HSI denoiser and ``auto``'s scene check; ``hsi simulate`` the sensor response of
its HR-MSI. They live in ``cube.metadata`` under :data:`RECORD_KEYS`; the GeoTIFF writer
writes them as dataset tags (numbers, lists and dicts as JSON) and the reader takes them
back, so a result saved again (``hsi.save``, ``hsi convert``, a layer saved from napari)
still says how it was made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: ``cube.metadata`` keys recording what produced the pixels (see the module docstring).
RECORD_KEYS = ("fusion_method", "ratio", "psf_sigma", "psf_shift", "lr_denoise_snr_db",
               "lr_denoise_rank", "auto_check", "scene_fit", "srf", "srf_dropped_bands")


def record_of(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The :data:`RECORD_KEYS` entries of ``metadata`` (a cube's or a layer's), in that order.

    Parameters
    ----------
    metadata : mapping or None

    Returns
    -------
    dict
        The entries present, values unchanged.
    """
    metadata = metadata or {}
    return {k: metadata[k] for k in RECORD_KEYS if k in metadata}


def record_from_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    """The :data:`RECORD_KEYS` entries of a file's dataset tags, JSON values decoded.

    Parameters
    ----------
    tags : mapping of str to str
        GDAL dataset tags (``rasterio``'s ``src.tags()``).

    Returns
    -------
    dict
        ``{"fusion_method": "glp", "ratio": 4, "psf_sigma": 2.0, ...}``: a tag that is not
        JSON (a bare word such as ``glp``) stays a string.
    """
    out: dict[str, Any] = {}
    for key in RECORD_KEYS:
        if key in tags:
            try:
                out[key] = json.loads(tags[key])
            except (TypeError, ValueError):
                out[key] = tags[key]
    return out
