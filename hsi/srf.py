"""Spectral response functions (SRF): how a multispectral sensor sees a hyperspectral cube.

An :class:`SRF` holds one response curve per multispectral band on a wavelength grid (nm);
:meth:`SRF.matrix` resamples it onto a cube's band centres as a ``(msi_bands, hsi_bands)``
matrix whose rows sum to 1. :func:`load_srf` gives the presets (:data:`SRF_PRESETS`) or reads a
``.csv``/``.mat`` file. :mod:`hsi.degrade` applies the matrix to cubes.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hsi.check import check_wavelengths
from hsi.cube import check_nanometres, wavelengths_in_nm
from hsi.errors import FormatError, HsiIOError, SensorError, ShapeError, WavelengthError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
from hsi.srf_presets import PRESETS

log = logging.getLogger("hsi.srf")
#: A band reaching outside a cube's range is truncated (with a warning) when at least this
#: share of its response area lies inside the range, and refused otherwise.
MIN_INSIDE_AREA = 0.9

#: A gap in a cube's spectral sampling: consecutive band centres (sorted, duplicates merged)
#: farther apart than this many times the median spacing, e.g. removed water-absorption bands
#: (AVIRIS Salinas-A: 1362.6-1422.3 nm and 1819.1-1943.3 nm, 6x and 12.6x its 9.9 nm spacing).
GAP_FACTOR = 2.5

#: A band with less than this share of its response area where the cube has bands (most of it
#: in a gap) is not simulated: :meth:`SRF.for_cube` drops it with a warning.
MIN_COVERED = 0.5

#: A band kept with less than this share of its response area covered is named in a warning.
WARN_COVERED = 0.9

__all__ = ["GAP_FACTOR", "MIN_COVERED", "SIGNIFICANT_RESPONSE", "SRF", "SRF_PRESETS",
           "WARN_COVERED", "load_srf", "spectral_coverage"]

#: Names accepted by :func:`load_srf`.
SRF_PRESETS: tuple[str, ...] = tuple(PRESETS)

#: Part of a response curve that counts as "significant" for the range check, as a fraction of
#: the band's peak: a band whose response above this level reaches outside the cube's
#: wavelengths would be only partly observed.
SIGNIFICANT_RESPONSE = 0.01

_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def share_text(fraction: float) -> str:
    """A fraction in [0, 1] as a whole percentage, ``"99.9%"`` rather than ``"100%"`` for
    one just under 1 (a band 99.97 % inside the cube's range is not wholly inside)."""
    if 0.995 <= fraction < 1:
        return f"{math.floor(fraction * 1000) / 10:g}%"
    return f"{fraction:.0%}"


@dataclass
class SRF:
    """Spectral response functions of a multispectral sensor, tabulated on one wavelength grid.

    Parameters
    ----------
    wavelengths : numpy.ndarray, shape (n,)
        Strictly increasing sample wavelengths in nm.
    curves : numpy.ndarray, shape (msi_bands, n)
        Relative response of each band at ``wavelengths`` (non-negative, any scale).
    band_names : list of str
        One name per band, e.g. ``["R", "G", "B"]``.
    name : str
        Sensor name.

    Raises
    ------
    SensorError
        Curves of the wrong shape, negative/non-finite values, a band with no response, or a
        name count differing from the band count.
    WavelengthError
        Wavelengths not strictly increasing.
    """

    wavelengths: np.ndarray
    curves: np.ndarray
    band_names: list[str] = field(default_factory=list)
    name: str = ""
    #: Truncation warnings already given by :meth:`matrix` (one per cube range, not per tile).
    _warned: set = field(default_factory=set, init=False, repr=False, compare=False)
    #: Bands :meth:`for_cube` left out, ``{name: covered fraction}`` (empty for a full sensor).
    dropped: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        curves = np.atleast_2d(np.asarray(self.curves, dtype=np.float64))
        if curves.ndim != 2:
            raise SensorError(f"SRF {self.name!r}: curves must be (msi_bands, n), "
                              f"got {curves.shape}")
        self.wavelengths = check_wavelengths(self.wavelengths, curves.shape[1],
                                             name=f"SRF {self.name!r} wavelengths",
                                             increasing=True)
        if not np.all(np.isfinite(curves)):
            raise SensorError(f"SRF {self.name!r}: curves contain NaN or infinite values")
        if np.any(curves < 0):
            raise SensorError(f"SRF {self.name!r}: curves must be non-negative")
        names = list(self.band_names) if self.band_names else _default_band_names(curves.shape[0])
        if len(names) != curves.shape[0]:
            raise SensorError(
                f"SRF {self.name!r}: expected {curves.shape[0]} band names (one per curve), "
                f"got {len(names)}")
        self.band_names = [str(n) for n in names]
        empty = [n for n, c in zip(self.band_names, curves, strict=True) if not c.max() > 0]
        if empty:
            raise SensorError(f"SRF {self.name!r}: band(s) {', '.join(empty)} have no response")
        self.curves = curves

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_csv(cls, path: str | os.PathLike, name: str | None = None) -> SRF:
        """Read tabulated curves from a text file.

        Format: optional ``#`` comment lines, an optional header row (``wavelength,R,G,B``),
        then one row per wavelength: the wavelength (nm, or µm when all values are below 100)
        followed by one response per band, separated by commas, semicolons, tabs or spaces.
        Without a header, three bands are named R, G, B and others B1, B2, ...

        Parameters
        ----------
        path : str or Path
            The CSV file.
        name : str, optional
            Sensor name; default: a ``#Camera:`` comment, else the file stem.

        Raises
        ------
        HsiIOError
            When the file cannot be read.
        FormatError
            A non-numeric row, rows of unequal length, fewer than two columns, no data, or
            wavelengths that are not increasing.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise HsiIOError(f"{path}: cannot read SRF file ({exc.strerror or exc})") from None
        header: list[str] | None = None
        rows: list[list[float]] = []
        camera = None
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                m = re.match(r"#\s*camera\s*:\s*(.+)", line, flags=re.IGNORECASE)
                if m and camera is None:
                    camera = m.group(1).strip()
                continue
            tokens = [t for t in re.split(r"[,;\s]+", line) if t]
            try:
                values = [float(t) for t in tokens]
            except ValueError:
                if header is None and not rows:
                    header = tokens
                    continue
                raise FormatError(f"{path}: line {lineno}: non-numeric value in {line!r}") from None
            if rows and len(values) != len(rows[0]):
                raise FormatError(f"{path}: line {lineno}: expected {len(rows[0])} columns, "
                                  f"got {len(values)}")
            rows.append(values)
        if not rows:
            raise FormatError(f"{path}: no numeric rows (expected wavelength,band1,band2,...)")
        table = np.asarray(rows, dtype=np.float64)
        if table.shape[1] < 2:
            raise FormatError(f"{path}: expected a wavelength column and at least one band "
                              f"column, got {table.shape[1]} column")
        names = None
        if header is not None:
            if len(header) != table.shape[1]:
                raise FormatError(f"{path}: header has {len(header)} columns, data rows have "
                                  f"{table.shape[1]}")
            names = header[1:]
        wavelengths = wavelengths_in_nm(table[:, 0])
        try:
            return cls(wavelengths=wavelengths, curves=table[:, 1:].T,
                       band_names=names or _default_band_names(table.shape[1] - 1),
                       name=name or camera or path.stem)
        except (WavelengthError, SensorError) as exc:
            raise FormatError(f"{path}: {exc}") from None

    @classmethod
    def from_mat(cls, path: str | os.PathLike, var: str | None = None,
                 wavelengths: ArrayLike | None = None,
                 name: str | None = None, band_names: list[str] | None = None) -> SRF:
        """Read an SRF matrix from a MATLAB file (v5 or v7.3).

        The matrix may be ``(msi_bands, n)`` or ``(n, msi_bands)`` (e.g. the ``(31, 3)`` ``R`` of
        the CAVE fusion papers): the axis whose length matches the wavelengths is the spectral one.

        Parameters
        ----------
        path : str or Path
            The ``.mat`` file.
        var : str, optional
            Variable holding the matrix; needed when the file has several 2-D arrays.
        wavelengths : array-like, shape (n,), optional
            Wavelengths (nm) of the matrix's spectral axis, e.g. ``np.arange(400, 701, 10)``.
            Default: a variable named ``wavelengths``/``wavelength``/``wl``/``lambda`` in the file.
        name : str, optional
            Sensor name (default: file stem).
        band_names : list of str, optional
            Default R, G, B for three bands, else B1, B2, ...

        Raises
        ------
        HsiIOError
            When the file cannot be read.
        FormatError
            No (or an ambiguous) 2-D matrix, or ``var`` missing.
        SensorError
            No wavelengths given or found.
        ShapeError
            Neither axis of the matrix matches the number of wavelengths.
        """
        path = Path(path)
        from hsi.io.mat import read_mat_variables

        arrays = read_mat_variables(path)
        wl_keys = ("wavelengths", "wavelength", "wl", "lambda", "wavelength_nm")
        if wavelengths is None:
            for key in wl_keys:
                if key in arrays and min(np.shape(arrays[key])) == 1:
                    wavelengths = np.asarray(arrays[key]).reshape(-1)
                    break
        if var is not None:
            if var not in arrays:
                raise FormatError(f"{path}: no variable {var!r} (has {', '.join(sorted(arrays))})")
            mat = np.asarray(arrays[var])
        else:
            cands = {k: v for k, v in arrays.items()
                     if k not in wl_keys and np.ndim(v) == 2 and min(np.shape(v)) > 1
                     and np.issubdtype(np.asarray(v).dtype, np.number)}
            if len(cands) > 1 and wavelengths is not None:
                n = np.size(wavelengths)
                cands = {k: v for k, v in cands.items() if n in np.shape(v)} or cands
            if len(cands) > 1:
                named = {k: v for k, v in cands.items() if k.lower() in ("r", "srf", "response")}
                cands = named if len(named) == 1 else cands
            if len(cands) != 1:
                found = ", ".join(f"{k} {np.shape(v)}" for k, v in cands.items()) or "none"
                raise FormatError(f"{path}: expected one 2-D SRF matrix, found {found}; "
                                  f"pass var=")
            var, mat = next(iter(cands.items()))
            mat = np.asarray(mat)
        if mat.ndim != 2:
            raise FormatError(f"{path}: variable {var!r} must be 2-D, got shape {mat.shape}")
        if wavelengths is None:
            raise SensorError(f"{path}: the SRF matrix {var!r} {mat.shape} has no wavelengths; "
                              f"pass wavelengths= (nm, one per spectral sample)")
        wl = np.asarray(wavelengths, dtype=np.float64).reshape(-1)
        if mat.shape[1] == wl.size:
            curves = mat
        elif mat.shape[0] == wl.size:
            curves = mat.T
        else:
            raise ShapeError(f"{path}: SRF matrix {var!r} has shape {mat.shape}, but neither axis "
                             f"matches the {wl.size} wavelengths",
                             actual_shape=mat.shape, expected_shape=("msi_bands", wl.size))
        try:
            return cls(wavelengths=wavelengths_in_nm(wl), curves=curves,
                       band_names=band_names or _default_band_names(curves.shape[0]),
                       name=name or path.stem)
        except (WavelengthError, SensorError) as exc:
            raise FormatError(f"{path}: {exc}") from None

    @classmethod
    def gaussian(cls, centres_nm: ArrayLike, fwhm_nm: ArrayLike,
                 names: list[str] | None = None, name: str = "gaussian",
                 step_nm: float | None = None) -> SRF:
        """Gaussian bands of the given centres and full widths at half maximum.

        Parameters
        ----------
        centres_nm, fwhm_nm : array-like, shape (msi_bands,)
            Band centres and FWHM in nm (a scalar FWHM applies to every band).
        names : list of str, optional
            Band names (default B1, B2, ...).
        name : str
            Sensor name.
        step_nm : float, optional
            Tabulation step; default ``min(1, min(fwhm) / 10)`` nm. Curves are tabulated over
            ``centre ± 3·FWHM`` (±7 σ), with peak 1.

        Raises
        ------
        SensorError
            Non-positive or non-finite widths, or centre/width counts that differ.
        """
        centres = np.asarray(centres_nm, dtype=np.float64).reshape(-1)
        fwhm = np.broadcast_to(np.asarray(fwhm_nm, dtype=np.float64), centres.shape).copy() \
            if np.ndim(fwhm_nm) == 0 else np.asarray(fwhm_nm, dtype=np.float64).reshape(-1)
        if fwhm.shape != centres.shape or centres.size == 0:
            raise SensorError(f"SRF {name!r}: expected one FWHM per centre, got {centres.size} "
                              f"centres and {fwhm.size} FWHM")
        if not (np.all(np.isfinite(fwhm)) and np.all(fwhm > 0) and np.all(np.isfinite(centres))):
            raise SensorError(f"SRF {name!r}: centres must be finite and FWHM > 0, "
                              f"got FWHM {fwhm.tolist()}")
        step = float(step_nm) if step_nm is not None else min(1.0, float(fwhm.min()) / 10.0)
        lo = float(np.min(centres - 3 * fwhm))
        hi = float(np.max(centres + 3 * fwhm))
        grid = lo + step * np.arange(math.ceil((hi - lo) / step) + 1)
        sigma = fwhm * _FWHM_TO_SIGMA
        curves = np.exp(-0.5 * ((grid[None, :] - centres[:, None]) / sigma[:, None]) ** 2)
        srf = cls(wavelengths=grid, curves=curves, band_names=names or [], name=name)
        srf._gaussian = (centres, fwhm)  # exact centres/FWHM, not read back from the table
        return srf

    # ------------------------------------------------------------------ properties
    @property
    def msi_bands(self) -> int:
        """Number of multispectral bands."""
        return int(self.curves.shape[0])

    @property
    def centres(self) -> np.ndarray:
        """Peak wavelength of each band in nm, shape (msi_bands,) (exact centres for Gaussians)."""
        gauss = getattr(self, "_gaussian", None)
        if gauss is not None:
            return gauss[0].copy()
        return self.wavelengths[np.argmax(self.curves, axis=1)]

    @property
    def fwhm(self) -> np.ndarray:
        """Full width at half maximum of each band in nm, shape (msi_bands,).

        For tabulated curves: the distance between the outermost half-maximum crossings
        (linearly interpolated).
        """
        gauss = getattr(self, "_gaussian", None)
        if gauss is not None:
            return gauss[1].copy()
        out = np.empty(self.msi_bands)
        wl = self.wavelengths
        for b, curve in enumerate(self.curves):
            half = curve.max() / 2
            above = np.flatnonzero(curve >= half)
            i, j = above[0], above[-1]
            left = wl[i] if i == 0 else np.interp(
                half, [curve[i - 1], curve[i]], [wl[i - 1], wl[i]])
            right = wl[j] if j == wl.size - 1 else np.interp(
                half, [curve[j + 1], curve[j]], [wl[j + 1], wl[j]])
            out[b] = right - left
        return out

    def area_inside(self, lo: float, hi: float) -> np.ndarray:
        """Fraction of each band's response area (trapezoids on its grid) within ``[lo, hi]`` nm.

        Returns
        -------
        numpy.ndarray, shape (msi_bands,)
        """
        from scipy.integrate import trapezoid

        fine = np.union1d(self.wavelengths, [lo, hi])
        fine = fine[(fine >= self.wavelengths[0]) & (fine <= self.wavelengths[-1])]
        out = np.empty(self.msi_bands)
        for b, curve in enumerate(self.curves):
            y = np.interp(fine, self.wavelengths, curve)
            total = trapezoid(y, fine)
            keep = (fine >= lo) & (fine <= hi)
            out[b] = trapezoid(y[keep], fine[keep]) / total if total > 0 else 0.0
        return out

    def _area_in(self, intervals: np.ndarray) -> np.ndarray:
        """Fraction of each band's response area (trapezoids on the SRF's own grid, refined at
        the interval ends) inside the union of ``intervals`` (shape (k, 2), nm, disjoint).

        Returns
        -------
        numpy.ndarray, shape (msi_bands,)
        """
        wl = self.wavelengths
        ends = np.asarray(intervals, dtype=np.float64).reshape(-1)
        fine = np.union1d(wl, ends[(ends > wl[0]) & (ends < wl[-1])])
        y = np.stack([np.interp(fine, wl, c) for c in self.curves])
        seg = 0.5 * (y[:, 1:] + y[:, :-1]) * np.diff(fine)  # (msi_bands, segments)
        mid = 0.5 * (fine[1:] + fine[:-1])
        inside = np.zeros(mid.size, dtype=bool)
        for a, b in np.asarray(intervals, dtype=np.float64).reshape(-1, 2):
            inside |= (mid >= a) & (mid <= b)
        total = seg.sum(axis=1)
        return np.where(total > 0, seg[:, inside].sum(axis=1) / np.where(total > 0, total, 1),
                        0.0)

    def coverage(self, hsi_wavelengths: ArrayLike) -> np.ndarray:
        """Fraction of each band's response area where a cube with these band centres has bands.

        The covered part of the spectrum is given by :func:`spectral_coverage`: each run of
        band centres without a gap, widened by half the median band spacing on both sides.
        The response is integrated over wavelength on the SRF's own tabulation grid.

        Parameters
        ----------
        hsi_wavelengths : array-like, shape (hsi_bands,)
            The cube's band centres in nm (any order; duplicates allowed).

        Returns
        -------
        numpy.ndarray, shape (msi_bands,)
            Covered fraction of each band's response, in [0, 1].

        Raises
        ------
        WavelengthError
            Non-finite or non-positive wavelengths.
        """
        wl = np.asarray(hsi_wavelengths, dtype=np.float64).reshape(-1)
        wl = check_wavelengths(wl, wl.size, name="cube wavelengths")
        covered, _, _ = spectral_coverage(wl)
        return self._area_in(covered)

    def _gap_report(self, wl: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Per band: covered fraction, fraction lost in the cube's gaps, and the widest-loss
        gap as text (``"1362.6-1422.3 nm"``, ``""`` for none)."""
        covered, gaps, spacing = spectral_coverage(wl)
        frac = self._area_in(covered)
        if gaps.size == 0:
            return frac, np.zeros(self.msi_bands), [""] * self.msi_bands
        holes = np.column_stack([gaps[:, 0] + spacing / 2, gaps[:, 1] - spacing / 2])
        losses = np.stack([self._area_in(h[None, :]) for h in holes], axis=1)  # (bands, gaps)
        worst = np.argmax(losses, axis=1)
        where = [f"{gaps[g, 0]:.1f}-{gaps[g, 1]:.1f} nm" for g in worst]
        return frac, losses.sum(axis=1), where

    def _gap_bands(self, wl: np.ndarray) -> list[tuple[int, float, str]]:
        """``(band index, covered fraction, gap)`` for each band losing a significant part of
        its response (over :data:`SIGNIFICANT_RESPONSE`) to a gap of the cube's sampling."""
        frac, lost, where = self._gap_report(wl)
        return [(b, float(frac[b]), where[b]) for b in range(self.msi_bands)
                if lost[b] > SIGNIFICANT_RESPONSE]

    def select(self, bands: str | list[str] | tuple[str, ...]) -> SRF:
        """The same sensor restricted to some of its bands.

        Parameters
        ----------
        bands : str or sequence of str
            Band names to keep, in the order wanted (``["B2", "B3", "B4", "B8"]`` or
            ``"B2,B3,B4,B8"``), or names to leave out, each prefixed with ``-``
            (``"-B10"``, ``["-B1", "-B10"]``). Names are matched case-insensitively.

        Returns
        -------
        SRF
            A new SRF with the chosen bands (same name and tabulation grid).

        Raises
        ------
        SensorError
            An unknown band name (the message lists the sensor's bands), a mix of kept and
            left-out names, a band named twice, or no band left.
        """
        tokens = [t.strip() for t in (bands.split(",") if isinstance(bands, str) else bands)]
        tokens = [t for t in tokens if t]
        lower = [n.lower() for n in self.band_names]
        known = ", ".join(self.band_names)
        drop = [t.startswith("-") for t in tokens]
        if not tokens or (any(drop) and not all(drop)):
            raise SensorError(f"SRF {self.name!r}: select bands to keep (B2,B3) or to leave out "
                              f"(-B10), not both and not none; got {bands!r} (bands: {known})")
        names = [t.lstrip("-").strip().lower() for t in tokens]
        unknown = [t for t, n in zip(tokens, names, strict=True) if n not in lower]
        if unknown:
            raise SensorError(f"SRF {self.name!r}: no band {', '.join(unknown)} "
                              f"(bands: {known})")
        if len(set(names)) != len(names):
            raise SensorError(f"SRF {self.name!r}: a band is named twice in {bands!r}")
        if all(drop):
            idx = [i for i, n in enumerate(lower) if n not in names]
        else:
            idx = [lower.index(n) for n in names]
        if not idx:
            raise SensorError(f"SRF {self.name!r}: {bands!r} leaves no band (bands: {known})")
        return self._subset(idx)

    def _subset(self, idx: list[int]) -> SRF:
        """A new SRF of the bands ``idx``, sharing this one's record of warnings given."""
        sub = SRF(self.wavelengths, self.curves[idx], [self.band_names[i] for i in idx],
                  self.name)
        gauss = getattr(self, "_gaussian", None)
        if gauss is not None:
            sub._gaussian = (gauss[0][idx], gauss[1][idx])
        sub._warned = self._warned  # a warning given for the full sensor is not repeated
        sub.dropped = dict(self.dropped)
        return sub

    def for_cube(self, hsi_wavelengths: ArrayLike) -> SRF:
        """This sensor without the bands a cube's sampling does not observe.

        A band is dropped when less than :data:`MIN_COVERED` of its response area lies where
        the cube has bands (:meth:`coverage`) because of a gap in the cube's sampling
        (:func:`spectral_coverage`), e.g. Sentinel-2 B10 (cirrus, 1373.5 nm) on an AVIRIS
        cube whose water-absorption bands (1363-1422 nm) were removed: built from the few
        bands at the gap's edges it would be a made-up band. One warning line (once per
        wavelength grid) names each dropped band, its covered fraction and the gap; the
        dropped bands are recorded in :attr:`dropped`. Bands outside the cube's range are left
        to :meth:`matrix`'s range check.

        Parameters
        ----------
        hsi_wavelengths : array-like, shape (hsi_bands,)
            The cube's band centres in nm.

        Returns
        -------
        SRF
            ``self`` when every band is observed, else a new SRF of the observed bands.

        Raises
        ------
        SensorError
            When no band of the sensor is observed (the message starts with ``cube: ``, which
            :func:`hsi.errors.naming` turns into the cube's file).
        WavelengthError
            Non-finite or non-positive wavelengths, or micrometres
            (:func:`hsi.cube.check_nanometres`).
        """
        wl = np.asarray(hsi_wavelengths, dtype=np.float64).reshape(-1)
        wl = check_wavelengths(wl, wl.size, name="cube wavelengths")
        check_nanometres(wl, "cube")  # µm read as nm: every band would be "outside"
        inside = self.area_inside(float(wl.min()), float(wl.max()))
        gone = [(b, f, g) for b, f, g in self._gap_bands(wl)
                if f < MIN_COVERED and inside[b] >= MIN_INSIDE_AREA]
        if not gone:
            return self
        said = ", ".join(f"{self.band_names[b]} ({self.centres[b]:g} nm, {f:.0%} covered, "
                         f"gap {g})" for b, f, g in gone)
        keep = [b for b in range(self.msi_bands) if b not in {b for b, _, _ in gone}]
        if not keep:
            raise SensorError(  # "cube: ": a caller that read the cube names its file
                f"cube: SRF {self.name!r}: no band is observed by the cube's bands: {said} (less "
                f"than {MIN_COVERED:.0%} of each band's response lies where the cube has bands)")
        key = ("dropped", float(wl.min()), float(wl.max()), wl.size)
        if key not in self._warned:
            self._warned.add(key)
            names = ",".join(f"-{self.band_names[b]}" for b, _, _ in gone)
            log.warning("SRF %r: band(s) %s dropped: less than %.0f%% of the response lies "
                        "where the cube has bands (a gap in its sampling, e.g. removed "
                        "water-absorption bands); the MSI has the other %d band(s) (to choose "
                        "the bands yourself: sensor '%s:%s')", self.name, said,
                        100 * MIN_COVERED, len(keep), self.name, names)
        sub = self._subset(keep)
        sub.dropped.update({self.band_names[b]: round(f, 4) for b, f, _ in gone})
        return sub

    def significant_range(self, threshold: float = SIGNIFICANT_RESPONSE) -> np.ndarray:
        """Wavelength span where each band's response exceeds ``threshold`` × its peak.

        Returns
        -------
        numpy.ndarray, shape (msi_bands, 2)
            ``[first, last]`` tabulated wavelength (nm) above the threshold, per band.
        """
        out = np.empty((self.msi_bands, 2))
        for b, curve in enumerate(self.curves):
            idx = np.flatnonzero(curve > threshold * curve.max())
            out[b] = self.wavelengths[idx[0]], self.wavelengths[idx[-1]]
        return out

    # ------------------------------------------------------------------ resampling
    def matrix(self, hsi_wavelengths: ArrayLike,
               threshold: float = SIGNIFICANT_RESPONSE) -> np.ndarray:
        """The ``(msi_bands, hsi_bands)`` matrix mapping a cube's spectra to this sensor's bands.

        Each curve is sampled at the cube's band centres (linear interpolation, zero outside the
        tabulated range) and each row normalised to sum to 1, so a flat spectrum stays flat.

        Parameters
        ----------
        hsi_wavelengths : array-like, shape (hsi_bands,)
            The cube's band centres in nm, in the cube's order (any order).
        threshold : float
            Fraction of a band's peak above which its response must lie within the cube's
            wavelength range.

        Returns
        -------
        numpy.ndarray, shape (msi_bands, hsi_bands), float64
            Non-negative rows summing to 1, columns in the cube's band order.

        A band partly in a gap of the cube's sampling (:func:`spectral_coverage`, e.g. removed
        water-absorption bands) keeps its row, built from the cube bands around the gap; a
        band with less than :data:`WARN_COVERED` of its response covered is named in a
        one-line warning (once per wavelength grid). :meth:`for_cube` first drops the bands
        below :data:`MIN_COVERED`, as :func:`hsi.degrade.simulate_pair` does.

        Raises
        ------
        SensorError
            Naming every band whose significant response reaches outside the cube's range
            ``[min, max]`` with less than :data:`MIN_INSIDE_AREA` of its area inside (a band
            with at least that much inside is truncated to the range and renormalised, with a
            one-line warning), or that no cube band samples above ``threshold`` × its peak.
            The message starts with ``cube: ``, which :func:`hsi.errors.naming` turns into
            the cube's file.
        WavelengthError
            Non-finite or non-positive wavelengths.
        """
        wl = np.asarray(hsi_wavelengths, dtype=np.float64).reshape(-1)
        wl = check_wavelengths(wl, wl.size, name="cube wavelengths")
        lo, hi = float(wl.min()), float(wl.max())
        span = self.significant_range(threshold)
        inside = self.area_inside(lo, hi)
        outside, truncated = [], []
        for n, (a, b), frac in zip(self.band_names, span, inside, strict=True):
            if a >= lo and b <= hi:
                continue
            (truncated if frac >= MIN_INSIDE_AREA else outside).append(
                f"{n} ({a:g}-{b:g} nm, {share_text(frac)} of its area inside)")
        if outside:
            raise SensorError(  # "cube: ": a caller that read the cube names its file
                f"cube: SRF {self.name!r}: band(s) {', '.join(outside)} fall outside the cube's "
                f"wavelength range {lo:g}-{hi:g} nm (at least {MIN_INSIDE_AREA:.0%} of a band's "
                f"response must be observed); use a sensor inside that range")
        if truncated and (lo, hi) not in self._warned:
            self._warned.add((lo, hi))
            log.warning("SRF %r: band(s) %s truncated to the cube's range %g-%g nm and "
                        "renormalised", self.name, ", ".join(truncated), lo, hi)
        gappy = [(b, f, g) for b, f, g in self._gap_bands(wl) if f < WARN_COVERED]
        key = ("gap", lo, hi, wl.size)
        if gappy and key not in self._warned:
            self._warned.add(key)
            said = ", ".join(f"{self.band_names[b]} ({f:.0%} covered, gap {g})"
                             for b, f, g in gappy)
            made_up = ", ".join(f"-{self.band_names[b]}" for b, f, _ in gappy if f < MIN_COVERED)
            hint = (f"; below {MIN_COVERED:.0%} a band is made up from the cube bands at the "
                    f"gap's edges: drop it (SRF.for_cube, or sensor '{self.name}:{made_up}')"
                    if made_up else "")
            log.warning("SRF %r: band(s) %s partly fall in a gap of the cube's sampling and are "
                        "simulated from the cube bands around it%s", self.name, said, hint)
        mat = np.stack([np.interp(wl, self.wavelengths, c, left=0.0, right=0.0)
                        for c in self.curves])
        # A band whose significant part falls between two cube bands is seen by none of them.
        unseen = mat.max(axis=1) <= threshold * self.curves.max(axis=1)
        if np.any(unseen):
            names = ", ".join(n for n, u in zip(self.band_names, unseen, strict=True) if u)
            raise SensorError(f"cube: SRF {self.name!r}: band(s) {names} overlap no band of the "
                              f"cube ({lo:g}-{hi:g} nm, {wl.size} bands)")
        return mat / mat.sum(axis=1)[:, None]

    def __repr__(self) -> str:
        return (f"SRF({self.name!r}, bands={self.band_names}, "
                f"{self.wavelengths[0]:g}-{self.wavelengths[-1]:g} nm)")


