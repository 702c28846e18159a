"""Shared fixtures: device/dtype from the command line, the data folder, small real crops."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


#: torch's CPU thread count when the session started (``pytest_sessionstart``).
TORCH_THREADS: list[int] = []


def pytest_sessionstart(session):
    import torch

    TORCH_THREADS.append(torch.get_num_threads())


@pytest.fixture(autouse=True, scope="module")
def _torch_threads_restored():
    """Each test module starts with torch's thread count as the session began, whatever the
    modules before it set (tests that set 1 thread for speed left it so, and a float result can
    change in its last bits with the thread count: test_sigkill_then_resume failed that way)."""
    import torch

    if TORCH_THREADS and torch.get_num_threads() != TORCH_THREADS[0]:
        torch.set_num_threads(TORCH_THREADS[0])
    yield


#: Set (to anything) to skip, not fail, the tests whose dataset is missing from the data
#: folder: for runs given part of the data on purpose (``benchmarks/gpu.py`` on a GPU machine
#: with ``benchmarks/gpu_bundle.py``'s data). Unset, as in CI, a missing dataset is an error.
SKIP_MISSING_DATA = "HSI_TESTS_SKIP_MISSING_DATA"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test (or its fixture) that found its dataset missing is reported as skipped when
    :data:`SKIP_MISSING_DATA` is set."""
    report = yield
    if os.environ.get(SKIP_MISSING_DATA) and call.excinfo is not None:
        from hsi.errors import DatasetNotFoundError

        if call.excinfo.errisinstance(DatasetNotFoundError):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0,
                               f"Skipped: data not in this run's data folder: "
                               f"{call.excinfo.value}")
    return report


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu", help="torch device for model tests (cpu, cuda)")
    parser.addoption("--dtype", default="float32", help="float32 or float64")


@pytest.fixture
def device(request):
    import torch

    return torch.device(request.config.getoption("--device"))


@pytest.fixture
def dtype(request):
    import torch

    return getattr(torch, request.config.getoption("--dtype"))


def _data_dir() -> Path:
    return Path(os.environ.get("HSI_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder (``HSI_DATA_DIR``, default ``../shared/data``)."""
    path = _data_dir()
    if not path.is_dir():
        pytest.skip(f"real data not found at {path} (set HSI_DATA_DIR)")
    return path


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test (restored after): keeps the shared CPU usable by
    others and timings comparable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def computed_shapes(monkeypatch):
    """Shapes of every :meth:`hsi.Cube.compute` call: a whole-cube call (what the napari docks
    made before the scene engine, ``fuse(lr.compute(), ...)``) shows the full shape here."""
    from hsi.cube import Cube

    shapes: list[tuple[int, ...]] = []
    original = Cube.compute

    def compute(self):
        shapes.append(tuple(self.shape))
        return original(self)

    monkeypatch.setattr(Cube, "compute", compute)
    return shapes


@pytest.fixture
def python_sigint():
    """Python's own Ctrl-C handler, as in a terminal: a runner started in the background
    (a non-interactive shell's ``cmd &``) inherits SIGINT ignored, and then neither a real
    SIGINT nor ``_thread.interrupt_main()`` raises KeyboardInterrupt."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def big_tif(tmp_path_factory):
    """A 384 MiB (uncompressed) int16 GeoTIFF, 48 bands in 256 × 256 tiles, nodata collar
    (:func:`tests.io.big_cubes.write_big_geotiff`)."""
    from tests.io.big_cubes import write_big_geotiff

    return write_big_geotiff(tmp_path_factory.mktemp("big") / "big.tif")


@pytest.fixture(scope="session")
def big_envi(tmp_path_factory):
    """A 384 MiB sparse BIL ENVI cube (header path; :func:`tests.io.big_cubes.write_big_envi`)."""
    from tests.io.big_cubes import write_big_envi

    return write_big_envi(tmp_path_factory.mktemp("big_envi") / "big.hdr")


@pytest.fixture(scope="module")
def metrics_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference, estimate, wavelengths) for the metrics: 12 bands of Salinas-A (every 17th),
    float64 (12, 64, 72), the bicubic ×4 upsampling of their Wald-simulated LR image (Gaussian
    PSF of σ = 2 HR pixels), and their wavelengths (nm, (12,))."""
    import torch

    from hsi.data import sample_cube
    from hsi.degrade import gaussian_blur_decimate

    cube = sample_cube()
    ref = np.asarray(cube.data, dtype=np.float64)[::17, :64, :72]
    low = gaussian_blur_decimate(torch.from_numpy(ref)[None], 2.0, 4)
    est = torch.nn.functional.interpolate(low, scale_factor=4, mode="bicubic",
                                          align_corners=False)[0].numpy()
    return ref, est, np.asarray(cube.wavelengths)[::17]


@pytest.fixture(scope="session")
def every_metric():
    """Each metric of :mod:`hsi.metrics` alone, by name: ``fn(ref, est) -> float`` (ERGAS at
    ratio 4; PSNR with both peak modes)."""
    from hsi import metrics

    return {"rmse": metrics.rmse, "psnr": metrics.psnr, "ssim": metrics.ssim,
            "sam": metrics.sam, "q2n": metrics.q2n, "cc": metrics.cc, "uiqi": metrics.uiqi,
            "ergas": lambda r, e: metrics.ergas(r, e, 4),
            "psnr_band_max": lambda r, e: metrics.psnr(r, e, peak_mode="band-max")}
