"""The download path for real: a local HTTP server on 127.0.0.1 as ``$HSI_DATA_MIRROR``.

The server mirrors the data folder's layout (what ``python -m http.server`` run in a data folder
serves) and can misbehave per file: wrong bytes, a connection closed half-way (with and without
a Content-Length), 404, 500, a reply that is not HTTP, Ctrl-C in the middle.
"""

from __future__ import annotations

import _thread
import hashlib
import http.server
import io
import os
import shutil
import threading
import time
import urllib.parse
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

from hsi.cli.main import cli
from hsi.data import DATASETS, Dataset, Sample, load, sha256sum
from hsi.data.base import MIRROR_ENV_VAR
from hsi.errors import ChecksumError, HsiIOError
from tests.cli_checks import one_error_line

A = bytes(np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8))
B = b"tiny text file\n" * 100


class Tiny(Dataset):
    """Two tiny files, registered for these tests only."""

    name = "tiny_test"
    description = "two tiny files"
    files: ClassVar[dict[str, str]] = {"tiny/a.bin": hashlib.sha256(A).hexdigest(),
                                       "tiny/b.txt": hashlib.sha256(B).hexdigest()}
    # never used: HSI_DATA_MIRROR replaces them (port 9 is 'discard': nothing answers)
    urls: ClassVar[dict[str, tuple[str, ...]]] = {rel: (f"http://127.0.0.1:9/{rel}",)
                                                  for rel in files}
    citation = licence = "test"

    def load(self) -> Sample:
        a = np.frombuffer(self.path("tiny/a.bin").read_bytes(), dtype=np.uint8)
        return Sample(cube=None, labels=a.reshape(500, 600), class_names=["x"], name=self.name)


