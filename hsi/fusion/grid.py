"""Co-registration checks: do an LR-HSI and an HR-MSI cover the same ground?"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from hsi.cube import Cube
from hsi.errors import GridError

if TYPE_CHECKING:
    from rasterio.crs import CRS

log = logging.getLogger("hsi.fusion")

#: Relative tolerance on the pixel-size ratio being an integer and equal in x and y.
RATIO_TOLERANCE = 1e-3


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


def check_pair(lr_hsi: Cube, hr_msi: Cube, ratio: int | None = None) -> int:
    """Check that an LR-HSI and an HR-MSI cover the same ground; return their ratio.

    Georeferenced pair: the CRS must be equal, the HR/LR pixel-size ratio an integer ≥ 2 (the
    same along x and y, and equal to ``ratio`` when given) and every edge of the two extents
    within half an LR pixel. When either image has no georeference, only the sizes can be
    checked: ``ratio`` is required unless they give one integer ratio, and they must agree with
    it within half an LR pixel.

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
    """
    if ratio is not None:
        if isinstance(ratio, bool) or not float(ratio).is_integer() or ratio < 2:
            raise GridError(f"ratio must be an integer >= 2, got {ratio!r}")
        ratio = int(ratio)
    if not (is_georeferenced(lr_hsi) and is_georeferenced(hr_msi)):
        # one or both without georeference (e.g. a .mat file): only the sizes can be checked
        return _shape_ratio(lr_hsi, hr_msi, ratio)

    if (lr_hsi.crs is None) != (hr_msi.crs is None) or (
        lr_hsi.crs is not None and lr_hsi.crs != hr_msi.crs
    ):
        def name(crs: CRS | None) -> str:
            return "none" if crs is None else (crs.to_string() or "custom CRS")

        raise GridError(
            f"CRS differ: LR-HSI is {name(lr_hsi.crs)}, HR-MSI is {name(hr_msi.crs)} "
            f"(reproject one onto the other's CRS)"
        )
    (lx, ly), (hx, hy) = lr_hsi.pixel_size, hr_msi.pixel_size
    rx, ry = lx / hx, ly / hy
    if abs(rx - ry) > RATIO_TOLERANCE * max(rx, ry):
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
        raise GridError(
            f"pixel-size ratio LR/HR is {rx:g} (LR {lx:g}, HR {hx:g} CRS units): it must be an "
            f"integer >= 2{swapped}"
        )
    if ratio is not None and ratio != nearest:
        raise GridError(f"ratio={ratio} disagrees with the pixel sizes, whose ratio is {nearest}")
    half = 0.5 * max(lx, ly)
    names = ("left", "bottom", "right", "top")
    for edge, a, b in zip(names, lr_hsi.bounds, hr_msi.bounds, strict=True):
        if math.fabs(a - b) > half:
            raise GridError(
                f"extents differ: {edge} edge of LR-HSI is {a:g}, of HR-MSI {b:g} "
                f"(tolerance half an LR pixel, {half:g})"
            )
    return int(nearest)
