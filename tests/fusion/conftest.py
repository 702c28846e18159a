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
def _one_thread():
    """Keep the shared CPU usable by others and make timings of the file comparable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
