"""Fusing or classifying many scenes on Dask distributed: one task per scene, resumable.

>>> from hsi.batch import run_batch, run_classify_batch
>>> report = run_batch("scenes.csv", "fused/", method="glp")      # doctest: +SKIP
>>> print(report.table())                                          # doctest: +SKIP
>>> report = run_classify_batch("cubes.csv", "maps/", model="clf.pt")  # doctest: +SKIP

Both run on the same machinery (manifest, done-records, lock, report, retries, failure
isolation); only the task per scene differs: :func:`fuse_scene` or :func:`classify_scene`. A
classification manifest is a CSV with columns ``name,cube`` or a folder of ``NAME.<ext>`` cubes;
scene ``NAME`` is written to ``OUT_DIR/NAME.tif`` (the class map) with the same done-record
contract as below.

A manifest is a CSV with columns ``name,lr_hsi,hr_msi`` (paths relative to the CSV) or a folder
of ``NAME_lr.*`` / ``NAME_hr.*`` pairs. Scene ``NAME`` is written to ``OUT_DIR/NAME.tif``
(atomically, see :func:`hsi.io.atomic.atomic_path`) and then gets a *done-record*
``OUT_DIR/NAME.tif.done.json`` holding what the output was made from (input sizes and
modification times, method, model sha256, seed, hsikit version) and the warnings the ``hsi``
loggers gave while the scene ran (an empty band, a fallback method), which the report keeps per
scene (a failed scene's entry keeps those given before it failed). A re-run skips the scenes
whose record still matches, so a batch killed at any point (even with SIGKILL) is finished by
running it again; temporaries left by the killed run are removed first. Before a scene is
(re)written its done-record is replaced by a *claim*; an ``OUT_DIR/NAME.tif`` with neither
beside it was not written by a batch, and the batch refuses to start rather than overwrite it.

The cluster is a :class:`distributed.LocalCluster` (one process per worker, one thread each, a
memory limit per worker) unless a :class:`distributed.Client` or a scheduler address is given.
Workers keep loaded models in a per-process cache, so a model is read once per worker.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hsi.errors import ConfigError, FormatError, HsiError, HsiIOError

if TYPE_CHECKING:
    from distributed import Client
    from distributed.security import Security

__all__ = ["BatchReport", "CubeScene", "Scene", "SceneFailure", "SceneResult", "SchedulerError",
           "classify_scene", "fuse_scene", "read_cube_manifest", "read_manifest", "run_batch",
           "run_classify_batch"]

log = logging.getLogger(__name__)

#: Columns a manifest CSV must have.
MANIFEST_COLUMNS = ("name", "lr_hsi", "hr_msi")
#: Columns of a classification manifest CSV.
CUBE_MANIFEST_COLUMNS = ("name", "cube")
#: Name of the JSON summary written into the output folder.
REPORT_NAME = "batch-report.json"
#: Suffix of the done-record written beside each output.
DONE_SUFFIX = ".done.json"
#: Scene names: a safe file-name character set (no globbing, no hidden files).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
#: Lock file that keeps two batches out of one output folder.
LOCK_NAME = ".hsi-batch.lock"
#: Preference among files of one stem in a folder manifest (ENVI: the header, not the data file).
_EXT_PREFERENCE = (".hdr", ".tif", ".tiff", ".mat")
_IGNORED_SUFFIXES = (".part", ".aux.xml", ".json", ".csv", ".txt", ".md", ".ovr")


# ---------------------------------------------------------------------------- errors
class SchedulerError(HsiError):
    """A scheduler address that is malformed or cannot be reached.

    Attributes
    ----------
    address : str
        The address as given.
    problem : str
        What is wrong with it, e.g. ``"cannot connect (timed out after 30 s)"``.
    """

    def __init__(self, address: str, problem: str) -> None:
        super().__init__(f"scheduler {address!r}: {problem}")
        self.address = address
        self.problem = problem

    def __reduce__(self) -> tuple[type[SchedulerError], tuple[str, str]]:
        return type(self), (self.address, self.problem)


class SchedulerAddressError(SchedulerError, ConfigError):
    """The scheduler address is not of the form ``SCHEME://HOST:PORT`` (a ``ValueError``)."""


class SchedulerConnectError(SchedulerError, HsiIOError):
    """No connection to the scheduler could be made (an ``OSError``)."""


# ---------------------------------------------------------------------------- manifest
@dataclass(frozen=True)
class _BatchScene:
    """A scene of a batch: its name, which names its output ``NAME.tif``."""

    name: str

    @property
    def output_name(self) -> str:
        return f"{self.name}.tif"


@dataclass(frozen=True)
class Scene(_BatchScene):
    """One scene of a fusion batch: its name and the two input paths (absolute)."""

    lr_hsi: Path
    hr_msi: Path

    @property
    def inputs(self) -> dict[str, Path]:
        """The input files by role (stamped in the done-record)."""
        return {"lr_hsi": self.lr_hsi, "hr_msi": self.hr_msi}


@dataclass(frozen=True)
class CubeScene(_BatchScene):
    """One scene of a classification batch: its name and its cube file (absolute)."""

    cube: Path

    @property
    def inputs(self) -> dict[str, Path]:
        """The input file by role (stamped in the done-record)."""
        return {"cube": self.cube}


