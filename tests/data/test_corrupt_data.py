"""Damaged dataset files and wrong data folders: one-line errors naming the file, nothing
written (the README's promise for bad input), for ``hsi.data.load`` and ``hsi data``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hsi.cli.main import cli
from hsi.data import DATASETS, base, load
from hsi.errors import ChecksumError, FormatError, HsiError, HsiIOError
from tests.cli_checks import one_error_line

SALINAS_CUBE = "salinas_a/salinasA_corrected.mat"  # zlib-compressed MATLAB v5
INDIAN_PINES_CUBE = "indian_pines/Indian_pines_corrected.npy"  # uncompressed: silent damage


def _copy(data_dir: Path, root: Path, name: str) -> Path:
    for rel in DATASETS[name].files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / rel, root / rel)
        (root / rel).chmod(0o644)
    return root


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0xFF]))


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def salinas_root(data_dir, tmp_path):
    """Salinas-A (and the .spc it needs) with one byte of the compressed cube flipped."""
    root = _copy(data_dir, tmp_path / "data", "salinas_a")
    _flip(root / SALINAS_CUBE, 800000)
    return root


@pytest.fixture
def indian_pines_root(data_dir, tmp_path):
    """Indian Pines with one byte of the uncompressed .npy cube flipped (still decodes)."""
    root = _copy(data_dir, tmp_path / "data", "indian_pines")
    _flip(root / INDIAN_PINES_CUBE, 4000000)
    return root


class TestChecksums:
    def test_load_checks_by_default(self, indian_pines_root):
        with pytest.raises(ChecksumError, match=r"Indian_pines_corrected\.npy: sha256") as info:
            load("indian_pines", root=indian_pines_root)
        assert str(info.value).startswith(str(indian_pines_root / INDIAN_PINES_CUBE))

    def test_dataset_class_checks_by_default(self, indian_pines_root):
        with pytest.raises(ChecksumError, match=r"Indian_pines_corrected\.npy"):
            DATASETS["indian_pines"](root=indian_pines_root).load()

    def test_a_file_that_does_not_decode_names_itself(self, salinas_root):
        """Unchecked (checksum=False), the zlib error still becomes an hsikit error naming
        the damaged file, never zlib.error."""
        for checksum in (True, False):
            with pytest.raises(HsiError, match=r"salinasA_corrected\.mat") as info:
                load("salinas_a", root=salinas_root, checksum=checksum)
            assert isinstance(info.value, ChecksumError), info.value

    def test_loadmat_names_a_file_with_a_bad_zlib_stream(self, tmp_path):
        import scipy.io

        path = tmp_path / "x.mat"
        scipy.io.savemat(path, {"x": np.arange(20000.0)}, do_compression=True)
        _flip(path, path.stat().st_size // 2)
        with pytest.raises(FormatError, match=r"x\.mat: not a readable MATLAB"):
            base.loadmat(path, ["x"])

    def test_hash_remembered_until_the_file_changes(self, data_dir, tmp_path, monkeypatch):
        root = _copy(data_dir, tmp_path / "data", "samson")
        calls = []
        real = base.sha256sum
        monkeypatch.setattr(base, "sha256sum", lambda p, *a: calls.append(p) or real(p, *a))
        load("samson", root=root)
        assert len(calls) == 1
        load("samson", root=root)
        assert len(calls) == 1  # same file, same size and mtime: not hashed again
        _flip(root / "samson/Samson.mat", 1000)
        with pytest.raises(ChecksumError, match=r"Samson\.mat"):
            load("samson", root=root)
        assert len(calls) == 2
        DATASETS["samson"].check_files(root)  # verify always re-reads the bytes
        assert len(calls) == 3

    def test_export_of_a_file_that_does_not_decode(self, salinas_root, tmp_path):
        out = tmp_path / "out"
        one_error_line(_invoke("data", "export", "salinas_a", "--root", salinas_root, "-o",
                                out), str(salinas_root / SALINAS_CUBE))
        assert not out.exists()

    def test_export_of_silently_damaged_data(self, indian_pines_root, tmp_path):
        out = tmp_path / "out"
        line = one_error_line(_invoke("data", "export", "indian_pines", "--root",
                                       indian_pines_root, "-o", out),
                               str(indian_pines_root / INDIAN_PINES_CUBE))
        assert "sha256" in line
        assert not out.exists()

    def test_fetch_names_a_damaged_file_already_there(self, salinas_root):
        one_error_line(_invoke("data", "fetch", "salinas_a", "--root", salinas_root),
                        str(salinas_root / SALINAS_CUBE))


class TestDataFolder:
    @pytest.mark.parametrize("command", [("list",), ("verify",), ("verify", "samson")])
    def test_missing_root(self, tmp_path, command):
        missing = tmp_path / "nowhere"
        line = one_error_line(_invoke("data", *command, "--root", missing), str(missing))
        assert "does not exist" in line

    @pytest.mark.parametrize("command", [("list",), ("verify",), ("fetch", "samson"),
                                         ("export", "samson", "-o", "OUT")])
    def test_root_that_is_a_file(self, tmp_path, command):
        afile = tmp_path / "afile"
        afile.write_text("")
        command = tuple(str(tmp_path / "out") if c == "OUT" else c for c in command)
        one_error_line(_invoke("data", *command, "--root", afile), str(afile))
        assert not (tmp_path / "out").exists()

    @pytest.mark.parametrize("command", [("list",), ("verify",), ("fetch", "samson")])
    def test_data_folder_from_the_environment(self, tmp_path, monkeypatch, command):
        missing = tmp_path / "nowhere"
        afile = tmp_path / "afile"
        afile.write_text("")
        monkeypatch.setenv(base.ENV_VAR, str(afile))
        line = one_error_line(_invoke("data", *command), str(afile))
        assert base.ENV_VAR in line
        if command[0] != "fetch":
            monkeypatch.setenv(base.ENV_VAR, str(missing))
            line = one_error_line(_invoke("data", *command), str(missing))
            assert base.ENV_VAR in line

    def test_export_names_the_missing_folder(self, tmp_path):
        missing = tmp_path / "nowhere"
        line = one_error_line(_invoke("data", "export", "samson", "-o", tmp_path / "out",
                                       "--root", missing), str(missing))
        assert "does not exist" in line and line.endswith("or run hsi data fetch samson")
        assert not (tmp_path / "out").exists()

    def test_library_root_that_is_a_file(self, tmp_path):
        afile = tmp_path / "afile"
        afile.write_text("")
        with pytest.raises(HsiIOError, match="not a folder"):
            load("samson", root=afile)

    def test_fetch_creates_a_missing_root(self, data_dir, tmp_path, monkeypatch):
        from hsi.data.samson import FILE, Samson

        server = tmp_path / "server.mat"
        shutil.copy(data_dir / FILE, server)
        monkeypatch.setattr(Samson, "urls", {FILE: (server.as_uri(),)})
        root = tmp_path / "new" / "data"
        result = _invoke("data", "fetch", "samson", "--root", root)
        assert result.exit_code == 0, result.output
        assert (root / FILE).is_file()
