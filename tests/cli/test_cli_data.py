"""hsi data list / verify."""

from __future__ import annotations

import shutil

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
    assert "samson: not present, skipped" in bad.stdout


def test_verify_named_but_missing(invoke, tmp_path):
    result = invoke("data", "verify", "samson", "--root", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"samson: {tmp_path / 'samson/Samson.mat'}: missing"


def test_verify_unknown_name(invoke, tmp_path):
    result = invoke("data", "verify", "salinas", "--root", tmp_path)
    assert result.exit_code == 2 and "unknown dataset 'salinas'" in result.stderr