def read_manifest(source: str | os.PathLike | Sequence[Scene]) -> list[Scene]:
    """Return the scenes of a manifest CSV, a folder of pairs, or a list of scenes.

    Parameters
    ----------
    source : path or sequence of Scene
        A CSV with columns ``name,lr_hsi,hr_msi`` (relative paths are relative to the CSV), or a
        folder holding ``NAME_lr.<ext>`` and ``NAME_hr.<ext>`` pairs.

    Returns
    -------
    list of Scene
        In manifest order (sorted by name for a folder). Every input file exists.

    Raises
    ------
    FormatError
        Missing column, empty or duplicate name, a name that is not a plain file name, no scenes.
    HsiIOError
        The manifest or an input file does not exist, or a folder pair is incomplete.
    """
    if not isinstance(source, (str, os.PathLike)):
        scenes = [Scene(s.name, Path(s.lr_hsi).resolve(), Path(s.hr_msi).resolve())
                  for s in source]
        _check_scenes(scenes, "scene list")
        return scenes
    path = Path(source)
    if path.is_dir():
        scenes = _scenes_from_folder(path)
    elif path.is_file():
        scenes = _scenes_from_csv(path, MANIFEST_COLUMNS, Scene)
    else:
        raise HsiIOError(f"{path}: no such manifest file or folder")
    _check_scenes(scenes, str(path))
    return scenes


def read_cube_manifest(source: str | os.PathLike | Sequence[CubeScene]) -> list[CubeScene]:
    """Return the scenes of a classification manifest: a CSV, a folder of cubes or a list.

    Parameters
    ----------
    source : path or sequence of CubeScene
        A CSV with columns ``name,cube`` (relative paths are relative to the CSV), or a folder
        of cube files ``NAME.<ext>`` (ENVI by its ``.hdr``).

    Raises
    ------
    FormatError, HsiIOError
        As :func:`read_manifest`.
    """
    if not isinstance(source, (str, os.PathLike)):
        scenes = [CubeScene(s.name, Path(s.cube).resolve()) for s in source]
    else:
        path = Path(source)
        if path.is_dir():
            found: dict[str, Path] = {}
            for p in sorted(path.iterdir()):
                if p.name.startswith(".") or p.name.lower().endswith(_IGNORED_SUFFIXES) \
                        or not p.is_file() or p.suffix.lower() not in _EXT_PREFERENCE:
                    continue
                stem = _stem(p)
                if stem not in found or _ext_rank(p) < _ext_rank(found[stem]):
                    found[stem] = p
            scenes = [CubeScene(n, p.resolve()) for n, p in sorted(found.items())]
        elif path.is_file():
            scenes = _scenes_from_csv(path, CUBE_MANIFEST_COLUMNS, CubeScene)
        else:
            raise HsiIOError(f"{path}: no such manifest file or folder")
        source = path
    _check_scenes(scenes, str(source) if isinstance(source, Path) else "scene list")
    return scenes


def _scenes_from_csv(path: Path, columns: tuple[str, ...],
                     make: Callable[..., _BatchScene]) -> list:
    """Scenes ``make(name, *input_paths)`` of a CSV with ``columns`` (name first).

    Blank lines (before the header too) are skipped; a row with more fields than the header
    (a path with an unquoted comma) or a malformed quote is a :class:`FormatError` naming the
    line.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, strict=True)
            header: list[str] = []
            rows = []
            try:
                for fields in reader:
                    if "\0" in "".join(fields):
                        raise FormatError(f"{path}:{reader.line_num}: manifest is not a text "
                                          f"CSV (it holds a NUL byte)")
                    fields = [c.strip() for c in fields]
                    if not any(fields):
                        continue
                    if not header:
                        header = fields
                        continue
                    if any(fields[len(header):]):
                        raise FormatError(
                            f"{path}:{reader.line_num}: {len(fields)} fields for the "
                            f"{len(header)} columns {','.join(header)} (quote a path that "
                            f'holds a comma: "a,b.tif")')
                    rows.append((dict(zip(header, fields, strict=False)), reader.line_num))
            except csv.Error as exc:
                raise FormatError(f"{path}:{reader.line_num}: manifest is not a valid CSV "
                                  f"({exc})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{path}: manifest is not a UTF-8 text CSV") from None
    except OSError as exc:
        raise HsiIOError(f"{path}: cannot read manifest ({exc.strerror or exc})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise FormatError(
            f"{path}: manifest is missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (expected columns {','.join(columns)}; "
            f"got {','.join(header) or 'none: the file is empty'})")
    base = path.parent
    scenes = []
    for row, line in rows:
        for col in columns:
            if not row.get(col):
                raise FormatError(f"{path}:{line}: empty {col}")
        files = [(base / row[col]).resolve() for col in columns[1:]]
        for col, p in zip(columns[1:], files, strict=True):
            if not p.exists():
                raise HsiIOError(f"{path}:{line}: scene {row['name']!r}: {col} file {p} "
                                 f"does not exist")
        scenes.append(make(row["name"], *files))
    return scenes


def _scenes_from_folder(folder: Path) -> list[Scene]:
    found: dict[str, dict[str, Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.name.lower().endswith(_IGNORED_SUFFIXES):
            continue
        stem = _stem(p)
        for role in ("lr", "hr"):
            if stem.endswith(f"_{role}") and len(stem) > 3:
                best = found.setdefault(stem[:-3], {}).get(role)
                if best is None or _ext_rank(p) < _ext_rank(best):
                    found[stem[:-3]][role] = p
    scenes = []
    for name, roles in sorted(found.items()):
        for role in ("lr", "hr"):
            if role not in roles:
                other = next(iter(roles.values()))
                raise HsiIOError(f"{folder}: scene {name!r} has {other.name} but no "
                                 f"{name}_{role}.* file")
        scenes.append(Scene(name, roles["lr"].resolve(), roles["hr"].resolve()))
    return scenes


def _stem(p: Path) -> str:
    """A folder manifest's file name without its extension: only the last suffix goes, so a
    scene name may hold dots (``site.2020_lr.tif`` is scene ``site.2020``); a folder (a PNG
    cube) keeps its whole name."""
    return p.name if p.is_dir() else p.stem


def _ext_rank(p: Path) -> int:
    suffix = p.suffix.lower()
    return _EXT_PREFERENCE.index(suffix) if suffix in _EXT_PREFERENCE else len(_EXT_PREFERENCE)


def _check_scenes(scenes: list[Scene], where: str) -> None:
    if not scenes:
        raise FormatError(f"{where}: manifest lists no scenes")
    seen: set[str] = set()
    for s in scenes:
        if not _SAFE_NAME.fullmatch(s.name):
            raise FormatError(f"{where}: scene name {s.name!r} is not a plain file name (use "
                              f"letters, digits, '.', '_' and '-', not starting with '.' or '-')")
        if s.name in seen:
            raise FormatError(f"{where}: scene name {s.name!r} appears twice")
        seen.add(s.name)


# ------------------------------------------------------------------------- done-records
def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _file_stamp(path: Path) -> dict[str, Any]:
    st = path.stat()
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if path.suffix.lower() == ".hdr":  # ENVI: the data file matters as much as the header
        from hsi.io.formats import ENVI_DATA_EXTS

        for data in (path.with_suffix(""), *(path.with_suffix(e) for e in ENVI_DATA_EXTS)):
            if data.is_file():
                dst = data.stat()
                stamp["data"] = {"path": str(data), "size": dst.st_size,
                                 "mtime_ns": dst.st_mtime_ns}
                break
    return stamp


def _record_key(scene: Scene, settings: dict[str, Any]) -> dict[str, Any]:
    """What a done-record must match for the scene to be skipped."""
    from hsi._version import __version__

    return {
        "name": scene.name,
        "inputs": {role: _file_stamp(p) for role, p in scene.inputs.items()},
        **settings,
        "hsikit_version": __version__,
    }


def _done_path(out_dir: Path, scene: Scene) -> Path:
    return out_dir / (scene.output_name + DONE_SUFFIX)


def _done_record(out_dir: Path, scene: Scene, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The scene's done-record when it matches (the scene is done and skipped), else None."""
    record_path = _done_path(out_dir, scene)
    output = out_dir / scene.output_name
    if not record_path.is_file() or not output.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
        key = _record_key(scene, settings)
        if not isinstance(record, dict) or any(record.get(k) != v for k, v in key.items()):
            return None
        if record.get("output_size") != output.stat().st_size:
            return None
        # a corrupt output is redone
        return record if record.get("output_sha256") == file_sha256(output) else None
    except (OSError, ValueError):  # unreadable record or output: the scene is redone
        return None


