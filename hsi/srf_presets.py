"""Published band tables of the multispectral sensors that :func:`hsi.degrade.load_srf` knows.

Each table gives, per band, its name, centre wavelength and full width at half maximum (FWHM),
both in nm; :meth:`hsi.degrade.SRF.gaussian` turns them into Gaussian response curves. The Nikon
D700 camera is tabulated instead (``hsi/data/srf/nikon_d700.csv``, measured curves).
"""

from __future__ import annotations

from pathlib import Path

#: Folder of the tabulated responses shipped with the package.
SRF_DATA_DIR = Path(__file__).resolve().parent / "data" / "srf"

#: Sentinel-2A MSI, bands B1-B12 (all 13 lie in 400-2500 nm): (name, centre nm, bandwidth nm).
#: Central wavelengths and bandwidths of ESA's "Sentinel-2 MSI Spectral Response Functions"
#: (COPE-GSEG-EOPG-TN-15-0007, issue 3.0), as also listed by the Sentinel-2 User Handbook.
#: B10 (cirrus) sits in the 1.38 µm water-vapour absorption: it sees the atmosphere, not the
#: surface, so Level-2A (surface reflectance) products leave it out, and so does the
#: ``sentinel2`` preset (:data:`SENTINEL2_L2A_BANDS`); ``sentinel2_l1c`` keeps all 13. On a
#: cube whose water-absorption bands were removed (Salinas-A, Indian Pines) B10 would be made
#: up from the bands at the gap's edges, so it is dropped there (:meth:`hsi.srf.SRF.for_cube`).
SENTINEL2_BANDS: tuple[tuple[str, float, float], ...] = (
    ("B1", 442.7, 21.0),
    ("B2", 492.4, 66.0),
    ("B3", 559.8, 36.0),
    ("B4", 664.6, 31.0),
    ("B5", 704.1, 15.0),
    ("B6", 740.5, 15.0),
    ("B7", 782.8, 20.0),
    ("B8", 832.8, 106.0),
    ("B8A", 864.7, 21.0),
    ("B9", 945.1, 20.0),
    ("B10", 1373.5, 31.0),
    ("B11", 1613.7, 91.0),
    ("B12", 2202.4, 175.0),
)

#: The 12 bands of a Sentinel-2 Level-2A (surface reflectance) product: all but B10.
SENTINEL2_L2A_BANDS: tuple[tuple[str, float, float], ...] = tuple(
    b for b in SENTINEL2_BANDS if b[0] != "B10")

#: Landsat 8 OLI, reflective bands 1-7 (the panchromatic band 8 and cirrus band 9 left out):
#: (name, centre nm, FWHM nm) from the measured relative spectral responses, Barsi et al.,
#: "The Spectral Response of the Landsat-8 Operational Land Imager", Remote Sens. 2014, 6,
#: 10232-10251, Table 3 (band-average centre wavelength and FWHM).
LANDSAT8_BANDS: tuple[tuple[str, float, float], ...] = (
    ("B1", 442.96, 15.98),
    ("B2", 482.04, 60.04),
    ("B3", 561.41, 57.33),
    ("B4", 654.59, 37.47),
    ("B5", 864.67, 28.25),
    ("B6", 1608.86, 84.72),
    ("B7", 2200.73, 186.66),
)

#: Preset names and where each one comes from: a tabulated CSV or a Gaussian band table.
PRESETS: dict[str, dict] = {
    "nikon_d700": {"csv": SRF_DATA_DIR / "nikon_d700.csv", "title": "Nikon D700 (RGB camera)"},
    "sentinel2": {"bands": SENTINEL2_L2A_BANDS,
                  "title": "Sentinel-2A MSI, the 12 Level-2A bands (B10 left out; Gaussian)"},
    "sentinel2_l1c": {"bands": SENTINEL2_BANDS,
                      "title": "Sentinel-2A MSI, all 13 Level-1C bands (Gaussian bands)"},
    "landsat8": {"bands": LANDSAT8_BANDS, "title": "Landsat 8 OLI (Gaussian bands)"},
}
