"""Band math expressions (hsi.viewer._band_math): parsing, band choice, arithmetic; no viewer."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.errors import HsiError, WavelengthError
from hsi.viewer._band_math import (
    PRESETS,
    BandMathError,
    band_names,
    describe,
    evaluate,
    parse,
    resolve,
)

WL = np.array([450.0, 550.0, 652.0, 700.0, 858.0])


def cube(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.05, 0.6, (5, 6, 7)).astype(np.float32)


class TestParse:
    @pytest.mark.parametrize("text", [
        "(R860 - R650) / (R860 + R650)", "-R450", "+B0 * 2.5", "R700 ** 2 - 1e-3",
        "((R450))", "3", "B4 / -B3",
    ])
    def test_accepts_arithmetic(self, text):
        parse(text)

    @pytest.mark.parametrize(("text", "why"), [
        ("__import__('os').system('true')", "function calls"),
        ("R860.real", "attribute"),
        ("open", "name 'open'"),
        ("R860 // 2", "'//'"),
        ("R860 % 2", "'%'"),
        ("R860 if R650 else 0", "ifexp"),
        ("R860 > R650", "compare"),
        ("[R860]", "list"),
        ("'R860'", "constant 'R860'"),
        ("True + R860", "constant True"),
        ("lambda: 0", "lambda"),
        ("R860[0]", "subscript"),
        ("x860", "name 'x860'"),
        ("~B1", "'~'"),
    ])
    def test_refuses_anything_else(self, text, why):
        with pytest.raises(BandMathError, match="not allowed") as info:
            parse(text)
        assert why in str(info.value)
        assert isinstance(info.value, HsiError) and isinstance(info.value, ValueError)

    @pytest.mark.parametrize("text", ["", "   ", "(R860 - ", "R860 R650", "a = 1"])
    def test_syntax_errors_are_one_line(self, text):
        with pytest.raises(BandMathError) as info:
            parse(text)
        assert "\n" not in str(info.value)

    def test_band_names_in_order(self):
        assert band_names("(R860 - R650) / (R860 + B2)") == ["R860", "R650", "B2"]


class TestResolve:
    def test_nearest_band_within_tolerance(self):
        used = resolve(["R860", "R650", "B1"], WL, 5)
        assert (used["R860"].band, used["R860"].wavelength) == (4, 858.0)
        assert (used["R650"].band, used["R650"].wavelength) == (2, 652.0)
        assert (used["B1"].band, used["B1"].wavelength) == (1, 550.0)
        assert describe(used) == ("R860 → band 4 (858.0 nm), R650 → band 2 (652.0 nm), "
                                  "B1 → band 1 (550.0 nm)")

    def test_refuses_far_wavelength(self):
        with pytest.raises(WavelengthError, match=r"R760: no band within 20 nm of 760 nm "
                                                  r"\(nearest: band 3 at 700.0 nm\)"):
            resolve(["R760"], WL, 5)
        assert resolve(["R760"], WL, 5, tolerance_nm=80)["R760"].band == 3

    def test_edges_of_tolerance(self):
        assert resolve(["R878"], WL, 5)["R878"].band == 4  # exactly 20 nm away
        with pytest.raises(WavelengthError):
            resolve(["R879"], WL, 5)

    def test_without_wavelengths_only_band_indices(self):
        assert resolve(["B3"], None, 5)["B3"].wavelength is None
        with pytest.raises(WavelengthError, match="no wavelengths"):
            resolve(["R650"], None, 5)
        with pytest.raises(WavelengthError, match=r"bands 0\.\.4"):
            resolve(["B5"], None, 5)


class TestEvaluate:
    def test_ndvi_matches_numpy(self):
        data = cube()
        result, used = evaluate(PRESETS["NDVI"], data, WL)
        nir, red = data[4].astype(np.float64), data[2].astype(np.float64)
        np.testing.assert_allclose(result, (nir - red) / (nir + red), rtol=1e-6)
        assert result.dtype == np.float32 and result.shape == (6, 7)
        assert {k: v.band for k, v in used.items()} == {"R860": 4, "R650": 2}

    def test_precedence_unary_and_power(self):
        data = cube(1)
        result, _ = evaluate("-B0 ** 2 + 3 * (B1 - 0.5) / 2", data)
        b0, b1 = data[0].astype(np.float64), data[1].astype(np.float64)
        np.testing.assert_allclose(result, -b0 ** 2 + 3 * (b1 - 0.5) / 2, rtol=1e-6)

    def test_division_by_zero_is_nan(self):
        data = cube()
        data[2, 0, 0] = data[4, 0, 0] = 0.0  # NIR + red = 0 there
        data[2, 1, 1] = 0.0
        result, _ = evaluate("(R860 - R650) / (R860 + R650)", data, WL)
        assert np.isnan(result[0, 0]) and np.isfinite(result[1, 1])
        ratio, _ = evaluate("B0 / B2", data, WL)
        assert np.isnan(ratio[0, 0]) and np.isnan(ratio[1, 1])  # x / 0, not inf
        assert np.isfinite(ratio).sum() == ratio.size - 2
        assert np.all(np.isnan(evaluate("1 / 0", data, WL)[0]))
        assert np.all(np.isnan(evaluate("10 ** 400 + B0", data, WL)[0]))  # overflow: NaN

    def test_nodata_pixels_are_nan(self):
        data = cube()
        data[4, 3, 2] = -9999.0
        result, _ = evaluate("R860 - R650", data, WL, nodata=-9999)
        assert np.isnan(result[3, 2]) and np.isfinite(result).sum() == result.size - 1

    def test_lazy_cube_stays_lazy_and_reads_named_bands_only(self):
        da = pytest.importorskip("dask.array")
        from tests.viewer.viewer_checks import SliceRecorder

        data = cube()
        recorder = SliceRecorder(data, "band-math")
        lazy = da.from_array(recorder, chunks=(1, 6, 7))
        result, _ = evaluate(PRESETS["NDVI"], lazy, WL)
        assert isinstance(result, da.Array)
        recorder.keys.clear()
        eager, _ = evaluate(PRESETS["NDVI"], data, WL)
        np.testing.assert_allclose(result.compute(), eager)
        assert {key[0] for key in recorder.keys} == {2, 4}  # the NIR and red bands only

    def test_refusals_raise_before_reading(self):
        with pytest.raises(WavelengthError):
            evaluate("R1500 - R650", cube(), WL)
        with pytest.raises(BandMathError):
            evaluate("R860.__class__", cube(), WL)
