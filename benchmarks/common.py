"""Helpers shared by the benchmark scripts: tables, device description, timing, RESULTS.md.

Every benchmark prints its table and, unless told not to, appends one dated section to
``benchmarks/RESULTS.md`` with :func:`append_results`::

    from benchmarks.common import append_results, markdown_table

    table = markdown_table(["method", "PSNR (dB)"], [["glp", "47.1"], ["infn", "48.3"]])
    append_results("Fusion: INFN vs baselines", table, notes="3 seeds", device="cpu")

The section names the date, the machine (CPU model from ``/proc/cpuinfo``, core count, torch
version, and the GPU when the run used CUDA) and the command line, so numbers stay comparable.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

#: The results file every benchmark appends to.
RESULTS_PATH = Path(__file__).resolve().with_name("RESULTS.md")

_HEADER = ("# Benchmark results\n\n"
           "Appended by the scripts in `benchmarks/` (see `benchmarks/README.md`); newest last.\n")


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``'s ``model name``; ``platform`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_description(device=None) -> str:
    """One line naming the machine a benchmark ran on.

    Parameters
    ----------
    device : str or torch.device, optional
        The torch device the benchmark used; for CUDA the GPU's name is added.

    Returns
    -------
    str
        e.g. ``"CPU: Intel(R) Xeon(R) ... (2 cores); torch 2.13.0+cpu; device cpu"``.
    """
    parts = [f"CPU: {cpu_model()} ({os.cpu_count()} cores)"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
        dev = str(device) if device is not None else "cpu"
        if dev.startswith("cuda") and torch.cuda.is_available():
            index = torch.device(dev).index or 0
            parts.append(f"GPU: {torch.cuda.get_device_name(index)}")
        parts.append(f"device {dev}")
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    parts.append(f"Python {platform.python_version()}")
    return "; ".join(parts)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence],
                   align: str | None = None) -> str:
    """Format a GitHub-flavoured markdown table.

    Parameters
    ----------
    headers : sequence of str
        Column titles.
    rows : iterable of sequences
        Cells, converted with ``str`` (``None`` becomes ``—``).
    align : str, optional
        One letter per column, ``l``, ``r`` or ``c`` (default: left for the first column, right
        for the others).

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    headers = [str(h) for h in headers]
    align = align or ("l" + "r" * (len(headers) - 1))
    if len(align) != len(headers):
        raise ValueError(f"align must have one letter per column ({len(headers)}), got {align!r}")
    rule = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    for row in rows:
        cells = ["—" if c is None else str(c) for c in row]
        if len(cells) != len(headers):
            raise ValueError(f"row has {len(cells)} cells, expected {len(headers)}: {cells}")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) of the finite values."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return math.nan, math.nan
    mean = sum(vals) / len(vals)
    if len(vals) < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)
    return mean, math.sqrt(var)


def format_mean_std(values: Iterable[float], digits: int = 2) -> str:
    """``"mean ± std"`` with ``digits`` decimals (just ``"mean"`` for one value, ``—`` for none)."""
    vals = list(values)
    mean, std = mean_std(vals)
    if math.isnan(mean):
        return "—"
    if len(vals) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


@contextmanager
def timer(device=None):
    """Context manager measuring wall time, synchronising CUDA before and after.

    >>> with timer() as t:
    ...     pass
    >>> t.seconds >= 0
    True
    """

    class _Elapsed:
        seconds = 0.0

    def _sync() -> None:
        if device is not None and str(device).startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    out = _Elapsed()
    _sync()
    start = time.perf_counter()
    try:
        yield out
    finally:
        _sync()
        out.seconds = time.perf_counter() - start