def _record_warnings(record: dict[str, Any]) -> list[str]:
    """The warnings stored in a done-record (``[]`` for a record older than them)."""
    found = record.get("warnings")
    return [str(w) for w in found] if isinstance(found, list) else []


def _check_not_foreign(out_dir: Path, scenes: Iterable[Scene]) -> None:
    """Refuse to run when a scene's output exists without a done-record (or claim) beside it.

    Such a file was not written by a batch (a batch claims an output before writing it, see
    :func:`_claim`): overwriting it could lose the user's data.

    Raises
    ------
    HsiIOError
        ``OUT/NAME.tif: exists and was not written by a batch ...``, naming the first such file
        and how many more there are.
    """
    foreign = [out_dir / s.output_name for s in scenes
               if ((out_dir / s.output_name).exists() or (out_dir / s.output_name).is_symlink())
               and not _done_path(out_dir, s).exists()]
    if foreign:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise HsiIOError(f"{foreign[0]}: exists and was not written by a batch (no "
                         f"{foreign[0].name}{DONE_SUFFIX} beside it){more}: move it away or "
                         f"choose another output folder")


def _claim(out_dir: Path, scene: Scene) -> None:
    """Write a claim in place of the scene's done-record before its output is (re)written.

    A run killed between writing the output and its done-record leaves the claim, so the
    next run knows the output is a batch's own and redoes it (:func:`_check_not_foreign`).
    """
    from hsi.io.atomic import atomic_path

    with atomic_path(_done_path(out_dir, scene)) as tmp:
        tmp.write_text(json.dumps({"name": scene.name, "status": "claimed",
                                   "claimed": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))


def _drop_idle_claims(out_dir: Path, scenes: Iterable[Scene]) -> None:
    """Remove the claims of scenes that ended without an output (failed or interrupted)."""
    for s in scenes:
        record = _done_path(out_dir, s)
        if (out_dir / s.output_name).exists():
            continue
        with contextlib.suppress(OSError, ValueError):
            if json.loads(record.read_text()).get("status") == "claimed":
                record.unlink()


def _clean_stale_temporaries(out_dir: Path, scenes: Iterable[Scene]) -> list[Path]:
    """Remove temporaries of the outputs, their done-records and the report left by a killed
    earlier run."""
    from hsi.io.atomic import clean_stale_temporaries

    removed = []
    for s in scenes:
        removed += clean_stale_temporaries(out_dir / s.output_name)
        removed += clean_stale_temporaries(_done_path(out_dir, s))
    return removed + clean_stale_temporaries(out_dir / REPORT_NAME)


# -------------------------------------------------------------------- worker-side code
#: Per-process cache of loaded models: (path, sha256, device) -> model.
_MODEL_CACHE: dict[tuple[str, str, str], Any] = {}
#: How many times this process loaded a model (read by the tests through ``client.run``).
MODEL_LOADS = 0


def _cached_model(path: str, sha256: str, device: str, kind: str = "infn") -> Any:
    """Load the model at ``path`` once per process (keyed by path, content hash and device).

    ``kind``: ``"infn"`` (:func:`hsi.fusion.load_infn`) or ``"classifier"``
    (:func:`hsi.classification.pipeline.load_classifier`).
    """
    global MODEL_LOADS
    key = (path, sha256, device)
    if key not in _MODEL_CACHE:
        if kind == "classifier":
            from hsi.classification.pipeline import load_classifier

            _MODEL_CACHE[key] = load_classifier(path, device=device)
        else:
            from hsi.device import pick_device
            from hsi.fusion import load_infn

            _MODEL_CACHE[key] = load_infn(path, device=pick_device(device))
        MODEL_LOADS += 1
    return _MODEL_CACHE[key]


def model_loads() -> int:
    """Number of models this process has loaded (1 per worker after a batch with one model)."""
    return MODEL_LOADS


class _ThreadWarnings(logging.Handler):
    """Keeps the one-line messages of the WARNING-and-above records emitted by one thread.

    A worker may run several tasks in threads, each with its own handler on the same logger:
    the filter on the emitting thread keeps each scene's warnings its own.

    Parameters
    ----------
    thread : int
        The :func:`threading.get_ident` of the thread whose records are kept.

    Attributes
    ----------
    lines : list of str
        The messages, in the order first emitted, each once.
    """

    def __init__(self, thread: int) -> None:
        super().__init__(logging.WARNING)
        self.thread = thread
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = " ".join(record.getMessage().split())  # one line, whatever the message
        except Exception:  # a malformed log call: logging's own report, not a failed scene
            self.handleError(record)
            return
        if line not in self.lines:
            self.lines.append(line)


@contextlib.contextmanager
def _captured_warnings(logger: str = "hsi") -> Iterator[list[str]]:
    """Collect the warnings ``logger`` and its children emit in this thread, while in the block.

    Parameters
    ----------
    logger : str
        Name of the logger the handler is added to (records of its children reach it).

    Yields
    ------
    list of str
        The one-line messages, deduplicated in order; filled while the block runs.
    """
    handler = _ThreadWarnings(threading.get_ident())
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield handler.lines
    finally:
        target.removeHandler(handler)


def _scene_task(scene: Scene | CubeScene, out_dir: str, settings: dict[str, Any],
                make: Callable[[Path], str | os.PathLike], *,
                torch_threads: int | None = None) -> dict[str, Any]:
    """Run ``make(output_path) -> path`` for one scene, then write its done-record.

    The warnings the ``hsi`` loggers emit while ``make`` runs (in this thread) are kept in the
    done-record and the returned dict as ``"warnings"``.

    Raises
    ------
    SceneFailure
        When anything fails: the error in one line and the warnings given before it.
    """
    said: list[str] = []
    try:
        if torch_threads:
            import torch

            torch.set_num_threads(int(torch_threads))
        start = time.perf_counter()
        key = _record_key(scene, settings)  # stamp inputs before reading them
        with _captured_warnings() as said:
            output = _made_quietly(make, Path(out_dir) / scene.output_name)
        return _finish_scene(scene, Path(out_dir), key, output, time.perf_counter() - start,
                             said)
    except Exception as exc:
        failure = SceneFailure(_one_line(exc), said)
    # raised out of the except block: no __context__, which distributed (tblib) would pickle
    # too, and replace the whole error by its repr when ``exc`` cannot be pickled
    raise failure


def _made_quietly(make: Callable[[Path], str | os.PathLike], output: Path) -> Path:
    """``make(output)`` with lazy reads run here, not as tasks of the cluster the scene is
    itself a task of, and without rasterio's warning about a scene without a geotransform
    (normal; the CLI filters the same warning)."""
    import warnings

    import dask
    from rasterio.errors import NotGeoreferencedWarning

    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return Path(make(output))


def _finish_scene(scene: Scene | CubeScene, out: Path, key: dict[str, Any], output: Path,
                  seconds: float, said: list[str]) -> dict[str, Any]:
    """Write the done-record of a scene whose ``output`` was made in ``seconds`` s, giving the
    ``warnings`` ``said`` meanwhile; return the task's result dict."""
    from hsi.io.atomic import atomic_path

    record = {**key, "output": scene.output_name, "output_size": output.stat().st_size,
              "output_sha256": file_sha256(output),
              "seconds": round(seconds, 3),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "warnings": list(said)}
    with atomic_path(_done_path(out, scene)) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    return {"name": scene.name, "status": "done", "output": str(output), "seconds": seconds,
            "warnings": list(said)}


def fuse_scene(scene: Scene, out_dir: str, settings: dict[str, Any], *, device: str = "auto",
               torch_threads: int | None = None) -> dict[str, Any]:
    """Fuse one scene into ``out_dir/NAME.tif`` and write its done-record (runs on a worker).

    Returns
    -------
    dict
        ``name``, ``status`` ("done"), ``output``, ``seconds``, ``warnings`` (the one-line
        warnings of the ``hsi`` loggers while the scene ran).
    """
    from hsi.fusion.scene import fuse_files

    model = None
    if settings.get("model"):
        model = _cached_model(settings["model"], settings["model_sha256"], device)

    def make(output: Path) -> Path:
        return fuse_files(scene.lr_hsi, scene.hr_msi, output, method=settings["method"],
                          model=model, device=device, seed=settings["seed"], progress=False,
                          ratio=settings.get("ratio"))

    return _scene_task(scene, out_dir, settings, make, torch_threads=torch_threads)


def classify_scene(scene: CubeScene, out_dir: str, settings: dict[str, Any], *,
                   device: str = "auto", torch_threads: int | None = None) -> dict[str, Any]:
    """Classify one cube into the class map ``out_dir/NAME.tif`` (and its done-record).

    Runs :func:`hsi.classification.pipeline.classify_to_files` on the scene engine (the cube
    read window by window); the classifier is loaded once per worker process.

    Raises
    ------
    SceneFailure
        Whatever failed, in one line (``"ModelError: ..."`` when the model's bands do not
        match the cube), with the warnings given before.
    """
    from hsi.classification.pipeline import classify_to_files
    from hsi.errors import ModelError
    from hsi.io import open as open_cube

    clf = _cached_model(settings["model"], settings["model_sha256"], device, kind="classifier")

    def make(output: Path) -> Path:
        cube = open_cube(scene.cube, lazy=True)
        try:
            clf.check_cube(cube)
        except ModelError as exc:
            raise ModelError(f"{scene.cube}: {exc}") from None
        classify_to_files(clf, cube, output, use_crf=settings["crf"], tile=settings["tile"])
        return output

    return _scene_task(scene, out_dir, settings, make, torch_threads=torch_threads)


class SceneFailure(HsiError, RuntimeError):
    """A scene's task failed (raised on the worker, read back by the batch).

    Carries plain strings only, so it reaches the client whatever the original error was
    (distributed would replace an error it cannot pickle by its ``repr``).

    Parameters
    ----------
    reason : str
        The original error in one line, ``"Name: message"`` (:func:`_one_line`).
    warnings : list of str
        The one-line warnings the ``hsi`` loggers gave in the scene before it failed.
    """

    def __init__(self, reason: str, warnings: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.warnings = list(warnings)

    def __reduce__(self) -> tuple[type[SceneFailure], tuple[str, list[str]]]:
        return type(self), (self.reason, self.warnings)


def _failed_result(scene: _BatchScene, exc: BaseException) -> SceneResult:
    """The report entry of a scene whose task raised ``exc``: its reason in one line and the
    warnings given before the failure (none when the worker died or the error came from
    elsewhere)."""
    if isinstance(exc, SceneFailure):
        return SceneResult(scene.name, "failed", exc.reason, warnings=exc.warnings)
    return SceneResult(scene.name, "failed", _one_line(exc))


# ------------------------------------------------------------------------------ report
@dataclass
class SceneResult:
    """Outcome of one scene: ``status`` is ``"done"``, ``"skipped"`` or ``"failed"``.

    ``warnings`` are the one-line warnings the ``hsi`` loggers gave while the scene ran (an
    empty band, a fallback method...); a skipped scene has those of the run that made it, a
    failed one those given before it failed.
    """

    name: str
    status: str
    reason: str = ""
    output: str = ""
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    """What a batch did, scene by scene.

    Attributes
    ----------
    scenes : list of SceneResult
        In manifest order.
    out_dir : str
    seconds : float
        Wall time of the whole batch.
    dashboard : str
        Dask dashboard address, when one was running.
    """

    scenes: list[SceneResult] = field(default_factory=list)
    out_dir: str = ""
    seconds: float = 0.0
    dashboard: str = ""

    def _names(self, status: str) -> list[str]:
        return [s.name for s in self.scenes if s.status == status]

    @property
    def done(self) -> list[str]:
        return self._names("done")

    @property
    def skipped(self) -> list[str]:
        return self._names("skipped")

    @property
    def failed(self) -> list[str]:
        return self._names("failed")

    @property
    def exit_code(self) -> int:
        """1 when any scene failed, else 0."""
        return 1 if self.failed else 0

    def table(self) -> str:
        """A plain-text summary table: one line per scene and a totals line.

        A scene with warnings says how many in its detail (``(2 warnings)``); the lines
        themselves are :meth:`warning_lines`.
        """
        width = max([5, *(len(s.name) for s in self.scenes)])
        lines = [f"{'scene':<{width}}  {'status':<7}  {'time':>7}  detail"]
        for s in self.scenes:
            t = f"{s.seconds:6.1f}s" if s.status == "done" else ""
            detail = s.reason or s.output
            if s.warnings:
                n = len(s.warnings)
                detail += f" ({n} warning{'s' if n > 1 else ''})"
            lines.append(f"{s.name:<{width}}  {s.status:<7}  {t:>7}  {detail}")
        lines.append(f"{len(self.done)} done, {len(self.skipped)} skipped, "
                     f"{len(self.failed)} failed in {self.seconds:.1f} s; "
                     f"outputs in {self.out_dir}")
        return "\n".join(lines)

    def warning_lines(self) -> list[str]:
        """Every scene's warnings, one line each as ``NAME: message``, in manifest order."""
        return [f"{s.name}: {w}" for s in self.scenes for w in s.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": self.out_dir, "seconds": round(self.seconds, 3),
                "dashboard": self.dashboard,
                "counts": {"done": len(self.done), "skipped": len(self.skipped),
                           "failed": len(self.failed)},
                "scenes": [asdict(s) for s in self.scenes]}

    def write(self, path: str | os.PathLike) -> Path:
        """Write the report as JSON (atomically)."""
        from hsi.io.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1))
        return Path(path)


