"""Hostile checkpoints: pickled code, absurd sizes, junk, the wrong kind. Refused in one line."""

from __future__ import annotations

import os

import pytest
import torch


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def pair(work, tmp_path):
    import hsi
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(hsi.open(work["cube"]), 4, "nikon_d700")
    folder = work["cube"].parent
    return hsi.save(lr, folder / "lr.tif"), hsi.save(msi, folder / "hr.tif")


def _valid_checkpoint(path, **config_changes):
    from hsi.checkpoint import save_checkpoint
    from hsi.fusion import INFN, InfnConfig

    model = INFN(InfnConfig(hsi_bands=8, msi_bands=3, hidden=8, depth=1))
    save_checkpoint(path, kind="infn", model=model, config=model.config, meta={})
    if config_changes:
        payload = torch.load(path, weights_only=True)
        payload["config"].update(config_changes)
        torch.save(payload, path)
    return path


def _bad_checkpoints(folder):
    marker = folder / "code-ran"
    torch.save({"kind": "infn", "state_dict": {}, "x": _Payload(marker)}, folder / "pickle.pt")
    (folder / "junk.pt").write_bytes(os.urandom(2048))
    (folder / "empty.pt").write_bytes(b"")
    _valid_checkpoint(folder / "huge.pt", hidden=10**9)
    _valid_checkpoint(folder / "negative.pt", depth=-3)
    _valid_checkpoint(folder / "float.pt", hsi_bands=8.5)
    ok = _valid_checkpoint(folder / "trunc.pt")
    (folder / "truncated.pt").write_bytes(ok.read_bytes()[:500])
    payload = torch.load(ok, weights_only=True)
    payload["kind"] = "gan"
    torch.save(payload, folder / "classifier.pt")
    return marker, {"pickle": "refused for safety", "junk": "not a readable checkpoint",
                    "empty": "not a readable checkpoint", "huge": "InfnConfig.hidden",
                    "negative": "InfnConfig.depth", "float": "InfnConfig.hsi_bands",
                    "truncated": "not a readable checkpoint", "classifier": "expected 'infn'"}


@pytest.mark.parametrize("case", ["pickle", "junk", "empty", "huge", "negative", "float",
                                  "truncated", "classifier"])
def test_bad_checkpoint_is_refused(case, pair, work, run_hostile):
    folder = work["cube"].parent
    marker, expected = _bad_checkpoints(folder)
    lr, hr = pair
    line = run_hostile(["fuse", lr, hr, "-o", folder.parent / "out.tif", "--model",
                        folder / f"{case}.pt", "--ratio", "4"], folder, (f"{case}.pt",))
    assert expected[case] in line
    assert not marker.exists()  # the pickled payload never ran
    assert not (folder.parent / "out.tif").exists()


def test_format_is_told_from_the_first_bytes(tmp_path):
    """``checkpoint_format_problem`` passes what torch.save writes (a zip archive; a pickle for
    torch < 1.6) and names what it is not, without torch; ``load_checkpoint`` says the same."""
    from hsi.checkpoint import checkpoint_format_problem, load_checkpoint
    from hsi.errors import ModelError

    torch.save({"a": torch.zeros(2)}, tmp_path / "zip.pt")
    torch.save({"a": 1}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    (tmp_path / "scene.tif").write_bytes(b"II*\x00" + bytes(60))
    (tmp_path / "empty.pt").write_bytes(b"")
    assert checkpoint_format_problem(tmp_path / "zip.pt") is None
    assert checkpoint_format_problem(tmp_path / "legacy.pt") is None
    assert checkpoint_format_problem(tmp_path / "empty.pt") == "the file is empty"
    assert "neither" in checkpoint_format_problem(tmp_path / "scene.tif")
    with pytest.raises(ModelError, match=r"scene\.tif: not a readable checkpoint \(torch\.save "
                                         r"writes a zip archive or a pickle, this file is "
                                         r"neither\)"):
        load_checkpoint(tmp_path / "scene.tif", "infn")
