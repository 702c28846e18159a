"""Fixtures for the INFN tests: small real crops of Salinas-A and their Wald pairs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def salinas():
    """The Salinas-A cube (204 bands, 83×86, reflectance) shipped in the package: the same
    pixels as ``hsi.data.load("salinas_a")``, so these tests run without the data folder."""
    from hsi.data import sample_cube

    return sample_cube()


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every fusion test on one torch thread (:func:`tests.conftest.one_torch_thread`)."""
