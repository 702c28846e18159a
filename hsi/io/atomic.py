"""Atomic writes: a failed or interrupted write leaves nothing at the destination."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hsi.errors import HsiIOError


def check_writable_dir(folder: str | os.PathLike) -> Path:
    """Return ``folder`` as a Path after checking it exists (or can be created) and is writable.

    Raises
    ------
    HsiIOError
        When the folder cannot be created or written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HsiIOError(f"{folder}: cannot create output folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HsiIOError(f"{folder}: output folder is not writable")
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _chmod_like_new_file(path: Path) -> None:
    """Give a ``mkstemp`` file (mode 0600) the mode an ordinary new file would get."""
    if path.exists():
        os.chmod(path, 0o666 & ~_umask())


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it onto ``dest`` only on success.

    The temporary file lives in the destination folder (so ``os.replace`` is atomic) and is
    removed when the body raises, including on ``KeyboardInterrupt``.

    Parameters
    ----------
    dest : path
        Final file path.
    suffix : str, optional
        Suffix of the temporary file (defaults to ``dest``'s, so format drivers that look at the
        extension behave).

    Raises
    ------
    HsiIOError
        When the destination folder cannot be written.
    """
    dest = Path(dest)
    folder = check_writable_dir(dest.parent if str(dest.parent) else ".")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=(suffix or dest.suffix) + ".part",
                               dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _chmod_like_new_file(tmp_path)
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_files(dests: list[str | os.PathLike]) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for several files written together (e.g. ENVI ``.hdr`` + data).

    All temporaries are moved into place only after the body succeeds; on failure none of the
    destinations is created.
    """
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(atomic_path(d)) for d in dests]
        yield paths


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``dest``; rename it to ``dest`` on success.

    Raises
    ------
    HsiIOError
        When ``dest`` exists and is not an empty folder, or the parent is not writable.
    """
    dest = Path(dest)
    parent = check_writable_dir(dest.parent if str(dest.parent) else ".")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise HsiIOError(f"{dest}: already exists and is not an empty folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