def spectral_coverage(hsi_wavelengths: ArrayLike,
                      gap_factor: float = GAP_FACTOR) -> tuple[np.ndarray, np.ndarray, float]:
    """Where a cube with these band centres has bands, and where its sampling has gaps.

    The rule: the centres are sorted (duplicates merged) and ``spacing`` is the median distance
    between consecutive ones. Two consecutive centres more than ``gap_factor × spacing`` apart
    bound a gap. Each run of centres between gaps covers its span widened by ``spacing / 2`` on
    both sides (a band sees about half a spacing around its centre), so a gap loses half a
    spacing at each edge. On the AVIRIS Salinas-A cube (204 bands, spacing 9.9 nm): gaps
    1362.6-1422.3 nm and 1819.1-1943.3 nm; covered 385.3-1367.6, 1417.4-1824.0 and
    1938.3-2494.1 nm.

    Parameters
    ----------
    hsi_wavelengths : array-like, shape (hsi_bands,)
        Band centres in nm, any order.
    gap_factor : float
        Spacing multiple above which consecutive centres bound a gap (default
        :data:`GAP_FACTOR`).

    Returns
    -------
    covered : numpy.ndarray, shape (runs, 2)
        ``[start, end]`` in nm of each covered interval, increasing.
    gaps : numpy.ndarray, shape (runs - 1, 2)
        ``[last centre before, first centre after]`` in nm of each gap.
    spacing : float
        The median band spacing in nm (0 for a single band).
    """
    wl = np.unique(np.asarray(hsi_wavelengths, dtype=np.float64).reshape(-1))
    if wl.size < 2:
        return np.array([[wl[0], wl[0]]]), np.empty((0, 2)), 0.0
    step = np.diff(wl)
    spacing = float(np.median(step))
    cut = np.flatnonzero(step > gap_factor * spacing)
    starts = np.concatenate([wl[:1], wl[cut + 1]])
    ends = np.concatenate([wl[cut], wl[-1:]])
    covered = np.column_stack([starts - spacing / 2, ends + spacing / 2])
    return covered, np.column_stack([wl[cut], wl[cut + 1]]), spacing