#: ``Name('message')``: how distributed passes on an exception it could not pickle.
_REPR_RE = re.compile(r"""^(\w+)\((['"])(.*)\2\)$""", re.DOTALL)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if type(exc) is Exception and (m := _REPR_RE.match(text)):
        name, text = m.group(1), m.group(3).strip().splitlines()[0]
    if name == "KilledWorker":
        return ("KilledWorker: the worker running this scene died (out of memory? raise the "
                "memory limit or use smaller tiles)")
    return f"{name}: {text}" if text else name


# ------------------------------------------------------------------------------ driver
def run_batch(manifest: str | os.PathLike | Sequence[Scene], out_dir: str | os.PathLike, *,
              method: str = "auto", model: str | os.PathLike | None = None,
              client: Client | None = None,
              scheduler: str | None = None, workers: int | None = None, retries: int = 0,
              progress: bool = True, device: str = "auto", seed: int = 0,
              memory_limit: str | float | None = "auto", wait: bool = False,
              security: Security | None = None, ratio: int | None = None) -> BatchReport:
    """Fuse every scene of ``manifest`` into ``out_dir/NAME.tif`` on a Dask cluster.

    Parameters
    ----------
    manifest : path or sequence of Scene
        CSV (``name,lr_hsi,hr_msi``) or folder of ``NAME_lr.*``/``NAME_hr.*`` pairs.
    out_dir : path
        Output folder (created). Holds ``NAME.tif``, ``NAME.tif.done.json`` and
        ``batch-report.json``.
    method : str
        Fusion method passed to :func:`hsi.fusion.fuse` (``infn``, ``glp``, ``gsa``...).
    ratio : int, optional
        The HR/LR ratio of every scene (default: from each pair's georeference or sizes):
        for pairs without georeference whose sizes are a few pixels off one integer ratio.
    model : path, optional
        INFN checkpoint; read once per worker.
    client : distributed.Client, optional
        Use this client's cluster.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:port``); ignored when ``client`` is given.
        Its workers must see the same paths.
    workers : int, optional
        Worker processes of the local cluster (default: CPU count, at most one per scene).
    retries : int
        Times a failing scene is retried before it counts as failed.
    progress : bool
        Show scenes done / total with an ETA on stderr.
    device : str
        Torch device on the workers (``auto``, ``cpu``, ``cuda``).
    seed : int
        Seed passed to each fusion.
    memory_limit : str or float, optional
        Memory limit per local worker (``"auto"``: system memory divided among workers).
    wait : bool
        When another batch is writing to ``out_dir``, wait for it instead of raising.
    security : distributed.Security, optional
        TLS settings for a ``tls://`` scheduler (see :func:`tls_security`).

    Returns
    -------
    BatchReport
        Also written to ``out_dir/batch-report.json``.

    Raises
    ------
    FormatError, HsiIOError
        For a bad manifest, an output that is an input, an output file that exists without a
        done-record (not a batch's: never overwritten), or an ``out_dir`` another batch is
        writing to (before anything is written).
    ConfigError
        For ``workers`` below 1 or ``retries`` below 0 (before anything is written).
    DeviceError
        For ``device="cuda"`` without CUDA here, when the batch runs on a local cluster
        (before anything is written or started).
    SchedulerError
        For a malformed ``scheduler`` address (:class:`SchedulerAddressError`) or one that
        cannot be reached within Dask's connect timeout (:class:`SchedulerConnectError`);
        checked, then connected to, before anything is written.
    """
    start = time.perf_counter()
    scenes = read_manifest(manifest)
    model = _model_path(model)

    def settings() -> dict[str, Any]:
        return {"method": method, "model": str(model) if model is not None else None,
                "model_sha256": file_sha256(model) if model is not None else None,
                "seed": int(seed),
                # always stamped, so a record made with --ratio does not match a run without
                # it; a record older than the option has none (None: it matches that run)
                "ratio": int(ratio) if ratio is not None else None}

    return _run_batch(scenes, out_dir, start, fuse_scene, settings, model=model, wait=wait,
                      client=client, scheduler=scheduler, workers=workers, retries=retries,
                      progress=progress, device=device, memory_limit=memory_limit,
                      security=security)