class Mirror:
    """A threaded HTTP server over ``root``; ``modes[rel]`` makes one file misbehave."""

    def __init__(self, root: Path) -> None:
        self.root, self.modes, self.requests = root, {}, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                rel = urllib.parse.unquote(self.path.lstrip("/"))
                mirror.requests.append(rel)
                mode = mirror.modes.get(rel, "ok")
                path = mirror.root / rel
                if mode in ("404", "500") or not path.is_file():
                    code = 500 if mode == "500" else 404
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                if mode == "garbage":
                    self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
                    self.close_connection = True
                    return
                if mode == "wrong":
                    data = data[:-1] + bytes([data[-1] ^ 1])
                self.send_response(200)
                if mode == "chunked":  # a chunked reply cut off inside a chunk
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"%x\r\n" % len(data) + data[: len(data) // 2])
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mode in ("truncate", "interrupt"):
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    if mode == "interrupt":  # Ctrl-C while the client reads
                        _thread.interrupt_main()
                        time.sleep(0.3)
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    def add(self, rel: str, data: bytes | Path) -> None:
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copy(data, dest)
        else:
            dest.write_bytes(data)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """The tiny dataset registered and served; HSI_DATA_MIRROR pointing at the server."""
    server = Mirror(tmp_path / "mirror")
    server.add("tiny/a.bin", A)
    server.add("tiny/b.txt", B)
    monkeypatch.setitem(DATASETS, Tiny.name, Tiny)
    monkeypatch.setenv(MIRROR_ENV_VAR, server.url)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _left(root: Path) -> list[str]:
    """Every file under ``root`` (temporaries included), relative."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class TestFetch:
    def test_real_datasets_from_the_mirror_then_load(self, mirror, data_dir, tmp_path):
        for name in ("salinas_a", "samson"):
            for rel in DATASETS[name].files:
                mirror.add(rel, data_dir / rel)
        root = tmp_path / "data"
        result = _invoke("data", "fetch", "salinas_a", "samson", "--root", root)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            f"salinas_a: 3 downloaded, 3 of 3 files verified in {root}",
            f"samson: 1 downloaded, 1 of 1 files verified in {root}"]
        wanted = sorted([*DATASETS["salinas_a"].files, "samson/Samson.mat"])
        assert sorted(mirror.requests) == wanted and _left(root) == wanted
        assert load("salinas_a", root=root).cube.shape == (204, 83, 86)
        assert load("samson", root=root).abundances.shape == (3, 95, 95)
        assert _invoke("data", "verify", "--root", root).exit_code == 0

    def test_rerun_downloads_nothing(self, mirror, tmp_path):
        root = tmp_path / "data"
        assert _invoke("data", "fetch", "tiny_test", "--root", root).exit_code == 0
        assert len(mirror.requests) == 2
        again = _invoke("data", "fetch", "tiny_test", "--root", root)
        assert again.stdout.startswith("tiny_test: 0 downloaded, 2 of 2 files verified")
        assert len(mirror.requests) == 2

    def test_library_load_with_download(self, mirror, tmp_path):
        sample = load("tiny_test", root=tmp_path / "new" / "data", download=True)
        assert sample.labels.shape == (500, 600)

    def test_mirror_may_be_a_local_folder(self, mirror, tmp_path, monkeypatch):
        monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror.root))
        root = tmp_path / "data"
        Tiny(root=root, download=True)
        assert _left(root) == ["tiny/a.bin", "tiny/b.txt"] and not mirror.requests

    def test_download_urls(self, mirror, monkeypatch):
        assert Tiny.download_urls("tiny/a.bin") == (f"{mirror.url}/tiny/a.bin",)
        monkeypatch.setenv(MIRROR_ENV_VAR, "https://example.org/hsi/")
        from hsi.data.spectral_responses import MhfNetSrf

        rel = next(r for r in MhfNetSrf.files if " " in r)
        assert MhfNetSrf.download_urls(rel) == (
            "https://example.org/hsi/" + urllib.parse.quote(rel),)
        monkeypatch.delenv(MIRROR_ENV_VAR)
        assert Tiny.download_urls("tiny/a.bin") == Tiny.urls["tiny/a.bin"]


class TestFailures:
    def _fails(self, mirror, tmp_path, mode, *words):
        mirror.modes["tiny/a.bin"] = mode
        root = tmp_path / "data"
        line = one_error_line(_invoke("data", "fetch", "tiny_test", "--root", root),
                              f"{mirror.url}/tiny/a.bin", *words)
        left = _left(root) if root.exists() else []  # temporaries included
        assert "tiny/a.bin" not in left and not any(p.endswith(".part") for p in left)
        # the server mended: a rerun fetches again cleanly
        mirror.modes.clear()
        again = _invoke("data", "fetch", "tiny_test", "--root", root)
        assert again.exit_code == 0, again.output
        assert _left(root) == ["tiny/a.bin", "tiny/b.txt"]
        return line

    def test_wrong_bytes(self, mirror, tmp_path):
        line = self._fails(mirror, tmp_path, "wrong", "sha256", "tiny/a.bin")
        assert "not saved" in line

    def test_connection_closed_half_way(self, mirror, tmp_path):
        """Not a 'sha256 differs' (which says the server has another version)."""
        line = self._fails(mirror, tmp_path, "truncate", "download failed")
        assert "connection closed after 150,000 of 300,000 bytes" in line
        assert "sha256" not in line

    def test_chunked_reply_cut_off(self, mirror, tmp_path):
        line = self._fails(mirror, tmp_path, "chunked", "download failed")
        assert "connection closed" in line

    def test_reply_that_is_not_http(self, mirror, tmp_path):
        self._fails(mirror, tmp_path, "garbage", "download failed", "not an HTTP reply")

    @pytest.mark.parametrize("code", ["404", "500"])
    def test_http_error(self, mirror, tmp_path, code):
        line = self._fails(mirror, tmp_path, code, "download failed", f"HTTP {code}")
        assert MIRROR_ENV_VAR in line  # why that URL was asked

    def test_server_gone(self, mirror, tmp_path, monkeypatch):
        monkeypatch.setenv(MIRROR_ENV_VAR, "http://127.0.0.1:9")
        line = one_error_line(_invoke("data", "fetch", "tiny_test", "--root", tmp_path / "d"),
                              "http://127.0.0.1:9/tiny/a.bin", "download failed")
        assert "Errno" not in line
        assert not (tmp_path / "d").exists()

    def test_library_errors(self, mirror, tmp_path):
        mirror.modes["tiny/a.bin"] = "wrong"
        with pytest.raises(ChecksumError, match=r"tiny/a\.bin"):
            load("tiny_test", root=tmp_path / "data", download=True)
        mirror.modes["tiny/a.bin"] = "truncate"
        with pytest.raises(HsiIOError, match="connection closed"):
            load("tiny_test", root=tmp_path / "data", download=True)
        assert not (tmp_path / "data" / "tiny" / "a.bin").exists()


@pytest.mark.usefixtures("python_sigint")
class TestInterrupt:
    def test_ctrl_c_leaves_no_partial_file(self, mirror, tmp_path):
        mirror.modes["tiny/a.bin"] = "interrupt"
        root = tmp_path / "data"
        with pytest.raises(KeyboardInterrupt):
            Tiny(root=root, download=True)
        assert not root.exists() or _left(root) == []

    def test_ctrl_c_from_the_command(self, mirror, tmp_path):
        mirror.modes["tiny/b.txt"] = "interrupt"
        root = tmp_path / "data"
        result = _invoke("data", "fetch", "tiny_test", "--root", root)
        assert result.exit_code == 130 and "hsi: interrupted" in result.stderr
        assert _left(root) == ["tiny/a.bin"]  # the file completed before Ctrl-C stays

    def test_temporary_of_a_killed_download_is_removed(self, mirror, tmp_path):
        root = tmp_path / "data"
        stale = root / "tiny" / ".a.bin.999999999.abcd.bin.part"  # no such process
        stale.parent.mkdir(parents=True)
        stale.write_bytes(A[:1000])
        Tiny(root=root, download=True)
        assert _left(root) == ["tiny/a.bin", "tiny/b.txt"]


class TestProgress:
    def test_bar_on_a_terminal(self, mirror, tmp_path, monkeypatch):
        class Terminal(io.StringIO):
            def isatty(self):
                return True

        monkeypatch.delenv("TQDM_DISABLE", raising=False)
        err = Terminal()
        monkeypatch.setattr("sys.stderr", err)
        Tiny(root=tmp_path / "data", download=True)
        shown = err.getvalue()
        assert "a.bin" in shown and "293k" in shown  # 300 000 B in KiB

    def test_no_bar_in_a_log(self, mirror, tmp_path):
        result = _invoke("data", "fetch", "tiny_test", "--root", tmp_path / "data")
        assert result.exit_code == 0 and result.stderr == ""


class TestVerify:
    def test_edited_file(self, mirror, tmp_path):
        root = tmp_path / "data"
        assert _invoke("data", "fetch", "tiny_test", "--root", root).exit_code == 0
        with open(root / "tiny" / "b.txt", "a") as f:
            f.write("edited\n")
        for args in (("tiny_test",), ()):
            result = _invoke("data", "verify", *args, "--root", root)
            assert result.exit_code == 1
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and str(root / "tiny" / "b.txt") in lines[0]
            assert "sha256" in lines[0]
        line = one_error_line(_invoke("data", "fetch", "tiny_test", "--root", root),
                              str(root / "tiny" / "b.txt"))
        assert "delete it to download it again" in line
        os.remove(root / "tiny" / "b.txt")
        assert _invoke("data", "fetch", "tiny_test", "--root", root).exit_code == 0
        assert sha256sum(root / "tiny" / "b.txt") == Tiny.files["tiny/b.txt"]

    def test_a_file_shared_with_another_dataset_is_not_a_partial_dataset(
            self, mirror, data_dir, tmp_path):
        """salinas_a needs indian_pines/92AV3C.spc: fetching it does not make indian_pines
        '3 files missing' for a verify of everything present."""
        for rel in DATASETS["salinas_a"].files:
            mirror.add(rel, data_dir / rel)
        root = tmp_path / "data"
        assert _invoke("data", "fetch", "salinas_a", "--root", root).exit_code == 0
        result = _invoke("data", "verify", "--root", root)
        assert result.exit_code == 0, result.output
        assert "indian_pines" in result.stdout.splitlines()[-1]  # among the ones not present
        assert "indian_pines:" not in result.stdout and "indian_pines:" not in result.stderr
        assert "salinas_a: ok (3 files)" in result.stdout
        (root / "indian_pines" / "Indian_pines_gt.mat").write_bytes(b"x")  # partly there now
        assert _invoke("data", "verify", "--root", root).exit_code == 1


class TestDataFolder:
    def test_folder_that_cannot_be_created(self, mirror, tmp_path):
        afile = tmp_path / "afile"
        afile.write_text("")
        line = one_error_line(_invoke("data", "fetch", "tiny_test", "--root", afile / "data"),
                              str(afile))
        assert not mirror.requests and "Traceback" not in line

    def test_read_only_folder(self, mirror, tmp_path):
        root = tmp_path / "data"
        root.mkdir()
        root.chmod(0o555)
        try:
            if os.access(root, os.W_OK):
                pytest.skip("this user writes into read-only folders (root)")
            line = one_error_line(_invoke("data", "fetch", "tiny_test", "--root", root),
                                  str(root / "tiny"), "Permission denied")
        finally:
            root.chmod(0o755)
        assert _left(root) == [] and not mirror.requests
        assert "HSI_DATA_MIRROR" not in line  # the folder's fault, not the mirror's


def test_a_data_folder_that_cannot_be_made_is_named_as_the_data_folder(tmp_path, monkeypatch):
    """Was ``…: cannot create output folder``: a user fetching data wrote no output."""
    blocker = tmp_path / "afile"
    blocker.write_text("")
    mirror = tmp_path / "mirror"
    monkeypatch.setenv("HSI_DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    result = CliRunner().invoke(cli, ["data", "fetch", "samson"])
    one_error_line(result, "cannot create data folder of dataset 'samson' (HSI_DATA_DIR)",
                   "afile is not a folder")
    assert "output folder" not in result.output
