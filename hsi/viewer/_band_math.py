"""Band math over wavelengths: ``(R860 - R650) / (R860 + R650)`` evaluated safely.

``R<nm>`` is the band nearest ``<nm>`` nanometres (refused when none lies within
:data:`TOLERANCE_NM`), ``B<i>`` band ``i`` (0-based). The expression is parsed with
:mod:`ast` and only numbers, band names, ``+ - * / **``, unary minus/plus and parentheses are
allowed: nothing is ever passed to ``eval``. Division by zero, and any other non-finite result,
gives NaN; so do nodata pixels of the bands used.

Works on numpy and dask cubes alike (a dask cube gives a lazy result); reads only the bands
the expression names. No Qt, no napari.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hsi.errors import HsiError, WavelengthError

if TYPE_CHECKING:
    import dask.array as da
    from numpy.typing import ArrayLike

#: ``R<nm>`` must lie this close (nm) to the centre of some band.
TOLERANCE_NM = 20.0

#: Ready-made indices (wavelengths in nm).
PRESETS: dict[str, str] = {
    "NDVI": "(R860 - R650) / (R860 + R650)",
    "NDWI (green/NIR)": "(R560 - R860) / (R560 + R860)",
    "NDRE": "(R790 - R720) / (R790 + R720)",
}

_NAME = re.compile(r"^(?P<kind>[RB])(?P<num>\d+)$")
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYMBOL = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&",
           ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
           ast.Invert: "~", ast.Not: "not"}


class BandMathError(HsiError, ValueError):
    """A band-math expression is malformed or uses something other than arithmetic."""


@dataclass(frozen=True)
class BandUse:
    """How a name in the expression was resolved: ``band`` (0-based) and its ``wavelength``
    (nm, ``None`` without wavelengths)."""

    name: str
    band: int
    wavelength: float | None

    def describe(self) -> str:
        if self.wavelength is None:
            return f"{self.name} → band {self.band}"
        return f"{self.name} → band {self.band} ({self.wavelength:.1f} nm)"


def _what(node: ast.AST) -> str:
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in _SYMBOL:
        return f"operator {_SYMBOL[type(node.op)]!r}"
    if isinstance(node, ast.Call):
        return "function calls"
    if isinstance(node, ast.Name):
        return f"name {node.id!r} (use R<nm> or B<band>)"
    if isinstance(node, ast.Constant):
        return f"constant {node.value!r}"
    return type(node).__name__.lower()


def parse(expression: str) -> ast.Expression:
    """Parse and check ``expression``; return its syntax tree.

    Raises
    ------
    BandMathError
        On a syntax error or anything but numbers, ``R<nm>``/``B<i>`` names, ``+ - * / **``,
        unary ``-``/``+`` and parentheses (one line naming the offending piece).
    """
    text = (expression or "").strip()
    if not text:
        raise BandMathError("empty expression: write e.g. (R860 - R650) / (R860 + R650)")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise BandMathError(f"syntax error at column {exc.offset or 0}: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load)) or type(node) in (*_BINARY, *_UNARY):
            continue  # the operators themselves: their BinOp/UnaryOp was checked first
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            continue
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            continue
        if isinstance(node, ast.Name) and _NAME.match(node.id):
            continue
        if (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
                and not isinstance(node.value, bool)):
            continue
        raise BandMathError(f"not allowed in band math: {_what(node)}")
    return tree


def band_names(expression: str) -> list[str]:
    """The ``R<nm>``/``B<i>`` names of ``expression``, in order of first use."""
    names: list[str] = []
    for node in ast.walk(parse(expression)):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return names


def resolve(names: list[str], wavelengths: ArrayLike | None, bands: int,
            tolerance_nm: float = TOLERANCE_NM) -> dict[str, BandUse]:
    """The band each name stands for.

    Parameters
    ----------
    names : list of str
        ``R<nm>`` or ``B<i>`` names.
    wavelengths : array-like, shape (bands,), or None
        Band centres in nm.
    bands : int
        Number of bands of the cube.
    tolerance_nm : float
        Largest distance allowed between ``<nm>`` and the nearest band centre.

    Raises
    ------
    WavelengthError
        ``R<nm>`` without wavelengths or with no band within ``tolerance_nm``; ``B<i>`` out of
        range.
    """
    wl = None if wavelengths is None else np.asarray(wavelengths, dtype=np.float64)
    out: dict[str, BandUse] = {}
    for name in names:
        m = _NAME.match(name)
        if m is None:
            raise BandMathError(f"not a band name: {name!r} (use R<nm> or B<band>)")
        num = int(m["num"])
        if m["kind"] == "B":
            if not 0 <= num < bands:
                raise WavelengthError(f"{name}: the cube has bands 0..{bands - 1}")
            out[name] = BandUse(name, num, None if wl is None else float(wl[num]))
            continue
        if wl is None:
            raise WavelengthError(f"{name}: the cube has no wavelengths (use B<band> instead)")
        band = int(np.argmin(np.abs(wl - num)))
        if abs(wl[band] - num) > tolerance_nm:
            raise WavelengthError(f"{name}: no band within {tolerance_nm:g} nm of {num} nm "
                                  f"(nearest: band {band} at {wl[band]:.1f} nm)")
        out[name] = BandUse(name, band, float(wl[band]))
    return out


def _safe_divide(a: np.ndarray | np.floating | da.Array,
                 b: np.ndarray | np.floating | da.Array) -> np.ndarray | da.Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, np.nan, a / np.where(b == 0, 1, b))


def _evaluate(node: ast.AST, values: dict[str, Any]) -> np.ndarray | np.floating | da.Array:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant):
        return np.float64(node.value)  # numpy scalars overflow to inf, Python floats raise
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if isinstance(node.op, ast.Div):
            return _safe_divide(left, right)
        with np.errstate(all="ignore"):
            return _BINARY[type(node.op)](left, right)
    raise BandMathError(f"not allowed in band math: {_what(node)}")  # parse() let it through


def _band(data: np.ndarray | da.Array, band: int, nodata: float | None
          ) -> np.ndarray | da.Array:
    plane = data[band]
    if isinstance(plane, np.ndarray) or np.isscalar(plane):
        plane = np.asarray(plane, dtype=np.float64)
    else:  # dask: stays lazy
        plane = plane.astype(np.float64)
    if nodata is not None:
        plane = np.where(plane == float(nodata), np.nan, plane)
    return plane


def evaluate(expression: str, data: np.ndarray | da.Array,
             wavelengths: ArrayLike | None = None, nodata: float | None = None,
             tolerance_nm: float = TOLERANCE_NM) -> tuple[Any, dict[str, BandUse]]:
    """Evaluate ``expression`` on a cube.

    Parameters
    ----------
    expression : str
        E.g. ``"(R860 - R650) / (R860 + R650)"``; see :func:`parse`.
    data : array-like, shape (bands, H, W)
        numpy or dask cube; only the bands named are read.
    wavelengths : array-like, shape (bands,), optional
        Band centres (nm), needed for ``R<nm>`` names.
    nodata : float, optional
        Pixels with this value in a band used give NaN.
    tolerance_nm : float
        See :func:`resolve`.

    Returns
    -------
    result : numpy.ndarray or dask.array.Array, shape (H, W), float32
        NaN where a division by zero, an overflow or nodata occurred. An expression without
        band names gives a constant image.
    used : dict of str to BandUse
        The band behind each name.

    Raises
    ------
    BandMathError, WavelengthError
        See :func:`parse` and :func:`resolve`.
    """
    tree = parse(expression)
    names = band_names(expression)
    used = resolve(names, wavelengths, int(data.shape[0]), tolerance_nm)
    values = {name: _band(data, use.band, nodata) for name, use in used.items()}
    result = _evaluate(tree, values)
    shape = tuple(int(n) for n in data.shape[-2:])
    if np.isscalar(result) or np.ndim(result) == 0:
        result = np.full(shape, float(result))
    with np.errstate(invalid="ignore"):
        result = np.where(np.isfinite(result), result, np.nan)
    return result.astype(np.float32), used


def describe(used: dict[str, BandUse]) -> str:
    """One line saying which band each name used, e.g. ``R860 → band 52 (859.8 nm)``."""
    return ", ".join(use.describe() for use in used.values())
