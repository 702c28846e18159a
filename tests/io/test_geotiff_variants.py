"""GeoTIFFs whose wavelengths other tools wrote: ENVI-style band descriptions, files translated
from ENVI by GDAL, units that are not lengths."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.shutil
import spectral.io.envi as spy_envi

import hsi
from hsi.errors import WavelengthError

DATA = (np.arange(3 * 4 * 5).reshape(3, 4, 5) * 100).astype(np.int16)


def write_tif(path, **tags_per_band):
    """A 3-band int16 GeoTIFF; ``tags_per_band[name]`` holds one value per band, written by
    ``describe`` (band descriptions) or as band tags of the domain ``name`` (``default``)."""
    with rasterio.open(path, "w", driver="GTiff", width=5, height=4, count=3, dtype="int16",
                       nodata=-9999) as dst:
        dst.write(DATA)
        for b in range(1, 4):
            for kind, values in tags_per_band.items():
                if kind == "describe":
                    dst.set_band_description(b, values[b - 1])
                else:
                    dst.update_tags(b, ns=None if kind == "default" else kind, **values[b - 1])
    return path


@pytest.mark.parametrize("template", [
    "Band {b} ({nm:.6f} Nanometers)",   # ENVI
    "Band {b} ({um:.6f} Micrometers)",
    "B{b} ({nm:.0f} nm)",
    "{um:.4f} um",
])
def test_wavelengths_in_band_descriptions(tmp_path, template):
    wl = [450.0, 550.0, 650.0]
    path = write_tif(tmp_path / "d.tif", describe=[
        template.format(b=b, nm=nm, um=nm / 1e3) for b, nm in enumerate(wl, start=1)])
    cube = hsi.open(path)
    np.testing.assert_allclose(cube.wavelengths, wl)
    np.testing.assert_array_equal(cube.data, DATA)
    assert cube.nodata == -9999


def test_gdal_translated_envi_keeps_the_unrounded_wavelengths(tmp_path):
    """GDAL's ENVI driver rounds CENTRAL_WAVELENGTH_UM to 1 nm and keeps the header value as
    a band tag; gdal_translate copies both into the GeoTIFF."""
    wl = [412.57, 1001.234, 2405.49]
    spy_envi.save_image(str(tmp_path / "s.hdr"), DATA.transpose(1, 2, 0), ext=".img",
                        metadata={"wavelength": wl, "wavelength units": "Nanometers",
                                  "fwhm": [9.87, 10.12, 11.5]})
    rasterio.shutil.copy(tmp_path / "s.img", tmp_path / "s.tif", driver="GTiff")
    with rasterio.open(tmp_path / "s.tif") as src:
        assert src.tags(1, ns="IMAGERY")["CENTRAL_WAVELENGTH_UM"] == "0.413"
    cube = hsi.open(tmp_path / "s.tif")
    np.testing.assert_allclose(cube.wavelengths, wl)
    np.testing.assert_allclose(cube.fwhm, [10.0, 10.0, 11.0])  # only GDAL's rounded FWHM_UM
    np.testing.assert_array_equal(cube.data, DATA)


def test_imagery_domain_wins_over_disagreeing_band_tags(tmp_path):
    path = write_tif(tmp_path / "c.tif",
                     IMAGERY=[{"CENTRAL_WAVELENGTH_UM": str(um)} for um in (0.45, 0.55, 0.65)],
                     default=[{"wavelength": str(nm), "wavelength_units": "Nanometers"}
                              for nm in (455.0, 555.0, 655.0)])
    np.testing.assert_allclose(hsi.open(path).wavelengths, [450.0, 550.0, 650.0])


@pytest.mark.parametrize("units", ["Wavenumber", "GHz"])
def test_units_that_are_not_a_length_name_the_file(tmp_path, units):
    path = write_tif(tmp_path / "w.tif", default=[
        {"wavelength": str(v), "wavelength_units": units} for v in (1000, 2000, 3000)])
    with pytest.raises(WavelengthError, match=rf"w\.tif: wavelength units '{units}' are not a "
                                              r"length"):
        hsi.open(path)
