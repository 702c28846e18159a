"""``hsi fuse``: tiled scene fusion from the command line."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

import hsi
from hsi.fusion import fuse


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Salinas-A 48×48 HR crop simulated at x4 for Sentinel-2, as georeferenced GeoTIFFs."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.io.geotiff import write_geotiff

    cube = sample_cube()
    crop = cube.with_data(cube.data[:, 20:68, 30:78], crs="EPSG:32610",
                          transform=Affine(3.7, 0, 612111.0, 0, -3.7, 4061925.9))
    lr, hr = simulate_pair(crop, 4, "sentinel2")
    folder = tmp_path_factory.mktemp("fuse_cli")
    write_geotiff(lr, folder / "lr.tif", tile=16)
    write_geotiff(hr, folder / "hr.tif", tile=16)
    return folder, lr, hr


@pytest.mark.parametrize("batch", [[], ["--batch", "3"]])
def test_fuse_glp_tiled(invoke, pair, tmp_path, batch):
    folder, lr, hr = pair
    out = tmp_path / "fused.tif"
    result = invoke("fuse", folder / "lr.tif", folder / "hr.tif", "-o", out, "--method", "glp",
                    "--tile", "16", *batch)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    got = hsi.open(out)
    np.testing.assert_allclose(got.data, fuse(lr, hr, method="glp").data, rtol=0, atol=2e-6)
    assert got.crs == hr.crs and got.transform == hr.transform
    np.testing.assert_allclose(got.wavelengths, lr.wavelengths, atol=1e-6)


def test_fuse_without_georeference_needs_ratio(invoke, pair, tmp_path):
    from hsi.io.geotiff import write_geotiff

    _, lr, hr = pair
    write_geotiff(lr.with_data(lr.data[:, :10, :11], crs=None, transform=None),
                  tmp_path / "lr.tif", tile=16)
    write_geotiff(hr.with_data(hr.data[:, :41, :44], crs=None, transform=None),
                  tmp_path / "hr.tif", tile=16)  # 41 rows: not exactly 10 × 4
    result = invoke("fuse", tmp_path / "lr.tif", tmp_path / "hr.tif", "-o", tmp_path / "o.tif",
                    "--method", "bicubic", "--ratio", "4", "--tile", "16")
    assert result.exit_code == 0, result.output
    got = hsi.open(tmp_path / "o.tif")
    assert got.shape == (204, 41, 44) and got.crs is None


def test_shifted_grid_is_one_line_error(invoke, one_line_error, pair, tmp_path):
    from hsi.io.geotiff import write_geotiff

    folder, _, hr = pair
    write_geotiff(hr.with_data(hr.data, transform=hr.transform @ Affine.translation(0, 6)),
                  tmp_path / "shifted.tif", tile=16)
    out = tmp_path / "out.tif"
    result = invoke("fuse", folder / "lr.tif", tmp_path / "shifted.tif", "-o", out,
                    "--method", "glp")
    one_line_error(result, "extents differ")
    assert not out.exists()



def test_one_file_given_twice_or_two_of_one_size_are_one_line_errors(invoke, one_line_error,
                                                                     pair, tmp_path):
    from hsi.io.geotiff import write_geotiff

    folder, lr, _ = pair
    out = tmp_path / "out.tif"
    line = one_line_error(invoke("fuse", folder / "lr.tif", folder / "lr.tif", "-o", out,
                                 "--method", "glp"), "HR_MSI")
    assert "lr.tif is the LR_HSI file too" in line
    plain = lr.with_data(lr.data, crs=None, transform=None)  # sizes are all there is to check
    write_geotiff(plain, tmp_path / "a.tif", tile=16)
    write_geotiff(plain, tmp_path / "b.tif", tile=16)
    line = one_line_error(invoke("fuse", tmp_path / "a.tif", tmp_path / "b.tif", "-o", out,
                                 "--method", "glp"), "has as many pixels as")
    assert f"HR-MSI {lr.height}×{lr.width} has as many pixels as LR-HSI" in line
    assert not out.exists()

@pytest.mark.parametrize(("extra", "message"), [
    (["--model", "{ckpt}", "--method", "glp"], "apply to --method infn"),
    (["--fit-steps", "3"], "need --fit-scene"),
    (["--psf-sigma", "sharp"], "--psf-sigma"),
    (["--psf-sigma", "-1"], "--psf-sigma"),
    (["--tile", "8"], "--tile"),
])
def test_bad_options_are_usage_errors(invoke, pair, tmp_path, extra, message):
    folder, *_ = pair
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"PK\x03\x04")  # passes the first-bytes check; never loaded
    args = [a.format(ckpt=ckpt) for a in extra]
    result = invoke("fuse", folder / "lr.tif", folder / "hr.tif", "-o", tmp_path / "o.tif",
                    *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "o.tif").exists()


def test_fuse_does_not_load_dask_distributed(pair, tmp_path):
    """A single-scene fuse computes its lazy reads with a callable scheduler, so dask never
    imports ``distributed`` (~0.2 s of every command's start-up)."""
    import subprocess
    import sys

    folder, _, _ = pair
    probe = ("import sys; from hsi.cli.main import cli; "
             "cli.main(sys.argv[1:], prog_name='hsi', standalone_mode=False); "
             "assert 'distributed' not in sys.modules, 'distributed imported'")
    res = subprocess.run([sys.executable, "-c", probe, "fuse", str(folder / "lr.tif"),
                          str(folder / "hr.tif"), "-o", str(tmp_path / "f.tif"),
                          "--method", "glp", "--tile", "16"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "f.tif").exists()


@pytest.mark.parametrize("case, message", [
    ("swapped-inputs", "are the two inputs swapped?"),
    ("non-tiff-output", "must end in .tif"),
    ("model-not-a-checkpoint", "not a readable checkpoint"),
])
def test_fuse_errors_come_before_the_fusion_stack_loads(pair, tmp_path, case, message):
    """Issue 16: error paths answer without importing torch (about 1 s of a 0.2 s answer):
    swapped inputs fail on the grid check, a wrong output suffix on the output check (both
    before ``hsi.fusion.scene`` loads the fusion stack), a GeoTIFF given as ``--model`` on
    its first bytes while the command line is parsed."""
    import subprocess
    import sys

    folder, _, _ = pair
    lr, hr = str(folder / "lr.tif"), str(folder / "hr.tif")
    output = tmp_path / ("o.envi" if case == "non-tiff-output" else "o.tif")
    args = {"swapped-inputs": [hr, lr], "non-tiff-output": [lr, hr],
            "model-not-a-checkpoint": [lr, hr, "--model", lr]}[case]
    probe = ("import sys; from hsi.cli.main import cli\n"
             "try:\n"
             "    cli.main(sys.argv[1:], prog_name='hsi', standalone_mode=True)\n"
             "except SystemExit as exit:\n"
             "    print('torch' in sys.modules, exit.code)")
    res = subprocess.run([sys.executable, "-c", probe, "fuse", *args, "-o", str(output)],
                         capture_output=True, text=True)
    assert res.stdout.split() == ["False", "2"], res.stdout + res.stderr[-2000:]
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not output.exists()


def test_default_method_says_when_a_matching_checkpoint_is_not_used(invoke, tmp_path, caplog):
    """The CAVE checkpoint's sensors (31 bands at 400-700 nm, the D700) on an airborne scene:
    ``hsi fuse`` without --method fuses with GLP and says why in one line."""
    from hsi.cube import Cube
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.io.geotiff import write_geotiff

    s = sample_cube()
    wl = np.arange(400.0, 701.0, 10.0)
    x = np.asarray(s.data, dtype=np.float64).reshape(s.bands, -1)
    y = np.stack([np.interp(wl, s.wavelengths, x[:, k]) for k in range(x.shape[1])], 1)
    cube = Cube(y.reshape(31, s.height, s.width).astype(np.float32), wavelengths=wl)
    lr, hr = simulate_pair(cube, 4, "nikon_d700")
    write_geotiff(lr, tmp_path / "lr.tif")
    write_geotiff(hr, tmp_path / "hr.tif")
    out = tmp_path / "fused.tif"
    with caplog.at_level("WARNING", logger="hsi.fusion"):
        result = invoke("fuse", tmp_path / "lr.tif", tmp_path / "hr.tif", "-o", out,
                        "--ratio", "4")
    assert result.exit_code == 0, result.output
    (line,) = [r.getMessage() for r in caplog.records if r.name == "hsi.fusion"]
    assert line.startswith("using GLP: ")
    assert result.stdout.startswith(f"wrote {out} (auto: glp, ")
    assert "infn_cave31_nikond700_x4.pt" in line and "unlike its training scenes" in line
    np.testing.assert_allclose(hsi.open(out).data, fuse(lr, hr, method="glp").data,
                               rtol=0, atol=2e-6)


def test_fused_file_records_how_it_was_made(invoke, pair, tmp_path):
    """Method, ratio and PSF as GeoTIFF tags (the README says fused files record them)."""
    import rasterio

    folder, _, _ = pair
    out = tmp_path / "fused.tif"
    result = invoke("fuse", folder / "lr.tif", folder / "hr.tif", "-o", out, "--method", "glp",
                    "--tile", "16")
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as f:
        tags = f.tags()
    assert tags["fusion_method"] == "glp" and tags["ratio"] == "4"
    assert float(tags["psf_sigma"]) > 0


def test_fit_scene_says_which_image_it_wrote(invoke, tmp_path):
    """The scene fit keeps the network only where it beats its base image on the held-back
    part of the pair; the line and the file say which happened."""
    import json

    import rasterio

    from hsi.cli.fuse import SCENE_FIT_WORDS
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    lr, hr = simulate_pair(sample_cube(), 2, "landsat8")
    hsi.save(lr, tmp_path / "lr.tif")
    hsi.save(hr, tmp_path / "hr.tif")
    out = tmp_path / "fused.tif"
    result = invoke("fuse", tmp_path / "lr.tif", tmp_path / "hr.tif", "-o", out,
                    "--method", "infn", "--fit-scene", "--fit-steps", "5", "--ratio", "2",
                    "--device", "cpu")
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as f:
        fit = json.loads(f.tags()["scene_fit"])
    assert fit["result"] in ("fitted", "base")
    assert SCENE_FIT_WORDS[fit["result"]] in result.output


def test_a_given_model_is_named_in_the_closing_line(invoke, pair, tmp_path):
    """``--model`` without ``--method``: the line names the model used, not an automatic
    choice."""
    import torch

    from hsi.fusion import INFN, InfnConfig, save_infn

    folder, lr, hr = pair
    torch.manual_seed(0)
    model = save_infn(tmp_path / "m.pt", INFN(InfnConfig(hsi_bands=lr.bands, msi_bands=hr.bands)),
                      meta={"ratios": [4], "wavelengths": list(lr.wavelengths),
                            "msi_wavelengths": list(hr.wavelengths)})
    out = tmp_path / "fused.tif"
    result = invoke("fuse", folder / "lr.tif", folder / "hr.tif", "-o", out, "--model", model,
                    "--tile", "16", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out} (infn: {model}, ")


def test_fuse_reads_a_mat_variable(invoke, one_line_error, pair, tmp_path):
    """A .mat holding two cubes said "choose one with --var", an option ``hsi fuse`` did not
    have (the advice could not be followed); ``--var`` now picks it from each .mat."""
    import scipy.io

    from hsi.io.geotiff import write_geotiff

    _, lr, hr = pair
    mats = {}
    for name, cube in (("lr", lr), ("hr", hr)):
        mats[name] = tmp_path / f"{name}.mat"
        scipy.io.savemat(mats[name], {"cube": cube.data.transpose(1, 2, 0),
                                      "noise": np.zeros((4, 4, 2)),
                                      "wavelengths": cube.wavelengths})
    hr_tif = tmp_path / "hr.tif"  # one .mat and one GeoTIFF: --var goes to the .mat alone
    write_geotiff(hr.with_data(hr.data, crs=None, transform=None), hr_tif, tile=16)
    args = ("--method", "glp", "--ratio", "4", "--tile", "16")
    message = one_line_error(invoke("fuse", mats["lr"], mats["hr"], "-o", tmp_path / "x.tif",
                                    *args), "lr.mat")
    assert message.endswith("choose one with --var")
    assert not (tmp_path / "x.tif").exists()
    expected = fuse(lr.with_data(lr.data, crs=None, transform=None),
                    hr.with_data(hr.data, crs=None, transform=None), method="glp").data
    for hr_path in (mats["hr"], hr_tif):
        out = tmp_path / f"fused_{hr_path.stem}{hr_path.suffix[1:]}.tif"
        result = invoke("fuse", mats["lr"], hr_path, "-o", out, *args, "--var", "cube")
        assert result.exit_code == 0, result.output
        np.testing.assert_allclose(hsi.open(out).data, expected, rtol=0, atol=2e-6)