def _default_band_names(n: int) -> list[str]:
    return ["R", "G", "B"] if n == 3 else [f"B{i + 1}" for i in range(n)]


def load_srf(name_or_path: str | os.PathLike | SRF, *, var: str | None = None,
             wavelengths: ArrayLike | None = None) -> SRF:
    """A preset sensor by name, or the SRF in a ``.csv``/``.txt``/``.mat`` file.

    Parameters
    ----------
    name_or_path : str, Path or SRF
        One of :data:`SRF_PRESETS` (``"nikon_d700"``, ``"sentinel2"`` (the 12 Level-2A
        bands), ``"sentinel2_l1c"`` (all 13), ``"landsat8"``), a file
        path, or an :class:`SRF` (returned as is). A preset or file may be followed by
        ``:`` and a band selection (:meth:`SRF.select`): the bands to keep
        (``"sentinel2:B2,B3,B4,B8"``) or to leave out (``"sentinel2_l1c:-B10"``).
    var, wavelengths
        Passed to :meth:`SRF.from_mat` for ``.mat`` files.

    Raises
    ------
    SensorError
        An unknown preset name (the message lists the presets), or a band selection naming
        an unknown band or leaving none.
    HsiIOError
        A path that does not exist.
    FormatError
        A file of an unsupported kind or malformed content.
    """
    if isinstance(name_or_path, SRF):
        return name_or_path
    text = str(name_or_path)
    head, sep, bands = text.rpartition(":")
    if sep and bands.strip() and not any(c in bands for c in "/\\") and (
            _preset_key(head) in PRESETS or Path(head).is_file()):
        return _load_srf(head, var=var, wavelengths=wavelengths).select(bands)
    return _load_srf(text, var=var, wavelengths=wavelengths)


