"""Band math dock in a real viewer (Xvfb): NDVI and user formulas by wavelength as new layers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import canvas_std

pytestmark = pytest.mark.gui

WAIT_MS = 30_000


@pytest.fixture
def band_math(sample_dock):
    return sample_dock("Band math")


def _nearest(wavelengths, nm: float) -> int:
    return int(np.argmin(np.abs(np.asarray(wavelengths) - nm)))


def test_ndvi_preset_adds_a_layer(band_math, qtbot, sample):
    viewer, layer, widget = band_math
    assert widget.layer_combo.currentText() == "salinas"
    assert widget.preset_combo.currentText() == "NDVI"
    expression = "(R860 - R650) / (R860 + R650)"
    assert widget.expression == expression
    nir, red = _nearest(sample.wavelengths, 860), _nearest(sample.wavelengths, 650)
    wl = sample.wavelengths
    assert widget.status.text() == (f"R860 → band {nir} ({wl[nir]:.1f} nm), "
                                    f"R650 → band {red} ({wl[red]:.1f} nm)")
    n_layers = len(viewer.layers)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert len(viewer.layers) == n_layers + 1, widget.status.text()
    result = viewer.layers[-1]
    assert widget.result_layer.name == result.name  # (the widget holds napari's proxy)
    assert result.name == expression
    cube = np.asarray(sample.data, dtype=np.float64)
    ndvi = (cube[nir] - cube[red]) / (cube[nir] + cube[red])
    np.testing.assert_allclose(result.data, ndvi, rtol=1e-5)
    assert result.data.dtype == np.float32 and result.ndim == 2
    assert result.contrast_limits == pytest.approx(list(np.percentile(ndvi, [2, 98])),
                                                   rel=1e-4)
    assert tuple(result.scale) == pytest.approx(tuple(layer.scale[1:]))
    assert tuple(result.translate) == pytest.approx(tuple(layer.translate[1:]))
    assert result.metadata["bands"] == {"R860": nir, "R650": red}
    assert result.metadata["crs"] == layer.metadata["crs"]
    assert widget.status.text().startswith(f"added {expression!r}: R860 → band {nir}")
    layer.visible = False
    assert canvas_std(viewer) > 5  # the index shows on the canvas, with contrast


def test_custom_formula_refusals_and_division_by_zero(band_math, qtbot, sample):
    viewer, _, widget = band_math
    n_layers = len(viewer.layers)
    # a wavelength in the gap of the removed water-vapour bands (1819 ... 1943 nm)
    widget.set_expression("R1880 / R650")
    assert widget.preset_combo.currentText() == "custom"
    status = widget.status.text()
    assert status.startswith("error: R1880: no band within 20 nm of 1880 nm (nearest: band ")
    assert "\n" not in status
    widget.run_button.click()
    assert not widget.job.running and len(viewer.layers) == n_layers

    widget.set_expression("__import__('os').system('touch /tmp/pwned')")
    assert widget.status.text() == "error: not allowed in band math: function calls"
    widget.compute()
    assert not widget.job.running and len(viewer.layers) == n_layers

    # choosing the preset again puts its formula back
    widget.preset_combo.setCurrentText("NDVI")
    assert widget.expression == "(R860 - R650) / (R860 + R650)"

    # division by zero: NaN, not inf; percentile contrast from the finite values
    widget.set_expression("R550 / (R650 - R650) + B0 * 0")
    widget.compute()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert len(viewer.layers) == n_layers + 1
    assert np.all(np.isnan(viewer.layers[-1].data))
    widget.set_expression("(R550 - R650) ** 2 / R450")
    widget.compute()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    g, r, b = (_nearest(sample.wavelengths, nm) for nm in (550, 650, 450))
    cube = np.asarray(sample.data, dtype=np.float64)
    expected = (cube[g] - cube[r]) ** 2 / cube[b]
    expected[cube[b] == 0] = np.nan
    np.testing.assert_allclose(viewer.layers[-1].data, expected, rtol=1e-4, equal_nan=True)
    assert viewer.layers[-1].name == "(R550 - R650) ** 2 / R450"