def run_classify_batch(manifest: str | os.PathLike | Sequence[CubeScene],
                       out_dir: str | os.PathLike, *, model: str | os.PathLike,
                       use_crf: bool = True, tile: int = 512, client: Client | None = None,
                       scheduler: str | None = None, workers: int | None = None,
                       retries: int = 0, progress: bool = True, device: str = "auto",
                       memory_limit: str | float | None = "auto", wait: bool = False,
                       security: Security | None = None) -> BatchReport:
    """Classify every cube of ``manifest`` into ``out_dir/NAME.tif`` on a Dask cluster.

    The same contract as :func:`run_batch` (done-records, resume, lock, report, retries,
    failures isolated), with :func:`classify_scene` as the task.

    Parameters
    ----------
    manifest : path or sequence of CubeScene
        CSV (``name,cube``) or folder of cubes (:func:`read_cube_manifest`).
    out_dir : path
        Output folder: ``NAME.tif`` class maps, ``NAME.tif.done.json``, ``batch-report.json``.
    model : path
        Classifier checkpoint (``hsi classify train``); read once per worker.
    use_crf : bool
        Dense-CRF refinement.
    tile : int
        Prediction tile side, pixels.
    client, scheduler, workers, retries, progress, device, memory_limit, wait, security
        As :func:`run_batch`.

    Returns
    -------
    BatchReport

    Raises
    ------
    FormatError, HsiIOError, DeviceError, SchedulerError
        As :func:`run_batch`.
    """
    start = time.perf_counter()
    scenes = read_cube_manifest(manifest)
    model = _model_path(model)
    if model is None:
        raise HsiIOError("classify batch: a classifier model file is required")

    def settings() -> dict[str, Any]:
        return {"job": "classify", "model": str(model), "model_sha256": file_sha256(model),
                "crf": bool(use_crf), "tile": int(tile)}

    return _run_batch(scenes, out_dir, start, classify_scene, settings, model=model, wait=wait,
                      client=client, scheduler=scheduler, workers=workers, retries=retries,
                      progress=progress, device=device, memory_limit=memory_limit,
                      security=security)


