"""``hsi demo``: the main job on the shipped real sample (what ``make demo`` runs).

The demo is a list of steps (:data:`DEMO_STEPS`) sharing one :class:`DemoState`; fusion methods
are a list too (:func:`demo_methods`). Adding a method or a step is one line in those lists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from hsi.cli.options import OutputFolder, device_option


@dataclass
class DemoState:
    """What the demo steps share.

    Attributes
    ----------
    out : Path
        Output folder.
    cube : Cube, shape (bands, H, W)
        The shipped Salinas-A sample, float32 reflectance-like.
    labels : numpy.ndarray, shape (H, W)
        Its ground truth (0 = unlabelled), with ``class_names``.
    reference, lr_hsi, hr_msi : Cube
        Set by the simulate step (read back from the files it wrote).
    scores : dict
        Method name -> metrics dict (psnr, ssim, sam, ergas, q2n, seconds).
    """

    out: Path
    cube: Any
    labels: Any
    class_names: list[str]
    ratio: int = 4
    sensor: str = "sentinel2"
    device: str = "auto"
    reference: Any = None
    lr_hsi: Any = None
    hr_msi: Any = None
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


#: A fusion method of the demo: name and ``fn(state) -> Cube`` on the reference grid.
DemoMethod = tuple[str, Callable[[DemoState], Any]]

#: The file that marks a folder as the demo's own: the demo may overwrite its files there.
DEMO_MARKER = ".hsi-demo"
#: The fusion scores table (:func:`write_scores`) and its header line.
METRICS_FILE = "metrics.csv"
METRICS_HEADER = "method,psnr,ssim,sam,ergas,q2n,seconds"


def fused_name(method: str) -> str:
    """File name of a fusion method's estimate in the demo folder."""
    return f"fused_{method}.tif"


def _fused_with(name: str) -> Callable[[DemoState], Any]:
    def run(state: DemoState) -> Any:
        from hsi.fusion import fuse

        return fuse(state.lr_hsi, state.hr_msi, method=name, ratio=state.ratio,
                    device=state.device, progress=False)
    return run


def demo_methods() -> list[DemoMethod]:
    """The fusion methods the demo scores, in table order (add one line per method)."""
    return [
        ("auto", _fused_with("auto")),  # what `hsi fuse` does by default (INFN where validated)
        ("infn", _fused_with("infn")),  # the shipped AVIRIS checkpoint (its residual is off: GLP)
        ("glp", _fused_with("glp")),
        ("gsa", _fused_with("gsa")),
        ("cnmf", _fused_with("cnmf")),
        ("bicubic", _fused_with("bicubic")),
    ]


def step_info(state: DemoState) -> None:
    """Describe the sample."""
    from hsi.cli.info import describe

    click.echo("== sample: Salinas-A (AVIRIS 1998, UPV/EHU GIC), shipped with hsikit")
    for key, value in describe(state.cube, "hsi.data.sample_cube()")[1:]:
        click.echo(f"   {key + ':':<13}{value}")
    click.echo(f"   {'classes:':<13}{len(state.class_names)} "
               f"({int((state.labels > 0).sum())} labelled pixels)")


def step_simulate(state: DemoState) -> None:
    """Simulate the LR-HSI / HR-MSI pair (Wald's protocol) and write it."""
    import hsi
    from hsi.simulate import simulate_files

    click.echo(f"== simulate: ratio {state.ratio}, sensor {state.sensor}, PSF sigma "
               f"{state.ratio / 2:g} px")
    state.files.update(simulate_files(state.cube, state.out, state.ratio, state.sensor,
                                      device=state.device))
    state.reference = hsi.open(state.files["reference"])
    state.lr_hsi = hsi.open(state.files["lr_hsi"])
    state.hr_msi = hsi.open(state.files["hr_msi"])
    for key in ("reference", "lr_hsi", "hr_msi"):
        c = getattr(state, key)
        click.echo(f"   {key:<10} {c.bands:>4} bands × {c.height} × {c.width}  "
                   f"{state.files[key]}")


