"""``hsi fuse-batch`` / ``hsi classify-batch``: a bad ``--scheduler`` or ``--device`` is one line
on stderr, exit 2, and nothing written (no folder, no lock), before any cluster starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hsi.batch import (
    LOCK_NAME,
    SchedulerAddressError,
    SchedulerConnectError,
    SchedulerError,
    check_scheduler_address,
    run_batch,
)
from hsi.cli.main import cli
from hsi.errors import ConfigError, HsiError, HsiIOError
from tests.cli_checks import one_error_line

COMMANDS = ["fuse-batch", "classify-batch"]


@pytest.fixture(scope="module")
def manifests(scenes_dir, tmp_path_factory):
    """``{command: its arguments before -o}``: a fusion manifest, a cube manifest and a model."""
    import torch

    folder = tmp_path_factory.mktemp("manifests")
    cubes = folder / "cubes.csv"
    cubes.write_text(f"name,cube\nnorth,{scenes_dir / 'north_lr.tif'}\n")
    model = folder / "clf.pt"
    torch.save({"kind": "not loaded before the checks"}, model)
    return {"fuse-batch": ["fuse-batch", str(scenes_dir / "manifest.csv"), "--method", "glp"],
            "classify-batch": ["classify-batch", str(cubes), "--model", str(model)]}


@pytest.fixture
def no_cluster(monkeypatch):
    """Starting a local cluster or connecting a client fails the test (and counts)."""
    import distributed

    started = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    monkeypatch.setattr(distributed, "Client", refuse)
    return started


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("address", ["notaurl", "tcp://127.0.0.1", "tcp://host:port",
                                     "foo://127.0.0.1:8786", "tcp://:8786",
                                     "tcp://127.0.0.1:99999"])
def test_malformed_scheduler_is_refused_before_anything(command, address, manifests, tmp_path,
                                                        no_cluster):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [*manifests[command], "-o", str(out),
                                      "--scheduler", address])
    line = one_error_line(result, f"--scheduler {address}: ")
    assert "port" in line or "scheme" in line or "host" in line.lower()
    assert not out.exists() and not no_cluster


@pytest.mark.parametrize("command", COMMANDS)
def test_malformed_scheduler_leaves_an_existing_folder_as_it_was(command, manifests, tmp_path,
                                                                 no_cluster):
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(cli, [*manifests[command], "-o", str(out),
                                      "--scheduler", "notaurl"])
    one_error_line(result, "--scheduler notaurl")
    assert list(out.iterdir()) == []


@pytest.fixture
def unreachable(monkeypatch):
    """``distributed.Client`` fails as it does after its 30 s connect timeout (without the wait:
    ``tcp://127.0.0.1:1`` takes the whole timeout)."""
    import distributed

    tried = []

    def client(address, **kwargs):
        tried.append(address)
        raise OSError(f"Timed out trying to connect to {address} after 30 s")

    monkeypatch.setattr(distributed, "Client", client)
    return tried


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("existed", [False, True], ids=["new-folder", "existing-folder"])
def test_unreachable_scheduler_is_one_line_and_nothing_left(command, existed, manifests,
                                                            tmp_path, unreachable):
    out = tmp_path / "out"
    if existed:
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, [*manifests[command], "-o", str(out),
                                      "--scheduler", "tcp://127.0.0.1:1"])
    line = one_error_line(result)
    assert line == ("hsi: error: --scheduler tcp://127.0.0.1:1: cannot connect "
                    "(timed out after 30 s)")
    assert unreachable == ["tcp://127.0.0.1:1"]
    if existed:  # a folder that was there stays, as it was: no lock file
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    else:
        assert not out.exists()


def test_unreachable_scheduler_in_the_library(scenes_dir, tmp_path, unreachable):
    out = tmp_path / "out"
    with pytest.raises(SchedulerConnectError, match="cannot connect") as info:
        run_batch(scenes_dir / "manifest.csv", out, method="glp", scheduler="tcp://127.0.0.1:1",
                  progress=False)
    assert isinstance(info.value, OSError) and isinstance(info.value, HsiIOError)
    assert info.value.address == "tcp://127.0.0.1:1"
    assert not out.exists() and not (tmp_path / LOCK_NAME).exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_cuda_without_cuda_is_refused_before_a_cluster_starts(command, manifests, tmp_path,
                                                              monkeypatch, no_cluster):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [*manifests[command], "-o", str(out), "--device", "cuda",
                                      "--workers", "1"])
    line = one_error_line(result, "cuda", "--device cpu")
    assert "CUDA is not available" in line
    assert not out.exists() and not no_cluster


def test_cuda_check_is_hsi_fuses_own(tmp_path, monkeypatch, no_cluster, scenes_dir):
    """The library refuses as :func:`hsi.device.pick_device` does (``DeviceError``)."""
    import torch

    from hsi.errors import DeviceError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="CUDA is not available"):
        run_batch(scenes_dir / "manifest.csv", tmp_path / "out", method="glp", device="cuda",
                  progress=False)
    assert not (tmp_path / "out").exists() and not no_cluster


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tls://scheduler.lan:8786",
                                     "127.0.0.1:8786", "tcp://[::1]:8786", "ws://host:1"])
def test_well_formed_addresses_pass(address):
    check_scheduler_address(address)


@pytest.mark.parametrize("address", ["", "notaurl", "tcp://127.0.0.1", "inproc://x",
                                     "tcp://h:0", "tcp://h:1/path"])
def test_malformed_addresses_raise_a_config_error(address):
    with pytest.raises(SchedulerAddressError) as info:
        check_scheduler_address(address)
    err = info.value
    assert isinstance(err, SchedulerError) and isinstance(err, ConfigError)
    assert isinstance(err, HsiError) and isinstance(err, ValueError)
    assert str(err).startswith(f"scheduler {address!r}: ")
