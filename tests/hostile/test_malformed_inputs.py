"""Malformed files of every format, handed to every command that reads a cube."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io


def _envi(folder, name, data, header_extra=""):
    import spectral.io.envi as envi

    envi.save_image(str(folder / f"{name}.hdr"), data, dtype=data.dtype, force=True,
                    metadata={"wavelength": list(np.linspace(400, 900, data.shape[2]))})
    hdr = folder / f"{name}.hdr"
    if header_extra:
        hdr.write_text(hdr.read_text() + header_extra)
    return hdr


def _truncated_tiled_tif(path):
    """A tiled GeoTIFF whose header is whole and whose later tiles are cut off (a download
    that stopped): opening works, reading the pixels fails."""
    import rasterio
    import rasterio.shutil

    full = path.with_name("full_" + path.name)
    data = np.random.default_rng(3).random((8, 12, 16)).astype(np.float32)  # LR of the MSI
    with rasterio.open(full, "w", driver="GTiff", count=8, height=12, width=16,
                       dtype="float32") as dst:
        dst.write(data)
    rasterio.shutil.copy(full, path, driver="COG", compress="NONE", blocksize=16)
    full.unlink()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _malformed(folder) -> dict[str, object]:
    """Case name -> path of a file no command may accept."""
    cases = {}
    (folder / "empty.tif").write_bytes(b"")
    cases["empty_tif"] = folder / "empty.tif"
    (folder / "text.tif").write_text("not a tiff\n")
    cases["text_tif"] = folder / "text.tif"
    (folder / "junk.tif").write_bytes(b"II*\x00" + np.random.default_rng(0).bytes(4000))
    cases["junk_tiff_header"] = folder / "junk.tif"
    good = np.random.default_rng(1).random((6, 7, 5)).astype(np.float32)
    hdr = _envi(folder, "trunc", good)
    img = next(p for p in folder.iterdir() if p.stem == "trunc" and p.suffix != ".hdr")
    img.write_bytes(img.read_bytes()[:50])
    cases["truncated_envi"] = hdr
    hdr = _envi(folder, "huge", good)
    hdr.write_text(hdr.read_text().replace("lines = 6", "lines = 6000000"))
    cases["absurd_envi_lines"] = hdr
    hdr = _envi(folder, "zero", good)
    hdr.write_text(hdr.read_text().replace("samples = 7", "samples = 0"))
    cases["zero_envi_samples"] = hdr
    hdr = _envi(folder, "nanwl", good)
    text = hdr.read_text()
    start = text.index("wavelength = {")
    end = text.index("}", start)
    hdr.write_text(text[:start] + "wavelength = {nan, 1, 2, 3, 4}" + text[end + 1:])
    cases["nan_wavelengths"] = hdr
    (folder / "junk.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(108) + b"IM"
                                      + np.random.default_rng(2).bytes(300))
    cases["junk_mat"] = folder / "junk.mat"
    scipy.io.savemat(folder / "flat.mat", {"x": np.zeros((4, 4))})
    cases["mat_without_cube"] = folder / "flat.mat"
    (folder / "junk.h5.mat").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))
    cases["junk_hdf5_mat"] = folder / "junk.h5.mat"
    (folder / "nothere.tif")
    cases["missing"] = folder / "nothere.tif"
    cases["truncated_tiles"] = _truncated_tiled_tif(folder / "cut.tif")
    return cases


CASES = ["empty_tif", "text_tif", "junk_tiff_header", "truncated_envi", "absurd_envi_lines",
         "zero_envi_samples", "nan_wavelengths", "junk_mat", "mat_without_cube",
         "junk_hdf5_mat", "missing", "truncated_tiles"]
COMMANDS = {
    "info": "info {bad}",
    "convert": "convert {bad} {d}/out.tif",
    "cluster": "cluster {bad} -k 3 -o {d}/c.tif",
    "fuse_lr": "fuse {bad} {msi} -o {d}/f.tif --method glp",
    "fuse_hr": "fuse {cube} {bad} -o {d}/f.tif --method glp",
    "simulate": "simulate {bad} -o {d}/sim --ratio 2",
    "predict": "classify predict {bad} --model {model} -o {d}/p.tif",
    "metrics": "metrics {bad} {cube}",
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", CASES)
def test_malformed_input(case, command, work, run_hostile, tmp_path):
    folder = work["cube"].parent
    bad = _malformed(folder)[case]
    if command == "predict" and case == "missing":
        pytest.skip("click refuses a missing CUBE before hsikit runs (tested in tests/cli)")
    if case == "truncated_tiles" and command in ("fuse_hr", "predict"):
        pytest.skip("refused before any pixel is read (grid check; the stand-in model)")
    if case == "truncated_tiles" and command == "info":
        pytest.skip("hsi info reads the header only, which is whole")
    out = tmp_path / "out"
    out.mkdir()
    args = COMMANDS[command].format(bad=bad, d=out, **{k: v for k, v in work.items()}).split()
    run_hostile(args, folder, (bad.name if case != "nan_wavelengths" else "nanwl",))
    assert list(out.iterdir()) == []