def _model_path(model: str | os.PathLike | None) -> Path | None:
    """The model file, absolute; :class:`HsiIOError` when it does not exist."""
    if model is None:
        return None
    model = Path(model).resolve()
    if not model.is_file():
        raise HsiIOError(f"{model}: no such model file")
    return model


def _run_batch(scenes: list, out_dir: str | os.PathLike, start: float,
               task: Callable[..., dict[str, Any]], settings: Callable[[], dict[str, Any]], *,
               model: Path | None, wait: bool, client: Client | None, scheduler: str | None,
               device: str, security: Security | None, **run: Any) -> BatchReport:
    """Check the outputs, the device and the scheduler, take the folder's lock and run ``task``
    on every scene not done.

    Everything that can be refused is refused before the output folder or its lock exist: a
    device this machine lacks (a local cluster only: a scheduler's workers run elsewhere), a
    malformed scheduler address, a scheduler that cannot be reached (connected to first).
    """
    from hsi.io.atomic import check_writable_dir

    _check_counts(run["workers"], run["retries"])
    _check_batch_outputs(scenes, Path(out_dir), model)
    if client is None and scheduler:
        check_scheduler_address(scheduler)
    elif client is None:
        _check_local_device(device)
    with contextlib.ExitStack() as stack:
        if client is None and scheduler:
            client = stack.enter_context(_connect(scheduler, security))
        out = check_writable_dir(out_dir).resolve()
        with _batch_lock(out, wait=wait):
            return _run_locked(scenes, out, start, task, settings(), client=client,
                               device=device, **run)


