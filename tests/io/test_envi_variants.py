"""ENVI headers as other tools write them: code pages, byte order marks, ENVI's other units,
malformed map info."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

import hsi
from hsi.errors import FormatError, WavelengthError
from tests.io.test_envi import write_raw

DATA = np.arange(3 * 2 * 4, dtype=np.float32).reshape(3, 2, 4)


def test_header_in_windows_code_page(tmp_path):
    """ENVI on Windows writes the header in the system code page (µ is byte 0xB5)."""
    hdr, _ = write_raw(tmp_path, DATA, ["description = {Reflectance 0.4–2.5 µm, 20 °C}",
                                        "wavelength units = Micrometers",
                                        "wavelength = {0.45, 0.55, 0.65}"])
    hdr.write_bytes(hdr.read_text(encoding="utf-8").encode("cp1252"))
    cube = hsi.open(hdr)
    np.testing.assert_allclose(cube.wavelengths, [450.0, 550.0, 650.0])
    np.testing.assert_array_equal(cube.data, DATA)


def test_header_with_utf8_byte_order_mark(tmp_path):
    hdr, img = write_raw(tmp_path, DATA, ["wavelength = {450, 550, 650}"])
    hdr.write_bytes(b"\xef\xbb\xbf" + hdr.read_bytes())
    for path in (hdr, img):
        cube = hsi.open(path)
        np.testing.assert_allclose(cube.wavelengths, [450.0, 550.0, 650.0])
        np.testing.assert_array_equal(cube.data, DATA)


@pytest.mark.parametrize(("units", "scale"), [("Angstroms", 10.0), ("Centimeters", 1e-7),
                                              ("Meters", 1e-9), ("Micrometers", 1e-3)])
def test_envi_length_units(tmp_path, units, scale):
    wl, fwhm = np.array([450.0, 550.0, 650.0]), np.array([10.0, 12.0, 15.0])
    hdr, _ = write_raw(tmp_path, DATA, [
        f"wavelength units = {units}",
        "wavelength = {" + ", ".join(repr(float(v)) for v in wl * scale) + "}",
        "fwhm = {" + ", ".join(repr(float(v)) for v in fwhm * scale) + "}"])
    cube = hsi.open(hdr)
    np.testing.assert_allclose(cube.wavelengths, wl, rtol=1e-9)
    np.testing.assert_allclose(cube.fwhm, fwhm, rtol=1e-9)


@pytest.mark.parametrize("units", ["GHz", "MHz"])
def test_frequency_units_are_refused_naming_the_header(tmp_path, units):
    hdr, _ = write_raw(tmp_path, DATA, [f"wavelength units = {units}",
                                        "wavelength = {450, 550, 650}"])
    with pytest.raises(WavelengthError, match=rf"raw\.hdr: wavelength units '{units}' are not "
                                              r"a length; set 'wavelength units = Index'"):
        hsi.open(hdr)


@pytest.mark.parametrize("info", [
    "{UTM, 1, 1, 500000.0, 4000000.0, 10, 10, abc, North, WGS-84, units=Meters}",
    "{UTM, 1, 1, 500000.0, 4000000.0, 10, 10, 11, North, WGS-84, rotation=abc}",
])
def test_malformed_map_info_is_a_format_error(tmp_path, info):
    hdr, _ = write_raw(tmp_path, DATA, [f"map info = {info}"])
    with pytest.raises(FormatError, match=r"raw\.hdr: cannot parse 'map info'.*fix or remove it"):
        hsi.open(hdr)


def test_unreadable_coordinate_system_string_falls_back_to_map_info_quietly(tmp_path, capfd):
    hdr, _ = write_raw(tmp_path, DATA, [
        "map info = {UTM, 1, 1, 500000.0, 4000000.0, 10, 10, 11, North, WGS-84, units=Meters}",
        "coordinate system string = {NOT A WKT}"])
    cube = hsi.open(hdr)
    assert cube.crs == CRS.from_epsg(32611)
    assert cube.transform == Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0)
    assert capfd.readouterr().err == ""  # GDAL's "ERROR 1: missing [" stays off stderr
