"""Co-registration checks: do an LR-HSI and an HR-MSI cover the same ground?"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from affine import Affine

from hsi.cube import Cube, pixel_sides
from hsi.errors import GridError

if TYPE_CHECKING:
    from rasterio.crs import CRS

log = logging.getLogger("hsi.fusion")

#: Relative tolerance on the pixel-size ratio being an integer and equal in x and y.
RATIO_TOLERANCE = 1e-3
#: Largest drift (HR pixels) between the two grids across the LR-HSI that a pixel-size ratio
#: off its integer may cause: the methods take every LR pixel to cover exactly ``ratio`` HR
#: pixels, so beyond this the far side of the scene would be fused misregistered.
MAX_DRIFT = 0.5


def is_georeferenced(cube: Cube) -> bool:
    """True when ``cube`` has a transform that is not GDAL's default for ungeoreferenced files.

    A file without georeference read by rasterio gets the identity transform and no CRS; it
    is treated like a cube with no transform.
    """
    if cube.transform is None:
        return False
    return not (cube.crs is None and cube.transform.is_identity)


def _shape_ratio(lr: Cube, hr: Cube, ratio: int | None) -> int:
    """Ratio of non-georeferenced images: given, or from the shapes; shapes must agree."""
    if ratio is None:
        ry, rx = hr.height / lr.height, hr.width / lr.width
        if not (float(ry).is_integer() and ry == rx):
            iy, ix = lr.height / hr.height, lr.width / hr.width
            swapped = (" (the LR-HSI is the larger image: are the two inputs swapped? the "
                       "LR-HSI comes first)"
                       if float(iy).is_integer() and iy == ix and iy >= 2 else "")
            raise GridError(
                f"without georeference the ratio comes from the sizes, but HR-MSI "
                f"{hr.height}×{hr.width} over LR-HSI {lr.height}×{lr.width} is not one integer "
                f"ratio: give ratio=N{swapped}"
            )
        ratio = int(ry)
    if ratio < 2:  # from the sizes: given ratios were checked by check_pair
        raise GridError(f"HR-MSI {hr.height}×{hr.width} has as many pixels as LR-HSI "
                        f"{lr.height}×{lr.width}: the HR-MSI must have ratio (an integer >= 2) "
                        f"times the LR-HSI's rows and columns")
    for axis, n_lr, n_hr in (("rows", lr.height, hr.height), ("columns", lr.width, hr.width)):
        if abs(n_hr - n_lr * ratio) * 2 > ratio:
            raise GridError(
                f"HR-MSI has {n_hr} {axis}, but LR-HSI {n_lr} {axis} × ratio {ratio} = "
                f"{n_lr * ratio}: the images do not cover the same ground"
            )
    return int(ratio)


def warn_if_not_multispectral(lr_hsi: Cube, hr_msi: Cube) -> bool:
    """Log one warning when the HR image has at least as many bands as the LR-HSI.

    Such an "HR-MSI" is most often the reference itself or another hyperspectral cube given
    by mistake (fusion then adds nothing, or the sensor is not multispectral). Returns whether
    it warned.
    """
    if hr_msi.bands < lr_hsi.bands:
        return False
    log.warning("the HR-MSI has %d bands, %s the LR-HSI's %d: is it the reference or another "
                "hyperspectral cube? fusion expects a multispectral image with fewer bands",
                hr_msi.bands, "as many as" if hr_msi.bands == lr_hsi.bands else "more than",
                lr_hsi.bands)
    return True


def warn_if_georeference_unchecked(lr_hsi: Cube, hr_msi: Cube) -> bool:
    """Log one warning when exactly one of the two images is georeferenced.

    :func:`check_pair` can then compare only the sizes: the image without georeference is
    taken to cover the other's extent exactly, and a result on the grid of an HR-MSI without
    georeference has none either. Returns whether it warned.
    """
    lr_geo, hr_geo = is_georeferenced(lr_hsi), is_georeferenced(hr_msi)
    if lr_geo == hr_geo:
        return False
    which, cube = ("LR-HSI", lr_hsi) if hr_geo else ("HR-MSI", hr_msi)
    named = f" {cube.name!r}" if cube.name else ""
    log.warning("the %s%s has no georeference: it is taken to cover the other image's extent "
                "exactly (only the sizes were checked)%s", which, named,
                "; the result, on its grid, has none either" if lr_geo else "")
    return True


def check_pair(lr_hsi: Cube, hr_msi: Cube, ratio: int | None = None) -> int:
    """Check that an LR-HSI and an HR-MSI cover the same ground; return their ratio.

    Georeferenced pair: the CRS must be equal, the two grids oriented alike (both north-up,
    both south-up or rotated by the same angle), the HR/LR pixel-size ratio an integer ≥ 2
    (the same along x and y, equal to ``ratio`` when given, and so close to it that across the
    LR-HSI the two grids drift at most :data:`MAX_DRIFT` HR pixels apart) and every edge of
    the two extents within half an LR pixel. Each refusal says what to run (a ``gdalwarp``
    call with these files' numbers). An LR grid whose origin is off the HR-MSI's blocks of
    ``ratio`` pixels passes; :func:`grid_alignment` says how to line the two up. When either
    image has no georeference, only the sizes can be checked: ``ratio`` is required unless
    they give one integer ratio, and they must agree with it within half an LR pixel.

    Parameters
    ----------
    lr_hsi : Cube, shape (bands, h, w)
    hr_msi : Cube, shape (msi_bands, H, W)
    ratio : int, optional
        HR pixels per LR pixel; needed for images without georeference whose sizes are not an
        exact multiple.

    Returns
    -------
    int
        The ratio.

    Raises
    ------
    GridError
        One line saying which check failed, expected vs got.
    CubeTypeError
        ``lr_hsi`` or ``hr_msi`` is not a :class:`~hsi.cube.Cube` (e.g. a bare numpy array).
    """
    from hsi.cube import require_cube

    lr_hsi = require_cube(lr_hsi, "check_pair: lr_hsi")
    hr_msi = require_cube(hr_msi, "check_pair: hr_msi")
    if ratio is not None:
        try:  # text or another object: the same one line as a bad number, not a TypeError
            value = float(ratio)
        except (TypeError, ValueError):
            raise GridError(f"ratio must be an integer >= 2, got {ratio!r}") from None
        if isinstance(ratio, bool) or not value.is_integer() or value < 2:
            raise GridError(f"ratio must be an integer >= 2, got {ratio!r}")
        ratio = int(value)
    if not (is_georeferenced(lr_hsi) and is_georeferenced(hr_msi)):
        # one or both without georeference (e.g. a .mat file): only the sizes can be checked
        return _shape_ratio(lr_hsi, hr_msi, ratio)

    if (lr_hsi.crs is None) != (hr_msi.crs is None) or (
        lr_hsi.crs is not None and lr_hsi.crs != hr_msi.crs
    ):
        def name(crs: CRS | None) -> str:
            return "none" if crs is None else (crs.to_string() or "custom CRS")

        raise GridError(
            f"CRS differ: LR-HSI is {name(lr_hsi.crs)}, HR-MSI is {name(hr_msi.crs)}; "
            f"{_crs_hint(lr_hsi, hr_msi)}"
        )
    lr_in_hr = _lr_in_hr_pixels(lr_hsi, hr_msi)
    (lx, ly), (hx, hy) = _pixel_size(lr_hsi.transform), _pixel_size(hr_msi.transform)
    rx, ry = lr_in_hr.a, lr_in_hr.e  # LR pixel sides in HR pixels, along columns and rows
    if abs(rx - ry) > RATIO_TOLERANCE * max(abs(rx), abs(ry)):
        raise GridError(
            f"pixel-size ratio differs along x ({rx:g}) and y ({ry:g}): LR pixel {lx:g}×{ly:g}, "
            f"HR pixel {hx:g}×{hy:g}"
        )
    nearest = round(rx)
    if abs(rx - nearest) > RATIO_TOLERANCE * rx or nearest < 2:
        inverse = hx / lx
        swapped = (f" (the HR-MSI's pixels are {inverse:g}× the LR-HSI's: are the two inputs "
                   f"swapped? the LR-HSI comes first)"
                   if abs(inverse - round(inverse)) <= RATIO_TOLERANCE * inverse
                   and round(inverse) >= 2 else "")
        fits = sorted({k for k in (math.floor(rx), math.ceil(rx)) if k >= 2})
        todo = "" if swapped or not fits else "; " + " or ".join(
            _resample_hint(lr_hsi, hr_msi, k, words=k == fits[0]) for k in fits)
        raise GridError(
            f"pixel-size ratio LR/HR is {rx:g} (LR {lx:g}, HR {hx:g} CRS units): it must be an "
            f"integer >= 2{swapped}{todo}"
        )
    drift = max(abs(rx - nearest) * lr_hsi.width, abs(ry - nearest) * lr_hsi.height)
    if drift > MAX_DRIFT:
        raise GridError(
            f"pixel-size ratio LR/HR is {rx:.6g}, not {nearest}: across the LR-HSI the two grids "
            f"drift {drift:.3g} HR pixels apart (at most {MAX_DRIFT:g}); "
            f"{_resample_hint(lr_hsi, hr_msi, nearest)}"
        )
    if ratio is not None and ratio != nearest:
        raise GridError(f"ratio={ratio} disagrees with the pixel sizes, whose ratio is {nearest}")
    if all(t.b == 0 and t.d == 0 for t in (lr_hsi.transform, hr_msi.transform)):
        half = 0.5 * max(lx, ly)
        names = ("left", "bottom", "right", "top")
        for edge, a, b in zip(names, lr_hsi.bounds, hr_msi.bounds, strict=True):
            if math.fabs(a - b) > half:
                raise GridError(
                    f"extents differ: {edge} edge of LR-HSI is {a:.12g}, of HR-MSI {b:.12g} "
                    f"(tolerance half an LR pixel, {half:g}); "
                    f"{_common_extent_hint(lr_hsi, hr_msi)}"
                )
    else:  # rotated alike: the edges in HR pixels (a bounding box would mix the axes)
        edges = (("first row", lr_in_hr.f, 0), ("first column", lr_in_hr.c, 0),
                 ("last row", lr_in_hr.f + lr_hsi.height * ry, hr_msi.height),
                 ("last column", lr_in_hr.c + lr_hsi.width * rx, hr_msi.width))
        for edge, a, b in edges:
            if math.fabs(a - b) > 0.5 * rx:
                raise GridError(
                    f"extents differ: the {edge}'s edge of LR-HSI is {a - b:+g} HR pixels from "
                    f"the HR-MSI's (tolerance half an LR pixel, {0.5 * rx:g})"
                )
    return int(nearest)


def _common_extent_hint(lr: Cube, hr_msi: Cube) -> str:
    """What to do about a north-up LR-HSI ``lr`` and HR-MSI ``hr_msi`` whose extents differ:
    crop both to the ground they share, snapped inwards to the LR-HSI's pixel edges (so that
    cropping the LR-HSI resamples nothing), or, sharing none, pair other images."""
    (lx, ly), t = _pixel_size(lr.transform), lr.transform
    (hx, hy), edges, hr = _pixel_size(hr_msi.transform), lr.bounds, hr_msi.bounds
    left, bottom = max(edges[0], hr[0]), max(edges[1], hr[1])
    right, top = min(edges[2], hr[2]), min(edges[3], hr[3])
    if left >= right or bottom >= top:
        return "they share no ground: pair images of the same scene"

    def snapped(value: float, origin: float, size: float, up: bool) -> float:
        steps = (value - origin) / size
        whole = round(steps)  # already on an edge, up to float rounding
        if abs(steps - whole) > 1e-6:
            whole = math.ceil(steps) if up else math.floor(steps)
        return origin + whole * size

    x0, y0 = t.c + min(0.0, t.a * lr.width), t.f + min(0.0, t.e * lr.height)  # left, bottom
    left, right = snapped(left, x0, lx, True), snapped(right, x0, lx, False)
    bottom, top = snapped(bottom, y0, ly, True), snapped(top, y0, ly, False)
    if left >= right or bottom >= top:
        return "they share less than one LR pixel: pair images of the same scene"
    return (f"crop both to the ground they share, {left:.12g} {bottom:.12g} {right:.12g} "
            f"{top:.12g} "
            f"(left bottom right top, on the LR-HSI's pixel edges; e.g. gdalwarp -te with "
            f"those numbers and each file's pixel size, -tr {lx:.12g} {ly:.12g} for the "
            f"LR-HSI, -tr {hx:.12g} {hy:.12g} for the HR-MSI)")


def _resample_hint(lr: Cube, hr: Cube, ratio: int, crs: CRS | None = None,
                   words: bool = True) -> str:
    """The ``gdalwarp`` call that resamples the HR-MSI onto pixels of the LR-HSI's size over
    ``ratio`` (into ``crs`` when given), over the LR-HSI's extent when it is north-up: what to
    do about an HR-MSI whose pixel size or CRS does not fit the LR-HSI.

    Parameters
    ----------
    lr, hr : Cube
        The LR-HSI (its grid is the target) and the HR-MSI (named in the command).
    ratio : int
        HR pixels per LR pixel of the resampled HR-MSI.
    crs : CRS, optional
        Target CRS (``-t_srs``), for an HR-MSI in another CRS.
    words : bool
        Start with what the command does (``False``: only ``"ratio N: gdalwarp ..."``).

    Returns
    -------
    str
        One line without a final full stop.
    """
    lx, ly = _pixel_size(lr.transform)
    srs = "" if crs is None else f"-t_srs {_crs_argument(crs)} "
    extent = ""
    if lr.transform.b == 0 and lr.transform.d == 0:
        extent = "-te {:.12g} {:.12g} {:.12g} {:.12g} ".format(*lr.bounds)
    command = (f"gdalwarp {srs}-tr {lx / ratio:.12g} {ly / ratio:.12g} {extent}-r cubic "
               f"{hr.name or 'HR_MSI.tif'} OUT.tif")
    if not words:
        return f"ratio {ratio}: {command}"
    return (f"resample the HR-MSI onto the LR-HSI's {'extent' if extent else 'grid'} with "
            f"{ratio}×{ratio} pixels per LR pixel (ratio {ratio}): {command}")


def _crs_argument(crs: CRS) -> str:
    """``crs`` as a ``gdalwarp -t_srs`` argument: ``EPSG:n``, else its WKT quoted."""
    text = crs.to_string()
    return text if " " not in text and "[" not in text else f"'{crs.to_wkt()}'"


def _crs_hint(lr: Cube, hr: Cube) -> str:
    """What to do about two georeferenced images whose CRS differ: give the one without a CRS
    the other's (when its coordinates are in it), or resample the HR-MSI into the LR-HSI's CRS
    at about its own pixel size (:func:`_resample_hint`)."""
    if lr.crs is None or hr.crs is None:
        which, other = ("LR-HSI", hr) if lr.crs is None else ("HR-MSI", lr)
        named = (lr if lr.crs is None else hr).name or which
        return (f"the {which} has no CRS: when its coordinates are in the other's, set it "
                f"(gdal_edit.py -a_srs {_crs_argument(other.crs)} {named}), else reproject it")
    from rasterio.errors import CRSError
    from rasterio.warp import calculate_default_transform

    try:
        moved, _, _ = calculate_default_transform(hr.crs, lr.crs, hr.width, hr.height,
                                                  *hr.bounds)
        ratio = max(2, round(_pixel_size(lr.transform)[0] / _pixel_size(moved)[0]))
    except (CRSError, ValueError):  # no transformation between the two: no pixel size
        return "reproject the HR-MSI onto the LR-HSI's CRS (gdalwarp -t_srs)"
    return _resample_hint(lr, hr, ratio, crs=lr.crs)


def _pixel_size(transform: Affine) -> tuple[float, float]:
    """``(x_size, y_size)`` of a pixel in CRS units: :func:`hsi.cube.pixel_sides`."""
    return pixel_sides(transform)


def _orientation(transform: Affine) -> str:
    """A grid's orientation in words: ``"north-up"``, ``"south-up"``, ``"mirrored"``, or
    ``"rotated 10°"`` (the angle of its rows from the x axis)."""
    if transform.b == 0 and transform.d == 0:
        if transform.a > 0:
            return "north-up" if transform.e < 0 else "south-up"
        return "mirrored" if transform.e < 0 else "rotated 180°"
    return f"rotated {math.degrees(math.atan2(transform.d, transform.a)):.3g}°"


def _lr_in_hr_pixels(lr: Cube, hr: Cube) -> Affine:
    """The LR-HSI's pixel grid in HR-MSI pixel coordinates: ``(col, row)`` of an LR pixel
    corner ↦ ``(col, row)`` on the HR grid.

    For a pair on one grid orientation this is ``Affine(ratio, 0, dx, 0, ratio, dy)``:
    ``(dx, dy)`` is where the LR-HSI's first pixel starts on the HR grid, in HR pixels.

    Raises
    ------
    GridError
        A transform that maps pixels to no area, or grids of different orientations
        (north-up against south-up, rotated or with the axes swapped).
    """
    for what, cube in (("LR-HSI", lr), ("HR-MSI", hr)):
        t = cube.transform
        if t.determinant == 0:
            raise GridError(f"{what} transform {tuple(t)[:6]} maps every pixel to no area: fix "
                            f"the file's georeference")
    m = ~hr.transform @ lr.transform
    if abs(m.b) + abs(m.d) > RATIO_TOLERANCE * (abs(m.a) + abs(m.e)) or m.a < 0 or m.e < 0:
        raise GridError(
            f"grids differ in orientation: LR-HSI is {_orientation(lr.transform)}, HR-MSI is "
            f"{_orientation(hr.transform)} (resample one onto the other's grid, e.g. gdalwarp)"
        )
    return m


@dataclass(frozen=True)
class GridAlignment:
    """How the LR-HSI's pixels sit on the HR-MSI's grid, and the padding that aligns them.

    The methods take LR pixel ``(i, j)`` to cover HR pixels ``ratio·i … ratio·i + ratio − 1``
    (and the same for columns). A georeferenced pair whose LR pixel edges fall between those
    HR rows or columns (the LR grid's origin a whole number of HR pixels, not a multiple of
    ``ratio``, off the HR-MSI's) is fused on padded inputs: ``hr_pad`` HR pixels of missing
    data (NaN) before the HR-MSI's first row and column, and ``lr_pad`` (0 or 1) LR pixels
    repeated before the LR-HSI's when the HR-MSI starts before it. The result is then cut
    back to the HR-MSI's grid (:meth:`crop`). An offset of a fraction of an HR pixel is left
    to the PSF estimate's shift (:func:`hsi.fusion.psf.estimate_psf`).

    Attributes
    ----------
    ratio : int
    offset : (float, float)
        Where the LR-HSI's first pixel starts on the HR grid, ``(rows, cols)`` in HR pixels
        (positive: down / right); ``(0, 0)`` without georeference.
    hr_pad : (int, int)
        HR pixels added before the HR-MSI's first ``(row, column)``, each ``< ratio``.
    lr_pad : (int, int)
        LR pixels added before the LR-HSI's first ``(row, column)``, 0 or 1.
    """

    ratio: int
    offset: tuple[float, float] = (0.0, 0.0)
    hr_pad: tuple[int, int] = (0, 0)
    lr_pad: tuple[int, int] = (0, 0)

    @property
    def aligned(self) -> bool:
        """True when no padding is needed."""
        return not (any(self.hr_pad) or any(self.lr_pad))

    def pad(self, lr: Cube, hr: Cube) -> tuple[Cube, Cube]:
        """``(lr, hr)`` padded so that LR pixel ``(i, j)`` covers HR pixels
        ``ratio·(i, j) …``: the HR-MSI as float32 with NaN before its first row and column,
        the LR-HSI with its first row and column repeated; transforms moved to match. Numpy
        data stays numpy, dask data stays lazy. The cubes themselves when :attr:`aligned`.

        Returns
        -------
        (Cube, Cube), shapes ``(C, h + lr_pad[0], w + lr_pad[1])`` and
        ``(m, H + hr_pad[0], W + hr_pad[1])``
        """
        if self.aligned:
            return lr, hr
        return (_padded(lr, self.lr_pad, "edge"),
                _padded(hr.with_data(hr.data.astype(np.float32)), self.hr_pad, "constant"))

    def crop(self, height: int, width: int) -> tuple[slice, slice]:
        """Rows and columns of the padded HR grid that are the HR-MSI's ``height × width``."""
        (top, left) = self.hr_pad
        return slice(top, top + height), slice(left, left + width)


def _padded(cube: Cube, pad: tuple[int, int], mode: str) -> Cube:
    """``cube`` with ``pad = (rows, cols)`` pixels added before its first row and column
    (``mode``: ``"edge"`` repeats them, ``"constant"`` adds NaN), its transform moved by as
    many pixels."""
    if not any(pad):
        return cube
    widths = ((0, 0), (pad[0], 0), (pad[1], 0))
    kwargs = {"constant_values": np.nan} if mode == "constant" else {}
    if cube.is_lazy:
        import dask.array as da

        data = da.pad(cube.data, widths, mode=mode, **kwargs)
    else:
        data = np.pad(np.asarray(cube.data), widths, mode=mode, **kwargs)
    transform = cube.transform @ Affine.translation(-pad[1], -pad[0])
    return cube.with_data(data, transform=transform)


def grid_alignment(lr_hsi: Cube, hr_msi: Cube, ratio: int) -> GridAlignment:
    """Where the LR-HSI's pixel grid sits on the HR-MSI's (:class:`GridAlignment`).

    Call after :func:`check_pair` (which returned ``ratio``). The LR grid's origin is rounded
    to the nearest HR pixel; the padding puts it on a multiple of ``ratio``.

    Parameters
    ----------
    lr_hsi : Cube, shape (C, h, w)
    hr_msi : Cube, shape (m, H, W)
    ratio : int

    Returns
    -------
    GridAlignment
        No padding for a pair without georeference or whose grids line up.
    """
    r = int(ratio)
    if not (is_georeferenced(lr_hsi) and is_georeferenced(hr_msi)):
        return GridAlignment(r)
    m = _lr_in_hr_pixels(lr_hsi, hr_msi)
    offset = (float(m.f), float(m.c))
    whole = [round(v) for v in offset]
    hr_pad = tuple(int((-o) % r) for o in whole)
    lr_pad = tuple(int((p + o) // r) for p, o in zip(hr_pad, whole, strict=True))
    done = GridAlignment(r, offset, hr_pad, lr_pad)  # type: ignore[arg-type]
    if not done.aligned:
        log.warning("the LR-HSI's grid starts %s HR pixels (rows, columns) from the HR-MSI's, "
                    "off its blocks of %d: fused on inputs padded to line up; the result is on "
                    "the HR-MSI's grid", f"({offset[0]:+g}, {offset[1]:+g})", r)
    return done