def _check_counts(workers: int | None, retries: int) -> None:
    """Refuse a worker count below 1 and a negative retry count (the CLI's ranges).

    Raises
    ------
    ConfigError
        ``workers=0: ...`` or ``retries=-1: ...``.
    """
    from hsi.check import is_whole_number

    if workers is not None and not is_whole_number(workers, 1):
        raise ConfigError(f"workers={workers!r}: the local cluster needs a whole number of "
                          f"worker processes, at least 1 (or None: one per CPU)")
    if not is_whole_number(retries, 0):
        raise ConfigError(f"retries={retries!r}: retries of a failing scene must be a whole "
                          f"number, 0 or more")


def _check_local_device(device: str) -> None:
    """Refuse a device this machine does not have (:func:`hsi.device.pick_device`'s check),
    before a local cluster starts whose every scene would fail on it.

    Raises
    ------
    DeviceError
        CUDA asked for where it is not available.
    ConfigError
        An unknown device name.
    """
    if isinstance(device, str) and device.lower() not in ("auto", "cpu"):
        from hsi.device import pick_device

        pick_device(device)


def check_scheduler_address(address: str) -> None:
    """Check the form of a scheduler address (``tcp://HOST:PORT``, ``tls://HOST:PORT``...)
    without connecting to it.

    Raises
    ------
    SchedulerAddressError
        When ``address`` is not ``[SCHEME://]HOST:PORT`` of a scheme Dask connects over.
    """
    from distributed.comm.addressing import get_address_host_port, parse_address

    expected = "expected tcp://HOST:PORT, or tls://HOST:PORT with TLS"
    if not isinstance(address, str) or not address.strip():
        raise SchedulerAddressError(str(address), f"empty address ({expected})")
    scheme = parse_address(address)[0]
    try:
        host, port = get_address_host_port(address)
    except (TypeError, ValueError, ImportError, NotImplementedError):
        why = (f"unknown scheme {scheme}://" if "://" in address
               and scheme not in ("tcp", "tls", "ws", "wss") else "not HOST:PORT")
        raise SchedulerAddressError(address, f"not a scheduler address ({why}; {expected})") \
            from None
    if not host:
        raise SchedulerAddressError(address, f"no host ({expected})")
    if not 0 < port < 65536:
        raise SchedulerAddressError(address, f"port {port} is not in 1-65535")


@contextlib.contextmanager
def _connect(scheduler: str, security: Security | None = None) -> Iterator[Client]:
    """A :class:`distributed.Client` of the scheduler at ``scheduler``, closed on exit.

    Raises
    ------
    SchedulerConnectError
        When no connection is made within Dask's connect timeout
        (``distributed.comm.timeouts.connect``) or the connection is refused (TLS).
    """
    import asyncio

    from distributed import Client

    try:
        client = Client(scheduler, security=security)
    except (OSError, asyncio.TimeoutError) as exc:  # the latter no OSError before Python 3.11
        raise SchedulerConnectError(scheduler, f"cannot connect ({_connect_reason(exc)})") \
            from None
    with client:
        yield client


def _connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words (without the address, said already)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^Timed out trying to connect to \S+ after", "timed out after", text)


def _check_batch_outputs(scenes: list[Scene], out_dir: Path, model: Path | None) -> None:
    """No scene's output (or done-record) may be one of the batch's inputs."""
    from hsi.io.guard import check_outputs

    inputs = [p for s in scenes for p in s.inputs.values()] + [model]
    for s in scenes:
        check_outputs([out_dir / s.output_name, _done_path(out_dir, s)], inputs)
    check_outputs([out_dir / REPORT_NAME], inputs)


