"""Run Python code in a fresh interpreter (what a new process imports and prints)."""

from __future__ import annotations

import subprocess
import sys


def fresh_stdout(code: str) -> str:
    """The stdout of ``python -c code`` in a fresh interpreter; fails the test when it exits
    non-zero (its stderr's tail in the message)."""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout
