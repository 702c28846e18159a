"""pyproject.toml and environment.yml must list the same dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]

#: conda-forge names that differ from PyPI names.
CONDA_TO_PYPI = {"pytorch": "torch"}

#: Conda entries that are not dependencies of hsikit itself.
NOT_DEPENDENCIES = {"python", "pip"}

_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*(.*?)\s*(#.*)?$")


def parse(requirement: str) -> tuple[str, str]:
    """``"dask[distributed] >= 2024.1"`` -> ``("dask", ">=2024.1")``: name normalised, no extras.

    A conda pin ``name=1.2`` is read as ``==1.2``.
    """
    m = _REQ.match(requirement)
    assert m, f"cannot parse requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    spec = m.group(3).replace(" ", "")
    if re.match(r"^=[^=]", spec):
        spec = "=" + spec
    return CONDA_TO_PYPI.get(name, name), spec


def pyproject_requirements(text: str) -> dict[str, str]:
    project = tomllib.loads(text)["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(parse(r) for r in reqs)


def environment_requirements(text: str) -> dict[str, str]:
    env = yaml.safe_load(text)
    reqs: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs += [r for r in dep.get("pip", []) if not r.startswith("-")]
        else:
            reqs.append(dep)
    parsed = dict(parse(r) for r in reqs)
    return {k: v for k, v in parsed.items() if k not in NOT_DEPENDENCIES}


def test_parse():
    assert parse("dask[distributed]>=2024.1") == ("dask", ">=2024.1")
    assert parse("pytorch >= 2.3  # cpu") == ("torch", ">=2.3")
    assert parse("Scikit_Image>=0.22") == ("scikit-image", ">=0.22")
    assert parse("python=3.11") == ("python", "==3.11")


def test_environment_matches_pyproject():
    want = pyproject_requirements((REPO / "pyproject.toml").read_text())
    got = environment_requirements((REPO / "environment.yml").read_text())
    assert sorted(set(want) - set(got)) == [], "in pyproject.toml only"
    assert sorted(set(got) - set(want)) == [], "in environment.yml only"
    assert {k: got[k] for k in want if got[k] != want[k]} == {}, "different version bounds"


def test_mismatch_is_detected():
    pyproject = '[project]\ndependencies = ["numpy>=1.24", "torch>=2.3"]\n'
    env = "dependencies:\n  - python=3.11\n  - numpy>=1.20\n  - pip:\n    - rich\n"
    want, got = pyproject_requirements(pyproject), environment_requirements(env)
    assert set(want) ^ set(got) == {"torch", "rich"}
    assert want["numpy"] != got["numpy"]


def test_environment_pins_python_311():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert env["channels"] == ["conda-forge"]
