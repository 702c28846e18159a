"""Spectra as a CSV table: one row per band, one column per spectrum (no Qt, no napari)."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np

#: Name of the first column when the cube has wavelengths (else ``band``).
WAVELENGTH_COLUMN = "wavelength_nm"
BAND_COLUMN = "band"


def column_name(text: str) -> str:
    """``text`` as a column name: letters, digits and ``_`` only (``roi 1`` → ``roi_1``)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    return name or "spectrum"


def unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats suffixed ``_2``, ``_3``... (first one kept as is)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0) + 1
        seen[name] = n
        out.append(name if n == 1 else f"{name}_{n}")
    return out


def _cell(value: float) -> str:
    return "" if not np.isfinite(value) else f"{float(value):.9g}"


def write_spectra_csv(path: str | os.PathLike, x: np.ndarray, columns: dict[str, np.ndarray],
                      *, x_name: str = WAVELENGTH_COLUMN) -> Path:
    """Write spectra to ``path`` atomically (nothing is left there if the write fails).

    Parameters
    ----------
    path : path
        Destination ``.csv``.
    x : numpy.ndarray, shape (bands,)
        First column: wavelengths (nm) or band numbers.
    columns : dict of str to numpy.ndarray, each shape (bands,)
        Column name → values; NaN (e.g. nodata) is written as an empty cell.
    x_name : str
        Header of the first column (``wavelength_nm`` or ``band``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ShapeError
        When a column does not have one value per band.
    HsiIOError
        When the file cannot be written (one line naming it and the cause).
    """
    from hsi.errors import ShapeError
    from hsi.io.atomic import atomic_path

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    values = []
    for name, col in columns.items():
        col = np.asarray(col, dtype=np.float64).reshape(-1)
        if col.shape != x.shape:
            raise ShapeError(f"spectrum {name!r}: expected {x.size} values (one per band), "
                             f"got {col.size}", actual_shape=col.shape, expected_shape=x.shape)
        values.append(col)
    dest = Path(path)
    with atomic_path(dest) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([x_name, *columns])
        for i, xi in enumerate(x):
            first = f"{xi:.6g}" if x_name != BAND_COLUMN else str(int(xi))
            writer.writerow([first, *(_cell(col[i]) for col in values)])
    return dest
