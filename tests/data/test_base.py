"""Data folder, registry, verification and the (offline) download path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hsi.data import DATASETS, base, get_dataset, load, sha256sum
from hsi.data.abu import ABU_FILES
from hsi.data.cave_database import CAVE_SCENES
from hsi.data.indian_pines import IndianPines
from hsi.data.salinas_a import SalinasA
from hsi.errors import ChecksumError, DatasetNotFoundError, HsiIOError


class TestDataDir:
    def test_env_var_wins(self, monkeypatch, tmp_path):
        monkeypatch.setenv("HSI_DATA_DIR", str(tmp_path))
        assert base.data_dir() == tmp_path

    def test_shared_data_beside_repo(self, monkeypatch, tmp_path):
        monkeypatch.delenv("HSI_DATA_DIR", raising=False)
        (tmp_path / "shared" / "data").mkdir(parents=True)
        (tmp_path / "repo").mkdir()
        (tmp_path / "repo" / "pyproject.toml").write_text("")
        monkeypatch.setattr(base, "REPO_ROOT", tmp_path / "repo")
        assert base.data_dir() == tmp_path / "shared" / "data"

    def test_an_installed_package_does_not_look_beside_site_packages(self, monkeypatch,
                                                                     tmp_path):
        """Installed, REPO_ROOT is the ``lib/python3.x`` folder: ``../shared/data`` there is
        nobody's data folder."""
        monkeypatch.delenv("HSI_DATA_DIR", raising=False)
        (tmp_path / "shared" / "data").mkdir(parents=True)
        (tmp_path / "site").mkdir()  # no pyproject.toml: not a checkout
        monkeypatch.setattr(base, "REPO_ROOT", tmp_path / "site")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert base.data_dir() == tmp_path / "cache" / "hsikit"

    def test_user_cache_otherwise(self, monkeypatch, tmp_path):
        monkeypatch.delenv("HSI_DATA_DIR", raising=False)
        monkeypatch.setattr(base, "REPO_ROOT", tmp_path / "repo")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert base.data_dir() == tmp_path / "cache" / "hsikit"


class TestRegistry:
    def test_names(self):
        cave = {f"cave_{scene}" for scene in CAVE_SCENES}
        abu = {s.replace("-", "_") for s in ABU_FILES}
        assert set(DATASETS) == abu | {"salinas_a", "samson", "jasper_ridge", "indian_pines",
                                 "pavia_university", "cave_partial_balloons",
                                 "cave_partial_oil_painting", "nikon_d700", "mhf_net_srf"} | cave

    def test_every_dataset_documents_itself(self):
        for name, cls in DATASETS.items():
            assert cls.name == name
            assert cls.files and cls.citation and cls.licence and cls.description
            assert set(cls.urls) == set(cls.files), name
            for sha in cls.files.values():
                assert len(sha) == 64 and int(sha, 16) >= 0
            for urls in cls.urls.values():
                assert all(u.startswith(("https://", "http://")) for u in urls)

    def test_unknown_name(self):
        with pytest.raises(DatasetNotFoundError, match=r"no dataset named 'salinas'.*salinas_a"):
            get_dataset("salinas")

    def test_github_raw_quotes_spaces(self):
        url = base.github_raw("o/r", "abc", "a dir/response coefficient.mat")
        assert url == "https://raw.githubusercontent.com/o/r/abc/a%20dir/response%20coefficient.mat"


class TestNotFound:
    def test_message_names_root_and_fix(self, tmp_path):
        with pytest.raises(DatasetNotFoundError) as info:
            load("samson", root=tmp_path)
        msg = str(info.value)
        assert str(tmp_path) in msg and "samson/Samson.mat" in msg
        assert "as root=" in msg and "download=True" in msg  # the root given is the fix
        assert isinstance(info.value, FileNotFoundError)

    def test_message_without_a_root_names_the_environment_variable(self, tmp_path,
                                                                    monkeypatch):
        monkeypatch.setenv("HSI_DATA_DIR", str(tmp_path))
        with pytest.raises(DatasetNotFoundError, match="set HSI_DATA_DIR to the folder"):
            load("samson")


def _remote(tmp_path: Path, data_dir: Path, cls) -> dict[str, tuple[str, ...]]:
    """Copy the real files into a fake 'server' folder and return file:// URLs to them."""
    server = tmp_path / "server"
    urls = {}
    for rel in cls.files:
        dest = server / rel.replace("/", "__")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / rel, dest)
        urls[rel] = (dest.as_uri(),)
    return urls