def _preset_key(text: str) -> str:
    key = text.strip().lower().replace("-", "").replace(" ", "")
    return {"sentinel2": "sentinel2", "sentinel2l1c": "sentinel2_l1c",
            "sentinel2_l1c": "sentinel2_l1c", "landsat8": "landsat8", "nikond700": "nikon_d700",
            "nikon_d700": "nikon_d700"}.get(key, key)


def _load_srf(text: str, *, var: str | None, wavelengths: ArrayLike | None) -> SRF:
    """:func:`load_srf` without a band selection."""
    key = _preset_key(text)
    if key in PRESETS:
        spec = PRESETS[key]
        if "csv" in spec:
            srf = SRF.from_csv(spec["csv"], name=key)
        else:
            names, centres, fwhm = zip(*spec["bands"], strict=True)
            srf = SRF.gaussian(centres, fwhm, names=list(names), name=key)
        return srf
    path = Path(text)
    looks_like_path = path.suffix != "" or "/" in text or "\\" in text
    if not looks_like_path and not path.exists():
        raise SensorError(f"unknown sensor {text!r}: use one of {', '.join(SRF_PRESETS)} "
                          f"or a .csv/.mat SRF file")
    if not path.is_file():
        raise HsiIOError(f"{path}: no such SRF file (or a preset: {', '.join(SRF_PRESETS)})")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv", ".dat"):
        return SRF.from_csv(path)
    if suffix == ".mat":
        return SRF.from_mat(path, var=var, wavelengths=wavelengths)
    raise FormatError(f"{path}: unsupported SRF file type {suffix!r} (use .csv or .mat)")
