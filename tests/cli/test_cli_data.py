"""hsi data list / verify / fetch / export."""

from __future__ import annotations

import shutil

import numpy as np

from hsi.data import DATASETS


def _copy(data_dir, tmp_path, name):
    for rel in DATASETS[name].files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / rel, tmp_path / rel)


def test_list(invoke, data_dir, tmp_path):
    _copy(data_dir, tmp_path, "pavia_university")
    result = invoke("data", "list", "--root", tmp_path)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert set(rows) == set(DATASETS)
    assert rows["pavia_university"][1:4] == ["yes", "74.2", "KB"]   # 75971 bytes
    assert rows["samson"][1] == "no"
    assert "CC BY-NC-SA 4.0" in " ".join(rows["nikon_d700"])


def test_verify_ok_and_mismatch(invoke, data_dir, tmp_path):
    _copy(data_dir, tmp_path, "nikon_d700")
    ok = invoke("data", "verify", "nikon_d700", "--root", tmp_path)
    assert ok.exit_code == 0 and "nikon_d700: ok (2 files)" in ok.stdout
    csv = tmp_path / "srf/nikon_d700_camspec/Nikon_D700.csv"
    csv.chmod(0o644)
    csv.write_text(csv.read_text() + "\n")
    bad = invoke("data", "verify", "--root", tmp_path)
    assert bad.exit_code == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "Nikon_D700.csv" in lines[0] and "sha256" in lines[0]
    skipped = [line for line in bad.stdout.splitlines() if "not present" in line]
    assert len(skipped) == 1 and skipped[0].startswith("not present, skipped: ")  # one line


def test_verify_named_but_missing(invoke, tmp_path):
    result = invoke("data", "verify", "samson", "--root", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"samson: {tmp_path / 'samson/Samson.mat'}: missing"


def test_verify_unknown_name(invoke, tmp_path):
    result = invoke("data", "verify", "salinas", "--root", tmp_path)
    assert result.exit_code == 2 and "unknown dataset 'salinas'" in result.stderr


def test_fetch_downloads_and_verifies(invoke, data_dir, tmp_path, monkeypatch):
    """`hsi data fetch` downloads what is missing (here from file:// URLs), sha256-checked."""
    from hsi.data.salinas_a import SalinasA

    server = tmp_path / "server"
    server.mkdir()
    urls = {}
    for rel in SalinasA.files:
        shutil.copy(data_dir / rel, server / rel.replace("/", "__"))
        urls[rel] = ((server / rel.replace("/", "__")).as_uri(),)
    monkeypatch.setattr(SalinasA, "urls", urls)
    root = tmp_path / "data"
    first = invoke("data", "fetch", "salinas_a", "--root", root)
    assert first.exit_code == 0, first.output
    n = len(SalinasA.files)
    assert first.stdout.strip() == f"salinas_a: {n} downloaded, {n} of {n} files verified in {root}"
    assert not DATASETS["salinas_a"].check_files(root)
    again = invoke("data", "fetch", "salinas_a", "--root", root)
    assert again.stdout.startswith("salinas_a: 0 downloaded"), again.output


def test_fetch_unknown_name_and_missing_name(invoke, one_line_error, tmp_path):
    one_line_error(invoke("data", "fetch", "salinas", "--root", tmp_path), "unknown dataset")
    one_line_error(invoke("data", "fetch", "--root", tmp_path), "Missing argument")


def test_missing_dataset_says_to_fetch_it(invoke, one_line_error, tmp_path):
    line = one_line_error(invoke("data", "export", "samson", "-o", tmp_path / "out", "--root",
                                 tmp_path / "empty"), "samson")
    assert line.endswith("or run hsi data fetch samson")
    assert not (tmp_path / "out").exists()


def test_export_runs_the_classification_commands(invoke, data_dir, tmp_path):
    """Indian Pines as GeoTIFFs: the cube with its file-order wavelengths, the ground truth
    with its 16 names, read back by `hsi classify split`."""
    import hsi
    from hsi.data import load
    from hsi.io.labels import read_labels

    _copy(data_dir, tmp_path / "data", "indian_pines")
    out = tmp_path / "ip"
    result = invoke("data", "export", "indian_pines", "-o", out, "--root", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["indian_pines.tif", "indian_pines_gt.tif"]
    sample = load("indian_pines", root=tmp_path / "data")
    cube = hsi.open(out / "indian_pines.tif")
    np.testing.assert_array_equal(np.asarray(cube.data), sample.cube.data)
    np.testing.assert_array_equal(cube.wavelengths, sample.cube.wavelengths)  # 696.5, 686.9
    labels = read_labels(out / "indian_pines_gt.tif")
    np.testing.assert_array_equal(labels.array, sample.labels)
    assert list(labels.names) == sample.class_names and len(labels.names) == 16
    split = invoke("classify", "split", out / "indian_pines_gt.tif", "-o", tmp_path / "split",
                   "--per-class", "5", "--seed", "0")
    assert split.exit_code == 0, split.output
    assert split.stdout.startswith("80 training pixels")  # 16 classes x 5


def test_export_abundances_and_ground_truth_only(invoke, data_dir, tmp_path):
    import hsi
    from hsi.data import load

    _copy(data_dir, tmp_path / "data", "samson")
    _copy(data_dir, tmp_path / "data", "pavia_university")
    root = tmp_path / "data"
    assert invoke("data", "export", "samson", "-o", tmp_path / "s", "--root", root).exit_code == 0
    abundances = hsi.open(tmp_path / "s" / "samson_abundances.tif").data
    np.testing.assert_allclose(abundances, load("samson", root=root).abundances, atol=1e-6)
    np.testing.assert_allclose(np.asarray(abundances).sum(0), 1.0, atol=1e-4)
    gt_only = invoke("data", "export", "pavia_university", "-o", tmp_path / "p", "--root", root)
    assert gt_only.exit_code == 0, gt_only.output
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["pavia_university_gt.tif"]


def test_export_of_a_sensor_is_one_line(invoke, one_line_error, data_dir, tmp_path):
    _copy(data_dir, tmp_path / "data", "nikon_d700")
    line = one_line_error(invoke("data", "export", "nikon_d700", "-o", tmp_path / "out",
                                 "--root", tmp_path / "data"), "nikon_d700")
    assert "spectral response" in line
    assert not (tmp_path / "out").exists()


def test_export_writes_all_parts_or_none(invoke, one_line_error, data_dir, tmp_path,
                                         monkeypatch):
    """A failure on the ground truth leaves no cube behind either (nor temporaries)."""
    import hsi.io.labels

    def broken(*args, **kwargs):
        raise OSError("disk full")

    _copy(data_dir, tmp_path / "data", "salinas_a")
    monkeypatch.setattr(hsi.io.labels, "write_class_map", broken)
    out = tmp_path / "out"
    out.mkdir()
    one_line_error(invoke("data", "export", "salinas_a", "-o", out, "--root",
                          tmp_path / "data"), "disk full")
    assert list(out.iterdir()) == []