class TestDownload:
    def test_download_then_load(self, tmp_path, data_dir, monkeypatch):
        monkeypatch.setattr(SalinasA, "urls", _remote(tmp_path, data_dir, SalinasA))
        root = tmp_path / "data"
        sample = load("salinas_a", root=root, download=True)
        for rel, sha in SalinasA.files.items():
            assert sha256sum(root / rel) == sha
        assert sample.cube.shape == (204, 83, 86)
        assert sorted(p.name for p in (root / "salinas_a").iterdir()) == [
            "SalinasA_gt.mat", "salinasA_corrected.mat"]

    def test_wrong_bytes_raise_and_leave_nothing(self, tmp_path, data_dir, monkeypatch):
        urls = _remote(tmp_path, data_dir, IndianPines)
        bad = tmp_path / "bad.mat"
        bad.write_bytes(b"not the ground truth")
        urls["indian_pines/Indian_pines_gt.mat"] = (bad.as_uri(),)
        monkeypatch.setattr(IndianPines, "urls", urls)
        root = tmp_path / "data"
        with pytest.raises(ChecksumError, match=r"Indian_pines_gt\.mat"):
            IndianPines(root=root, download=True)
        assert not (root / "indian_pines" / "Indian_pines_gt.mat").exists()
        assert [p.name for p in (root / "indian_pines").iterdir() if p.name.startswith(".")] == []

    def test_second_mirror_used_when_first_is_wrong(self, tmp_path, data_dir, monkeypatch):
        urls = _remote(tmp_path, data_dir, IndianPines)
        bad = tmp_path / "bad.mat"
        bad.write_bytes(b"stale mirror")
        rel = "indian_pines/Indian_pines_gt.mat"
        urls[rel] = (bad.as_uri(), *urls[rel])
        monkeypatch.setattr(IndianPines, "urls", urls)
        sample = IndianPines(root=tmp_path / "data", download=True).load()
        assert sample.labels.shape == (145, 145)

    def test_member_of_a_zip_archive(self, tmp_path, data_dir, monkeypatch):
        import zipfile

        from hsi.data.indian_pines import CUBE, WHEEL_MEMBER

        urls = _remote(tmp_path, data_dir, IndianPines)
        wheel = tmp_path / "tensorly-0.10.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.write(data_dir / CUBE, WHEEL_MEMBER)
            z.writestr("tensorly/__init__.py", "")
        urls[CUBE] = (f"{wheel.as_uri()}#member={WHEEL_MEMBER}",)
        assert IndianPines.urls[CUBE][0].endswith(f"#member={WHEEL_MEMBER}")
        monkeypatch.setattr(IndianPines, "urls", urls)
        root = tmp_path / "data"
        sample = IndianPines(root=root, download=True, checksum=True).load()
        assert sample.cube.shape == (200, 145, 145)
        assert sorted(p.name for p in (root / "indian_pines").iterdir()) == sorted(
            rel.split("/")[1] for rel in IndianPines.files)

    def test_download_stops_at_the_declared_size(self, tmp_path, data_dir, monkeypatch):
        monkeypatch.setattr(IndianPines, "urls", _remote(tmp_path, data_dir, IndianPines))
        gt = "indian_pines/Indian_pines_gt.mat"
        monkeypatch.setattr(IndianPines, "sizes", {**IndianPines.sizes, gt: 100})
        root = tmp_path / "data"
        with pytest.raises(HsiIOError, match="larger than the 100 bytes expected"):
            IndianPines(root=root, download=True)
        assert not (root / gt).exists()

    def test_unreachable_url(self, tmp_path, monkeypatch):
        monkeypatch.setattr(IndianPines, "urls", {
            rel: ((tmp_path / "nowhere" / "x").as_uri(),) for rel in IndianPines.files})
        with pytest.raises(HsiIOError, match="download failed") as info:
            IndianPines(root=tmp_path / "data", download=True)
        # the URL's failure, not a failed write of the temporary file it was copied to
        message = str(info.value)
        assert message.startswith((tmp_path / "nowhere" / "x").as_uri())
        assert "write failed" not in message and ".part" not in message
        assert not (tmp_path / "data").exists()  # no empty folders left behind either


class TestVerify:
    def test_real_files_pass(self, data_dir):
        SalinasA(root=data_dir).verify()
        assert SalinasA.check_files(data_dir) == []

    def test_corrupt_copy(self, tmp_path, data_dir):
        for rel in IndianPines.files:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(data_dir / rel, tmp_path / rel)
        target = tmp_path / "indian_pines" / "92AV3C.spc"
        target.chmod(0o644)
        target.write_text(target.read_text().replace("400.019989", "400.019990"))
        problems = IndianPines.check_files(tmp_path)
        assert len(problems) == 1 and str(target) in problems[0] and "sha256" in problems[0]
        with pytest.raises(ChecksumError, match=r"92AV3C\.spc"):
            IndianPines(root=tmp_path).verify()
        with pytest.raises(ChecksumError):
            IndianPines(root=tmp_path, checksum=True)

    def test_sizes(self, data_dir, tmp_path):
        assert IndianPines.size_bytes(data_dir) == 8410128 + 1125 + 21153 + 10976
        assert IndianPines.size_bytes(tmp_path) == 0
        assert IndianPines.missing_files(tmp_path) == list(IndianPines.files)
