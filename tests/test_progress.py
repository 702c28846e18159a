"""Progress bars: refreshed as tqdm does on a terminal, every half minute in a log."""

from __future__ import annotations

import io
import time

import pytest

from hsi.progress import LOG_INTERVAL_S, progress_bar, report_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _written_updates(stream, steps: int = 400) -> int:
    """How many times a bar over ``steps`` quick steps redrew itself on ``stream``."""
    bar = progress_bar(total=steps, file=stream, desc="job")
    for _ in range(steps):
        time.sleep(0.001)
        bar.update(1)
    bar.close()
    return stream.getvalue().count("\r")


def test_a_log_gets_a_bar_every_half_minute():
    log = io.StringIO()
    bar = progress_bar(total=10, file=log)
    assert bar.mininterval == LOG_INTERVAL_S == 30.0
    bar.close()


def test_a_terminal_keeps_tqdm_refresh():
    bar = progress_bar(total=10, file=_Terminal())
    assert bar.mininterval == 0.1  # tqdm's default
    bar.close()


def test_log_output_is_a_few_lines_not_one_per_refresh():
    """400 steps over ~0.6 s: a terminal redraws many times, a log only at the start and end."""
    assert _written_updates(_Terminal()) > 2
    assert _written_updates(io.StringIO()) <= 3


def test_an_explicit_interval_wins():
    bar = progress_bar(total=10, file=io.StringIO(), mininterval=1.0)
    assert bar.mininterval == 1.0
    bar.close()


def test_report_progress_cancels():
    from hsi.errors import Cancelled

    report_progress(lambda done, total: None, 1, 2)
    with pytest.raises(Cancelled, match="job cancelled after 1 of 2 steps"):
        report_progress(lambda done, total: True, 1, 2, "job")


def test_tqdm_disable_in_the_environment_turns_every_bar_off(monkeypatch):
    from hsi.progress import progress_bar

    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress_bar(total=10, disable=False).disable
    monkeypatch.delenv("TQDM_DISABLE")
    assert not progress_bar(total=10, disable=False).disable
