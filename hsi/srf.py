"""Spectral response functions (SRF): how a multispectral sensor sees a hyperspectral cube.

An :class:`SRF` holds one response curve per multispectral band on a wavelength grid (nm);
:meth:`SRF.matrix` resamples it onto a cube's band centres as a ``(msi_bands, hsi_bands)``
matrix whose rows sum to 1. :func:`load_srf` gives the presets (:data:`SRF_PRESETS`) or reads a
``.csv``/``.mat`` file. :mod:`hsi.degrade` applies the matrix to cubes.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsi.check import check_wavelengths
from hsi.cube import wavelengths_in_nm
from hsi.errors import FormatError, HsiIOError, SensorError, ShapeError, WavelengthError
from hsi.srf_presets import PRESETS

log = logging.getLogger("hsi.srf")
#: A band reaching outside a cube's range is truncated (with a warning) when at least this
#: share of its response area lies inside the range, and refused otherwise.
MIN_INSIDE_AREA = 0.9

__all__ = ["SIGNIFICANT_RESPONSE", "SRF", "SRF_PRESETS", "load_srf"]

#: Names accepted by :func:`load_srf`.
SRF_PRESETS: tuple[str, ...] = tuple(PRESETS)

#: Part of a response curve that counts as "significant" for the range check, as a fraction of
#: the band's peak: a band whose response above this level reaches outside the cube's
#: wavelengths would be only partly observed.
SIGNIFICANT_RESPONSE = 0.01

_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


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
    def from_csv(cls, path, name: str | None = None) -> SRF:
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
    def from_mat(cls, path, var: str | None = None, wavelengths=None,
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
    def gaussian(cls, centres_nm, fwhm_nm, names: list[str] | None = None,
                 name: str = "gaussian", step_nm: float | None = None) -> SRF:
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
    def matrix(self, hsi_wavelengths, threshold: float = SIGNIFICANT_RESPONSE) -> np.ndarray:
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

        Raises
        ------
        SensorError
            Naming every band whose significant response reaches outside the cube's range
            ``[min, max]`` with less than :data:`MIN_INSIDE_AREA` of its area inside (a band
            with at least that much inside is truncated to the range and renormalised, with a
            one-line warning), or that no cube band samples above ``threshold`` × its peak.
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
                f"{n} ({a:g}-{b:g} nm, {frac:.0%} of its area inside)")
        if outside:
            raise SensorError(
                f"SRF {self.name!r}: band(s) {', '.join(outside)} fall outside the cube's "
                f"wavelength range {lo:g}-{hi:g} nm (at least {MIN_INSIDE_AREA:.0%} of a band's "
                f"response must be observed); use a sensor inside that range")
        if truncated and (lo, hi) not in self._warned:
            self._warned.add((lo, hi))
            log.warning("SRF %r: band(s) %s truncated to the cube's range %g-%g nm and "
                        "renormalised", self.name, ", ".join(truncated), lo, hi)
        mat = np.stack([np.interp(wl, self.wavelengths, c, left=0.0, right=0.0)
                        for c in self.curves])
        # A band whose significant part falls between two cube bands is seen by none of them.
        unseen = mat.max(axis=1) <= threshold * self.curves.max(axis=1)
        if np.any(unseen):
            names = ", ".join(n for n, u in zip(self.band_names, unseen, strict=True) if u)
            raise SensorError(f"SRF {self.name!r}: band(s) {names} overlap no band of the cube "
                              f"({lo:g}-{hi:g} nm, {wl.size} bands)")
        return mat / mat.sum(axis=1)[:, None]

    def __repr__(self) -> str:
        return (f"SRF({self.name!r}, bands={self.band_names}, "
                f"{self.wavelengths[0]:g}-{self.wavelengths[-1]:g} nm)")


def _default_band_names(n: int) -> list[str]:
    return ["R", "G", "B"] if n == 3 else [f"B{i + 1}" for i in range(n)]


def load_srf(name_or_path, *, var: str | None = None, wavelengths=None) -> SRF:
    """A preset sensor by name, or the SRF in a ``.csv``/``.txt``/``.mat`` file.

    Parameters
    ----------
    name_or_path : str, Path or SRF
        One of :data:`SRF_PRESETS` (``"nikon_d700"``, ``"sentinel2"``, ``"landsat8"``), a file
        path, or an :class:`SRF` (returned as is).
    var, wavelengths
        Passed to :meth:`SRF.from_mat` for ``.mat`` files.

    Raises
    ------
    SensorError
        An unknown preset name (the message lists the presets).
    HsiIOError
        A path that does not exist.
    FormatError
        A file of an unsupported kind or malformed content.
    """
    if isinstance(name_or_path, SRF):
        return name_or_path
    text = str(name_or_path)
    key = text.strip().lower().replace("-", "").replace(" ", "")
    key = {"sentinel2": "sentinel2", "landsat8": "landsat8", "nikond700": "nikon_d700",
           "nikon_d700": "nikon_d700"}.get(key, key)
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
