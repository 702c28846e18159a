"""Atomic writes: all or none, even when Ctrl-C comes while the files are renamed."""

from __future__ import annotations

import os
import signal

import pytest

import hsi.io.atomic as atomic


def test_ctrl_c_during_the_renames_leaves_every_file(tmp_path, monkeypatch, python_sigint):
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        calls.append(dst)
        if len(calls) == 1:  # Ctrl-C between the first and the second rename
            os.kill(os.getpid(), signal.SIGINT)
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace_then_interrupt)
    dests = [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"]
    with pytest.raises(KeyboardInterrupt):  # delivered once every file is in place
        with atomic.atomic_files(dests) as tmps:
            for tmp, text in zip(tmps, "abc", strict=True):
                tmp.write_text(text)
    assert len(calls) == 3
    assert [p.read_text() for p in dests] == ["a", "b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]


def test_a_failure_before_the_renames_leaves_no_file_and_no_folder(tmp_path):
    dests = [tmp_path / "new" / "a.txt", tmp_path / "new" / "b.txt"]
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_files(dests) as tmps:
            tmps[0].write_text("a")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_write_error_names_the_destination_whose_temporary_failed(tmp_path):
    dests = [tmp_path / "a.tif", tmp_path / "b.tif"]
    with pytest.raises(atomic.HsiIOError, match=r"a\.tif: write failed \(bad block\)"):
        with atomic.atomic_files(dests) as tmps:
            raise OSError(5, "bad block", str(tmps[0]))
    assert list(tmp_path.iterdir()) == []
