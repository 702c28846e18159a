"""The ``hsi`` console script: the command's exit status, and no collection at the exit."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

# atexit handlers run after main() has returned (by SystemExit), just before the shutdown
PROBE = ("import atexit, gc; from hsi.cli.main import main; "
         "atexit.register(lambda: print('frozen objects', gc.get_freeze_count())); main()")


def test_console_script_runs_main():
    scripts = [e for e in importlib.metadata.entry_points(group="console_scripts")
               if e.name == "hsi"]
    assert [e.value for e in scripts] == ["hsi.cli.main:main"]


def test_main_keeps_the_exit_status_and_freezes_the_heap_before_the_shutdown(tmp_path):
    missing = tmp_path / "missing.tif"
    out = subprocess.run([sys.executable, "-c", PROBE, "info", str(missing)],
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("hsi: error:") and "missing.tif" in out.stderr
    frozen = int(out.stdout.split("frozen objects")[1])
    assert frozen > 1000  # the interpreter's, click's and hsi's objects, out of the collector


def test_main_exits_zero_on_success():
    out = subprocess.run([sys.executable, "-c", PROBE, "--version"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "version" in out.stdout
