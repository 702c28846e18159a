"""The ``hsi`` command makes torch's OpenMP threads wait passively unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("import hsi.cli.main, os, sys; "
         "assert 'torch' not in sys.modules; print(os.environ['OMP_WAIT_POLICY'])")


@pytest.mark.parametrize("given,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_omp_wait_policy_is_set_before_torch_loads(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == expected