def step_fusion(state: DemoState) -> None:
    """Run every :func:`demo_methods` entry, save its estimate and score it."""
    import numpy as np

    import hsi
    from hsi.metrics import fusion_metrics

    click.echo(f"== fusion: {len(demo_methods())} method(s), scored against the reference")
    ref = np.asarray(state.reference.data, dtype=np.float64)
    for name, run in demo_methods():
        start = time.perf_counter()
        est = run(state)
        seconds = time.perf_counter() - start
        path = hsi.save(est, state.out / fused_name(name))
        state.files[f"fused_{name}"] = path
        scores = fusion_metrics(ref, np.asarray(est.data, dtype=np.float64), state.ratio)
        state.scores[name] = {**scores, "seconds": seconds}
    click.echo(format_table(state.scores))


def step_classify(state: DemoState) -> None:
    """Train the GAN + CRF classifier on 5 labels per class; score the held-out labels."""
    from hsi.classification import demo_classification

    click.echo("== classify: GAN + CRF, 5 labelled pixels per class, scored on the rest")
    result = demo_classification(state.out, per_class=5, seed=0)
    click.echo(f"   trained on {result['n_train']} pixels, tested on {result['n_test']}: "
               f"OA {result['oa']:.1f} % (without CRF {result['oa_no_crf']:.1f} %), "
               f"AA {result['aa']:.1f} %, kappa {result['kappa']:.3f}")
    state.files["classification"] = Path(result["class_map"])
    state.files["classification_report"] = Path(result["report"])


#: The demo, in order: (name, step). Later stages add theirs here (e.g. classification).
DEMO_STEPS: list[tuple[str, Callable[[DemoState], None]]] = [
    ("info", step_info),
    ("simulate", step_simulate),
    ("fusion", step_fusion),
    ("classify", step_classify),
]


def format_table(scores: dict[str, dict[str, float]]) -> str:
    """A plain-text table of the fusion scores, one row per method."""
    head = (f"   {'method':<12}{'PSNR dB':>9}{'SSIM':>8}{'SAM deg':>9}{'ERGAS':>8}{'Q2n':>8}"
            f"{'time s':>8}")
    rows = [head]
    for name, s in scores.items():
        rows.append(f"   {name:<12}{s['psnr']:>9.2f}{s['ssim']:>8.4f}{s['sam']:>9.3f}"
                    f"{s['ergas']:>8.3f}{s['q2n']:>8.4f}{s['seconds']:>8.2f}")
    return "\n".join(rows)


def write_scores(state: DemoState) -> Path:
    """Write ``metrics.csv`` (one row per method) atomically and return its path."""
    from hsi.io.atomic import atomic_path

    dest = state.out / METRICS_FILE
    keys = METRICS_HEADER.split(",")[1:]
    with atomic_path(dest) as tmp:
        lines = [METRICS_HEADER]
        lines += [name + "," + ",".join(f"{s[k]:.6g}" for k in keys)
                  for name, s in state.scores.items()]
        tmp.write_text("\n".join(lines) + "\n")
    return dest


def demo_output_names() -> list[str]:
    """The names of the files the demo writes into its folder, in the order it writes them.

    :data:`~hsi.simulate.SIMULATION_FILES`, one :func:`fused_name` per :func:`demo_methods`
    entry, :data:`~hsi.classification.pipeline.DEMO_CLASSIFICATION_FILES` and :data:`METRICS_FILE`.
    """
    from hsi.classification.pipeline import DEMO_CLASSIFICATION_FILES
    from hsi.simulate import SIMULATION_FILES

    return [*SIMULATION_FILES, *(fused_name(name) for name, _ in demo_methods()),
            *DEMO_CLASSIFICATION_FILES, METRICS_FILE]