@contextlib.contextmanager
def _batch_lock(out: Path, *, wait: bool) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (``fcntl.flock`` on :data:`LOCK_NAME`).

    Raises
    ------
    HsiIOError
        When another batch holds the lock and ``wait`` is False.
    """
    import fcntl

    path = out / LOCK_NAME
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise HsiIOError(f"{out}: another batch is writing to this folder (give wait=True "
                             f"to wait for it)") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run_locked(scenes: list, out: Path, start: float, task: Callable[..., dict[str, Any]],
                settings: dict[str, Any], *, client: Client | None, workers: int | None,
                retries: int, progress: bool, device: str,
                memory_limit: str | float | None) -> BatchReport:
    removed = _clean_stale_temporaries(out, scenes)
    if removed:
        log.info("removed %d temporary files left by an earlier run", len(removed))

    results: dict[str, SceneResult] = {}
    todo = []
    for s in scenes:
        record = _done_record(out, s, settings)
        if record is not None:
            results[s.name] = SceneResult(s.name, "skipped", "done-record matches",
                                          str(out / s.output_name),
                                          warnings=_record_warnings(record))
        else:
            todo.append(s)
    _check_not_foreign(out, todo)
    for s in todo:
        _claim(out, s)

    report = BatchReport(out_dir=str(out))
    if todo:
        try:
            _run_on_cluster(todo, out, task, settings, results, report, client=client,
                            workers=workers, retries=retries, progress=progress, device=device,
                            memory_limit=memory_limit, total=len(scenes))
        except BaseException:  # Ctrl-C: the cluster is closed, its workers' temporaries go
            _clean_stale_temporaries(out, todo)
            raise
        finally:
            _drop_idle_claims(out, todo)
    report.scenes = [results[s.name] for s in scenes]
    report.seconds = time.perf_counter() - start
    report.write(out / REPORT_NAME)
    return report


def _run_on_cluster(todo: list, out: Path, task: Callable[..., dict[str, Any]],
                    settings: dict[str, Any], results: dict[str, SceneResult],
                    report: BatchReport, *, client: Client | None, workers: int | None,
                    retries: int, progress: bool, device: str,
                    memory_limit: str | float | None, total: int) -> None:
    """Run ``task`` on the scenes ``todo`` on ``client``'s cluster, or on a local cluster
    started here when ``client`` is None."""
    from distributed import Client, LocalCluster, as_completed

    from hsi.progress import progress_bar

    with contextlib.ExitStack() as stack:
        torch_threads = None
        if client is None:
            n = int(workers) if workers else min(os.cpu_count() or 1, len(todo))
            n = max(1, n)
            torch_threads = max(1, (os.cpu_count() or 1) // n)
            has_bokeh = importlib.util.find_spec("bokeh") is not None
            with _workers_ignore_sigint():
                cluster = stack.enter_context(LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True,
                    memory_limit=memory_limit,
                    dashboard_address="127.0.0.1:0" if has_bokeh else None,  # local only
                    silence_logs=logging.CRITICAL))
            client = stack.enter_context(Client(cluster))
        report.dashboard = _dashboard_link(client)
        if report.dashboard and progress:
            print(f"Dask dashboard: {report.dashboard}", file=sys.stderr)

        token = uuid.uuid4().hex[:8]
        futures = {}
        for s in todo:
            fut = client.submit(task, s, str(out), settings, device=device,
                                torch_threads=torch_threads,
                                key=f"{task.__name__}-{s.name}-{token}",
                                retries=int(retries), pure=False)
            futures[fut] = s
        bar = progress_bar(total=total, initial=total - len(todo), unit="scene", desc="scenes",
                           disable=not progress, dynamic_ncols=True)
        try:
            for fut in as_completed(list(futures)):
                s = futures[fut]
                if fut.status == "finished":
                    r = fut.result()
                    results[s.name] = SceneResult(s.name, "done", "", r["output"],
                                                  float(r["seconds"]),
                                                  warnings=list(r.get("warnings", [])))
                else:
                    results[s.name] = _failed_result(s, fut.exception())
                bar.update(1)
                bar.set_postfix_str(f"failed={sum(r.status == 'failed' for r in results.values())}")
        except BaseException:
            client.cancel(list(futures))
            raise
        finally:
            bar.close()


def tls_security(ca_file: str, cert: str, key: str | None = None) -> Security:
    """Dask TLS settings for a ``tls://`` scheduler: encryption required, our client certificate.

    Raises
    ------
    HsiIOError
        When a certificate or key file does not exist.
    """
    from distributed.security import Security

    for path in (ca_file, cert, key):
        if path is not None and not Path(path).is_file():
            raise HsiIOError(f"{path}: no such certificate or key file")
    return Security(tls_ca_file=str(ca_file), tls_client_cert=str(cert),
                    tls_client_key=str(key) if key else None, require_encryption=True)


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited), so Ctrl-C reaches only us.

    A terminal's Ctrl-C goes to the whole process group; the workers would each print a
    traceback. This process handles it (one line, exit 130) and closes the cluster. While the
    workers start, SIGINT is also blocked here: Linux keeps a blocked signal pending even while
    its action is "ignore", so a Ctrl-C in that second is delivered (as KeyboardInterrupt) when
    the block ends, instead of being lost.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # the resource tracker process (started with our -W options) would report the cluster's
    # semaphores as "leaked" after an interrupt: it cleans them up, the warning only alarms
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    if quiet not in sys.warnoptions:
        sys.warnoptions.append(quiet)
    # started now, not in the block: starting it unblocks SIGINT in the calling thread
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending Ctrl-C is raised here


def _dashboard_link(client: Client) -> str:
    """The dashboard address when the scheduler runs one, else ``""``."""
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # an old or remote scheduler that does not answer: no link
        return ""
    if "dashboard" not in services:
        return ""
    return str(client.dashboard_link)
