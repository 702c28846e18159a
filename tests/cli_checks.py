"""Checks of the command line's error contract, shared by the CLI and hostile-input tests."""

from __future__ import annotations


def one_error_line(result, *names: str, status: int = 2) -> str:
    """The one stderr line ``hsi: error: ...`` of a click ``result`` that exited ``status``,
    naming each of ``names``; no traceback anywhere."""
    assert result.exit_code == status, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hsi: error: "), lines[0]
    assert "Traceback" not in result.output
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]
