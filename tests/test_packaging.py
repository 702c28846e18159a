"""hsikit as a user installs it: the sdist and the wheel built from this working tree.

The build runs as ``python -m build`` does (sdist from the tree, wheel from the unpacked sdist),
with the installed setuptools and no network, in a temporary copy of the files git tracks (and
new files it does not ignore), so nothing is left in the checkout. Skipped without git or
without setuptools >= 77 (pyproject's build backend; the ``dev`` extra installs it).
"""

from __future__ import annotations

import ast
import email.parser
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Files beside the package that the sdist must hold for a build (and the long description).
SDIST_TOP = {"pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "PKG-INFO"}

#: Package data read at run time (hsi.data.shipped, hsi.fusion.api, hsi.srf_presets,
#: hsi.data.cave_database, the napari plugin's manifest).
RUNTIME_DATA = {
    "hsi/data/sample/salinas_a.tif",
    "hsi/data/sample/salinas_a_labels.tif",
    "hsi/data/checkpoints/infn_aviris204_sentinel2_x4.pt",
    "hsi/data/checkpoints/infn_cave31_nikond700_x4.pt",
    "hsi/data/srf/nikon_d700.csv",
    "hsi/data/manifests/cave.sha256",
    "hsi/viewer/napari.yaml",
}

#: Files a checkout gathers beside the shipped ones; none may reach the sdist or the wheel.
STRAYS = (
    "hsi/data/sample/salinas_a.tif.aux.xml",  # GDAL's statistics sidecar
    "hsi/data/checkpoints/notes.txt",
    "hsi/data/srf/nikon_d700.csv~",
    "hsi/__pycache__/cube.cpython-311.pyc",
)


def _setuptools_version() -> tuple[int, ...] | None:
    try:
        version = metadata.version("setuptools")
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


def _source_files() -> list[str]:
    """The repository's files as a fresh clone (plus new, not ignored, files) would have them."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know the repository's files")
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode()
    return sorted(f for f in set(out.split("\0")) if f and (REPO / f).is_file())


def _backend(cwd: Path, hook: str, out: Path) -> str:
    """Run setuptools.build_meta's ``hook`` in ``cwd``; the name of the file it wrote."""
    code = f"import sys, setuptools.build_meta as b; print(b.{hook}(sys.argv[1]))"
    run = subprocess.run([sys.executable, "-c", code, str(out)], cwd=cwd, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, f"{hook} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout.strip().splitlines()[-1]


class Built:
    def __init__(self, tmp: Path):
        version = _setuptools_version()
        if version is None or version < (77,):
            pytest.skip("needs setuptools >= 77, pyproject's build backend ([dev] extra)")
        self.sources = _source_files()
        tree = tmp / "tree"
        for rel in self.sources:
            dest = tree / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest)
        for rel in STRAYS:
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(b"not to be shipped\n")
        dist = tmp / "dist"
        dist.mkdir()
        self.sdist = dist / _backend(tree, "build_sdist", dist)
        with tarfile.open(self.sdist) as tar:
            files = [m.name for m in tar.getmembers() if m.isfile()]
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp / "unpacked", **safe)
        root = files[0].split("/")[0]
        self.sdist_files = {f.split("/", 1)[1] for f in files}
        self.wheel = dist / _backend(tmp / "unpacked" / root, "build_wheel", dist)
        with zipfile.ZipFile(self.wheel) as whl:
            self.wheel_files = {n for n in whl.namelist() if not n.endswith("/")}
            info = next(n.split("/")[0] for n in self.wheel_files if ".dist-info/" in n)
            self.metadata = email.parser.Parser().parsestr(
                whl.read(f"{info}/METADATA").decode())
            self.entry_points = whl.read(f"{info}/entry_points.txt").decode()
            self.napari_yaml = whl.read("hsi/viewer/napari.yaml").decode()
        self.package = {f for f in self.sources if f.startswith("hsi/")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return Built(tmp_path_factory.mktemp("packaging"))


def _version_literal() -> str:
    tree = ast.parse((REPO / "hsi" / "_version.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "__version__":
            return node.value.value
    raise AssertionError("hsi/_version.py sets no __version__ literal")


def test_wheel_holds_the_package_and_its_data(built):
    assert RUNTIME_DATA <= built.package, "a run-time data file is no longer in the repository"
    assert sorted(built.package - built.wheel_files) == [], "missing from the wheel"


def test_wheel_holds_nothing_else(built):
    extra = {f for f in built.wheel_files if ".dist-info/" not in f} - built.package
    assert sorted(extra) == [], "in the wheel but not a file of the package"
    assert not [f for f in built.wheel_files if f.startswith(("tests/", "benchmarks/"))]


def test_sdist_holds_what_a_build_needs_and_no_partial_tests(built):
    assert sorted(SDIST_TOP - built.sdist_files) == []
    assert sorted(built.package - built.sdist_files) == [], "missing from the sdist"
    stray = [f for f in built.sdist_files if f.startswith(("tests/", "benchmarks/"))
             or f in STRAYS]
    assert stray == []


def test_metadata(built):
    meta = built.metadata
    assert meta["Name"] == "hsikit"
    assert meta["Version"] == _version_literal()
    assert built.wheel.name == f"hsikit-{_version_literal()}-py3-none-any.whl"
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().strip()[:200] == (REPO / "README.md").read_text().strip()[:200]
    assert "Framework :: napari" in meta.get_all("Classifier", [])
    requires = meta.get_all("Requires-Dist")
    names = {re.match(r"[A-Za-z0-9_.\-]+(\[[^\]]*\])?", r).group(0).lower()
             for r in requires if "extra ==" not in r}
    assert {"torch", "kornia", "rasterio", "spectral", "pydensecrf2", "dask[distributed]",
            "click", "numpy"} <= names
    assert any(r.startswith("napari") and 'extra == "viewer"' in r for r in requires)
    assert "napari" not in {n.split("[")[0] for n in names}, "napari must stay an extra"


def test_entry_points_and_napari_manifest(built):
    assert re.search(r"^\[console_scripts\]\nhsi = hsi\.cli\.main:main$", built.entry_points,
                     re.M)
    assert re.search(r"^\[napari\.manifest\]\nhsikit = hsi\.viewer:napari\.yaml$",
                     built.entry_points, re.M)
    yaml = built.napari_yaml
    assert re.search(r"^name: hsikit$", yaml, re.M), "npe2 wants the distribution's name"
    targets = re.findall(r"(?:python_name|on_activate):\s*([\w.]+):\w+", yaml)
    assert targets
    for module in targets:
        path = module.replace(".", "/")
        assert {f"{path}.py", f"{path}/__init__.py"} & built.wheel_files, module


def test_build_backend_needs_only_setuptools():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    requires = pyproject["build-system"]["requires"]
    assert [r for r in requires if not r.startswith("setuptools")] == [], (
        "setuptools >= 70.1 builds wheels itself; another build requirement only makes "
        "`python -m build --no-isolation` fail where it is missing")
    assert "version" in pyproject["project"].get("dynamic", []), (
        "the version is written once, in hsi/_version.py")