def check_demo_folder(out: str | os.PathLike) -> None:
    """Refuse a folder holding a file the demo would overwrite but did not write.

    A folder marked by the demo (:data:`DEMO_MARKER`), a new or empty one, one whose files
    have other names than :func:`demo_output_names`, or one a demo wrote before folders were
    marked (its ``metrics.csv`` starts with the demo's own header) is fine.

    Parameters
    ----------
    out : path
        The demo's output folder.

    Raises
    ------
    HsiIOError
        ``FOLDER/NAME: exists and was not written by hsi demo ...``, naming the first such
        file.
    """
    from hsi.errors import HsiIOError

    folder = Path(out)
    if not folder.is_dir() or (folder / DEMO_MARKER).exists() or _written_by_a_demo(folder):
        return
    for name in demo_output_names():
        path = folder / name
        if os.path.lexists(path):
            raise HsiIOError(f"{path}: exists and was not written by hsi demo (no {DEMO_MARKER} "
                             f"in {folder}): refusing to overwrite it; choose another output "
                             f"folder")


def _written_by_a_demo(folder: Path) -> bool:
    """True when ``folder`` holds the outputs of a demo from before folders were marked: its
    ``metrics.csv`` starts with :data:`METRICS_HEADER`, and its simulated pair is there."""
    from hsi.simulate import SIMULATION_FILES

    metrics = folder / METRICS_FILE
    if not metrics.is_file() or not all((folder / n).is_file() for n in SIMULATION_FILES):
        return False
    try:
        with open(metrics, encoding="utf-8") as f:
            return f.readline().strip() == METRICS_HEADER
    except (OSError, UnicodeDecodeError):
        return False


def mark_demo_folder(folder: Path) -> Path:
    """Write :data:`DEMO_MARKER` into ``folder`` (it exists) and return its path.

    Raises
    ------
    HsiIOError
        The marker cannot be written.
    """
    from hsi.errors import HsiIOError

    marker = folder / DEMO_MARKER
    if not marker.exists():
        try:
            marker.write_text("Written by `hsi demo`: it may overwrite its own files in this "
                              "folder.\n", encoding="utf-8")
        except OSError as exc:
            raise HsiIOError(f"{marker}: cannot write ({exc.strerror or exc})") from None
    return marker


def run_demo(out: str | Path = "demo-out", device: str = "auto") -> DemoState:
    """Run :data:`DEMO_STEPS` on the shipped sample, writing into ``out``; return the state.

    ``out`` is refused before anything runs when it holds a file the demo would overwrite
    without having written it (:func:`check_demo_folder`); otherwise it is marked as the
    demo's (:data:`DEMO_MARKER`), so a rerun overwrites the files of the last run.
    """
    from hsi.data import sample_cube, sample_labels
    from hsi.device import pick_device, seed_everything
    from hsi.io.atomic import check_writable_dir, new_folder_removed_on_failure

    check_demo_folder(out)
    pick_device(device)  # a device this machine lacks is refused before the folder is made
    # a folder the demo made is removed again when it fails before writing an output into it
    with new_folder_removed_on_failure(out, own_files=(DEMO_MARKER,)):
        folder = check_writable_dir(out)
        mark_demo_folder(folder)
        seed_everything(0)
        labels, names = sample_labels()
        state = DemoState(out=folder, cube=sample_cube(), labels=labels,
                          class_names=names, device=device)
        for _, step in DEMO_STEPS:
            step(state)
        if state.scores:
            state.files["metrics"] = write_scores(state)
    return state


@click.command("demo")
@click.option("-o", "--output", "out", default="demo-out", show_default=True,
              type=OutputFolder(), help="Output folder.")
@device_option
def demo(out: str, device: str) -> None:
    """Run the demo on the shipped Salinas-A sample: info, simulate (x4, Sentinel-2), fusion
    scores; outputs go to OUTPUT.

    OUTPUT is marked as the demo's (a .hsi-demo file), so a rerun overwrites its files; a
    folder holding same-named files the demo did not write is refused.
    """

    state = run_demo(out, device=device)
    click.echo(f"== outputs in {state.out}/: " + ", ".join(p.name for p in state.files.values()))