def matmul_rate(device=None, n: int = 4096, repeats: int = 10) -> float:
    """Measured fp32 torch matmul rate of ``device`` (default CPU) in FLOP/s (TF32 off), at
    this process's torch thread count: the bound a model's FLOPs are compared with."""
    import torch

    device = torch.device(device or "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b  # warm-up
    with timer(device) as t:
        for _ in range(repeats):
            a @ b
    return 2.0 * n**3 * repeats / t.seconds


def command_line() -> str:
    """The command that started this process, as a shell would show it."""
    argv = list(sys.argv)
    if argv:
        try:
            argv[0] = os.path.relpath(argv[0])
        except ValueError:
            pass
    return "python " + " ".join(shlex.quote(a) for a in argv)


def git_commit() -> str:
    """The checkout's commit, ``+dirty`` when files differ from it (``"unknown"`` outside git)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


#: The commit the benchmark started from (files may change while a long run goes on).
COMMIT_AT_START = git_commit()


def data_digest(names: Iterable[str]) -> str:
    """sha256 over the registry's sha256 lines of the files of the datasets ``names``.

    Every load checks each file against the registry (:mod:`hsi.data`), so two runs with the
    same digest read the same bytes.
    """
    import hashlib

    from hsi.data import get_dataset

    h = hashlib.sha256()
    for name in names:
        for rel, sha in sorted(get_dataset(name).files.items()):
            h.update(f"{sha}  {rel}\n".encode())
    return h.hexdigest()


def data_line(names: Iterable[str]) -> str:
    """``"salinas_a, samson (sha256 of the registry lines 0123456789abcdef)"``."""
    names = list(dict.fromkeys(names))
    return f"{', '.join(names)} (sha256 of their files' registry lines {data_digest(names)[:16]})"


class DataMissing(SystemExit):
    """A benchmark's data is not in the data folder (exits with one line, status 2)."""


def require_data(names: Iterable[str] = (), files: Iterable[str] = ()) -> None:
    """Stop before any work when a dataset of ``names`` (registry names) or one of ``files``
    (paths relative to the data folder) is missing, naming all of them on one line.

    Raises
    ------
    DataMissing
        ``SystemExit`` with the one-line message (exit status 2).
    """
    from hsi.data import data_dir, get_dataset

    root = data_dir()
    missing = [n for n in dict.fromkeys(names) if get_dataset(n).missing_files(root)]
    missing += [f for f in files if not (root / f).is_file()]
    if missing:
        print(f"{Path(sys.argv[0]).name}: error: not in the data folder {root} "
              f"(HSI_DATA_DIR): {', '.join(missing)}; fetch with `hsi data fetch NAME`",
              file=sys.stderr)
        raise DataMissing(2)


def run_cli(main, argv: list[str] | None = None) -> int:
    """Run a benchmark's ``main``; an error hsikit raises on purpose (missing data, a bad
    checkpoint, a wrong option value found late, also in a worker process) ends the run with
    one line ``script: error: message`` and exit status 2 instead of a traceback; Ctrl-C
    with status 130."""
    from hsi.errors import HsiError

    name = Path(sys.argv[0]).name
    try:
        status = main(argv) if argv is not None else main()
    except HsiError as exc:
        print(f"{name}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; nothing appended", file=sys.stderr)
        return 130
    return int(status or 0)


def shown_diff(a: float, b: float, digits: int) -> float:
    """``a - b`` as the reader recomputes it from the two values printed with ``digits``
    decimals (a difference of unrounded means can differ from it in its last digit)."""
    return round(a, digits) - round(b, digits)


def results_section(title: str, table: str, *, notes: str = "", device=None,
                    command: str | None = None, when: _dt.datetime | None = None,
                    data: Iterable[str] | None = None) -> str:
    """The markdown section :func:`append_results` appends (exposed for tests and dry runs).

    ``data``: the registry names of the datasets read, recorded with their digest
    (:func:`data_line`).
    """
    when = when or _dt.datetime.now().astimezone()
    lines = [f"## {title} ({when:%Y-%m-%d %H:%M %Z})".replace(" )", ")"), "",
             f"- Machine: {device_description(device)}",
             f"- Commit: {COMMIT_AT_START}",
             f"- Command: `{command or command_line()}`",
             *([f"- Data: {data_line(data)}"] if data else []), "", table.strip(), ""]
    if notes.strip():
        lines += [notes.strip(), ""]
    return "\n".join(lines)


def append_results(title: str, table: str, *, notes: str = "", device=None,
                   command: str | None = None, path: str | os.PathLike | None = None,
                   data: Iterable[str] | None = None) -> Path:
    """Append a dated section with ``table`` to ``benchmarks/RESULTS.md`` (atomically).

    Parameters
    ----------
    title : str
        Section title, e.g. ``"Fusion: INFN vs classical baselines"``.
    table : str
        Markdown (usually from :func:`markdown_table`).
    notes : str
        Free text printed under the table (settings, budgets, caveats).
    device : str or torch.device, optional
        Device the benchmark ran on (named in the section with the CPU model and torch version).
    command : str, optional
        Command line to record (default: this process's ``sys.argv``).
    path : path, optional
        Results file (default :data:`RESULTS_PATH`).
    data : iterable of str, optional
        Registry names of the datasets the run read, recorded with their digest.

    Returns
    -------
    Path
        The file written.
    """
    from hsi.io.atomic import atomic_path

    dest = Path(path) if path is not None else RESULTS_PATH
    old = dest.read_text(encoding="utf-8") if dest.exists() else _HEADER
    if not old.endswith("\n"):
        old += "\n"
    text = old + "\n" + results_section(title, table, notes=notes, device=device,
                                        command=command, data=data)
    with atomic_path(dest) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return dest


def loso_choices(scores: dict, options: list[str] | None = None) -> dict[str, str]:
    """Per held-out scene, the option with the best mean score over the other scenes.

    ``scores[(scene, option)]`` is the mean over methods and seeds; ties go to the first of
    ``options`` (default: the options in ``scores``, in order of appearance).
    """
    scenes = list(dict.fromkeys(s for s, _ in scores))
    options = options or list(dict.fromkeys(o for _, o in scores))
    return {held: max(options, key=lambda o: np.mean([scores[(s, o)] for s in scenes
                                                       if s != held]))
            for held in scenes}


def loso_report(scores: dict, options: list[str], default: str, *, metric: str,
                digits: int) -> tuple[str, str]:
    """Table and verdict of a choice taken leave one scene out (:func:`loso_choices`).

    ``scores[(scene, option)]`` as for :func:`loso_choices`. Returns the markdown table (each
    option's score per scene, the fold's choice and its score, the means) and the verdict
    text: the choices, the leave-one-scene-out mean against the default's.
    """
    scenes = list(dict.fromkeys(s for s, _ in scores))
    chosen = loso_choices(scores, options)
    fmt = f"{{:.{digits}f}}".format
    rows = [[s, *[fmt(scores[(s, o)]) for o in options], chosen[s], fmt(scores[(s, chosen[s])])]
            for s in scenes]
    loso = float(np.mean([scores[(s, chosen[s])] for s in scenes]))
    means = {o: float(np.mean([scores[(s, o)] for s in scenes])) for o in options}
    rows.append(["mean", *[fmt(means[o]) for o in options], "", fmt(loso)])
    table = markdown_table(["held-out scene", *[f"{metric} {o}" for o in options],
                            "chosen on the other scenes", f"{metric} of the choice"], rows)
    verdict = (f"chosen per fold {', '.join(f'{s} {chosen[s]}' for s in scenes)}; "
               f"leave-one-scene-out {metric} {fmt(loso)} against {fmt(means[default])} for the "
               f"default ({default}): " + ("every fold chooses the default."
                                           if set(chosen.values()) == {default}
                                           else "not every fold chooses the default."))
    return table, verdict


def resample_cube(cube, wavelengths, *, tolerance_nm: float = 40.0):
    """The cube's spectra linearly interpolated onto ``wavelengths`` (nm), edges repeated.

    The cube's bands are sorted by wavelength first (AVIRIS files such as Indian Pines keep the
    spectrometers' overlap in file order), a repeated centre keeping its first band.

    Parameters
    ----------
    cube : Cube, (bands, H, W), with wavelengths in nm
    wavelengths : array-like, (bands_out,), increasing, nm
    tolerance_nm : float
        How far the cube's range may fall short of ``wavelengths`` at either end.

    Returns
    -------
    Cube or None
        ``(bands_out, H, W)`` float32, or ``None`` when the cube's range falls short by more
        than ``tolerance_nm``.
    """
    src = np.asarray(cube.wavelengths, dtype=np.float64)
    order = np.argsort(src, kind="stable")
    src, first = np.unique(src[order], return_index=True)
    order = order[first]
    dst = np.asarray(wavelengths, dtype=np.float64)
    if src[0] - dst[0] > tolerance_nm or dst[-1] - src[-1] > tolerance_nm:
        return None
    hi = np.clip(np.searchsorted(src, dst), 1, src.size - 1)
    lo = hi - 1
    t = np.clip((dst - src[lo]) / (src[hi] - src[lo]), 0.0, 1.0).astype(np.float32)
    x = np.asarray(cube.data, dtype=np.float32)[order]
    data = (1 - t)[:, None, None] * x[lo] + t[:, None, None] * x[hi]
    return cube.with_data(data.astype(np.float32), wavelengths=dst, fwhm=None)


def finish_checkpoint(partial: str, output: str, record: dict) -> None:
    """Write the trained checkpoint ``output`` from the trainer's ``partial`` file.

    The training state (optimiser, sampler) is dropped, ``record`` (command, data, steps, wall
    time, commit) goes into ``meta["training_record"]`` and the weights are stored in float16.
    """
    from hsi.fusion import load_infn, save_infn

    model = load_infn(partial)
    model.meta.pop("train_state", None)
    model.meta.pop("path", None)
    model.meta["training_record"] = record
    save_infn(output, model.half())
    print(f"wrote {output}: " + "; ".join(f"{k} {v}" for k, v in record.items()), flush=True)
