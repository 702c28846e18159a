"""Atomic, checked writes: a failed or interrupted write leaves nothing at the destination.

:func:`atomic_path` yields a temporary file beside the destination. When the body succeeds the
temporary is flushed to disk (``fsync``), given the mode the destination would have (the mode
of the file it replaces, else ``0o666`` minus the umask, read without changing it) and renamed
onto the destination. When anything fails (an exception, Ctrl-C, a full disk, a GDAL write
error) the temporary and any folder created for it are removed, and an ``OSError`` becomes one
:class:`~hsi.errors.HsiIOError` naming the destination and the cause, e.g.
``OUT.tif: no space left on device (needs ~12 MB)``.

:func:`new_folder_removed_on_failure` does the same for an output folder a command creates
before it writes into it (a batch, the demo, a split): made and left empty by a failure, it
goes again.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hsi.errors import HsiError, HsiIOError


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


def _missing_parents(folder: Path) -> list[Path]:
    """The folders ``mkdir(parents=True)`` would create for ``folder``, deepest first."""
    out = []
    probe = folder.absolute()
    while not probe.exists() and probe != probe.parent:
        out.append(probe)
        probe = probe.parent
    return out


def _remove_left_empty(created: list[Path], own_files: tuple[str, ...] = ()) -> None:
    """Remove the folders ``created`` (deepest first) that are empty, or (the deepest) hold
    nothing but the files named ``own_files``, which go with it."""
    if created and own_files:
        with contextlib.suppress(OSError):
            entries = {p.name for p in created[0].iterdir()}
            if entries and entries <= set(own_files):
                for name in entries:
                    (created[0] / name).unlink()
    for d in created:  # only folders this process created; rmdir leaves any that are not empty
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def new_folder_removed_on_failure(folder: str | os.PathLike,
                                  own_files: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield ``folder``; when the body fails (an exception, Ctrl-C), remove it, and the parents
    made for it, if the body created them and left them empty.

    For a command that creates its output folder and fills it later (a batch, the demo, a
    split): a failure before anything is written leaves the file system as it was. A folder
    that existed before is never removed, nor one holding anything but ``own_files``: names
    of files the command itself puts there before any output (a lock, a marker), removed with
    the folder when nothing else is there.

    Parameters
    ----------
    folder : path
        The output folder (it need not exist yet).
    own_files : tuple of str
        File names in ``folder`` that do not count as output.
    """
    folder = Path(folder)
    created = _missing_parents(folder)
    try:
        yield folder
    except BaseException:
        _remove_left_empty(created, own_files)
        raise


@functools.cache
def process_umask() -> int:
    """The process umask, read from ``/proc/self/status`` (never set, so threads are safe).

    Falls back to ``0o022`` where ``/proc`` does not say.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _mode_for(dest: Path) -> int:
    """The permission bits ``dest`` keeps (an existing file's) or gets (a new file's)."""
    try:
        return dest.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~process_umask()


def _cause(exc: BaseException) -> str:
    """The innermost useful message of ``exc`` (GDAL's, behind rasterio's "see previous")."""
    seen, depth = exc, 0
    while (seen.__cause__ is not None or seen.__context__ is not None) and depth < 10:
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    if isinstance(seen, OSError) and seen.strerror:  # not the temporary's name it carries
        return seen.strerror
    text = str(seen).strip() or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


#: Free bytes below which a failed write is put down to a full disk (GDAL reports the full
#: disk only in a log line and raises a generic I/O error).
NEARLY_FULL_BYTES = 1 << 20


def _no_space(exc: BaseException, folder: Path | None) -> bool:
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(getattr(e, "errno", None) == errno.ENOSPC or "No space left" in str(e)
           or "requested and" in str(e) for e in chain):
        return True
    try:
        st = os.statvfs(folder) if folder is not None else None
    except OSError:
        return False
    return st is not None and st.f_bavail * st.f_frsize < NEARLY_FULL_BYTES


def write_error(dest: str | os.PathLike, exc: BaseException,
                size_hint: int | None = None) -> HsiIOError:
    """The one-line :class:`HsiIOError` for a failed write of ``dest``."""
    folder = Path(dest).parent if str(Path(dest).parent) else Path(".")
    if _no_space(exc, folder):
        need = f" (needs ~{max(1, round(size_hint / 1e6))} MB)" if size_hint else ""
        return HsiIOError(f"{dest}: no space left on device{need}")
    return HsiIOError(f"{dest}: write failed ({_cause(exc)})")


def _fsync(path: Path) -> None:
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _verify_written(tmp: Path, dest: Path) -> None:
    """Re-read a written GeoTIFF's last band: GDAL can fail at close without raising.

    The band is decoded one block row at a time (bounded memory); GDAL's ``checksum`` of
    the same band did the same reads plus a per-pixel sum that cost 0.4 s of a 2048² ×
    204-band ``hsi fuse`` (see benchmarks/RESULTS.md).

    Raises
    ------
    OSError
        (turned into a one-line :class:`HsiIOError` by :func:`atomic_path`) when the file is
        empty or cannot be read back.
    """
    if dest.suffix.lower() not in (".tif", ".tiff") or not tmp.is_file():
        return
    if tmp.stat().st_size == 0:
        raise OSError(errno.EIO, "nothing was written")
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(tmp) as src:
            rows = src.block_shapes[-1][0]
            for r0 in range(0, src.height, rows):
                src.read(src.count, window=((r0, min(src.height, r0 + rows)), (0, src.width)))
    except RasterioError as exc:
        raise OSError(errno.EIO, f"cannot read back the written file ({_cause(exc)})") from None


class _Staged:
    """One destination's temporary beside it, from creation to rename (or removal)."""

    def __init__(self, dest: Path, suffix: str | None, size_hint: int | None) -> None:
        self.dest, self.suffix, self.size_hint, self.tmp = dest, suffix, size_hint, None
        self.old: Path | None = None  # what dest held, kept while several files are committed
        self.old_linked = self.committed = False
        if dest.is_dir():  # found before anything is written, not at the rename
            raise HsiIOError(f"{dest}: is a folder, expected an output file name")
        self.folder = dest.parent if str(dest.parent) else Path(".")
        self.created = _missing_parents(self.folder)
        check_writable_dir(self.folder)

    def open(self) -> None:
        """Create the empty temporary (named ``.NAME.PID.XXXX….part``)."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.dest.name}.{os.getpid()}.",
                                   suffix=(self.suffix or self.dest.suffix) + ".part",
                                   dir=self.folder)
        os.close(fd)
        self.tmp = Path(tmp)
        self.mode = _mode_for(self.dest)

    def prepare(self) -> None:
        """Check the written temporary, flush it to disk and give it the destination's mode."""
        _verify_written(self.tmp, self.dest)
        _fsync(self.tmp)
        os.chmod(self.tmp, self.mode)

    def keep_old(self) -> None:
        """Before a commit that may have to be undone: keep the file ``dest`` holds now (if
        any) under a temporary name (``.NAME.PID.XXXX….old.part``, which
        :func:`clean_stale_temporaries` removes if this process dies), as a hard link, so
        ``dest`` stays in place until it is replaced; where the file system has no hard
        links, by renaming it aside."""
        self.old = self.tmp.with_name(self.tmp.name.removesuffix(".part") + ".old.part")
        try:
            os.link(self.dest, self.old, follow_symlinks=False)
            self.old_linked = True
        except FileNotFoundError:
            self.old = None  # nothing there: undoing the commit removes the new file
        except OSError:
            if not self.dest.is_file():
                self.old = None
                return
            os.replace(self.dest, self.old)
            self.old_linked = False

    def commit(self) -> None:
        os.replace(self.tmp, self.dest)
        self.committed = True

    def undo(self) -> None:
        """Put back what ``dest`` held before :meth:`commit` (nothing: remove the new file).
        Where that fails, the kept copy stays (``.NAME….old.part``), not removed."""
        try:
            if self.old is not None:
                if self.committed or not self.old_linked:
                    os.replace(self.old, self.dest)
            elif self.committed:
                self.dest.unlink(missing_ok=True)
        except OSError:
            self.old = None  # the only copy of the earlier file now: kept
        self.committed = False

    def drop_old(self) -> None:
        """Remove the copy :meth:`keep_old` kept (if still there)."""
        if self.old is not None:
            with contextlib.suppress(OSError):
                self.old.unlink(missing_ok=True)

    def remove(self) -> None:
        """Remove the temporary (if still there) and the folders created for it, left empty."""
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
        _remove_left_empty(self.created)  # only folders this write created and left empty

    def error(self, exc: BaseException) -> BaseException | None:
        """The one-line error naming this destination for ``exc``; None to re-raise ``exc``."""
        if isinstance(exc, HsiIOError) and self.tmp is not None and str(self.tmp) in str(exc):
            # a nested atomic write of the temporary: name the real destination
            return HsiIOError(str(exc).replace(str(self.tmp), str(self.dest)))
        if isinstance(exc, OSError) and not isinstance(exc, HsiError):
            return write_error(self.dest, exc, self.size_hint)
        if type(exc).__module__.startswith("rasterio") and not isinstance(exc, HsiError):
            return write_error(self.dest, exc, self.size_hint)
        return None


def _commit_all(staged: list[_Staged]) -> None:
    """Rename each temporary onto its destination, all or none: with several, a rename that
    fails puts back the files the earlier ones replaced (and removes those they created)."""
    if len(staged) == 1:
        staged[0].commit()
        return
    try:
        for s in staged:
            s.keep_old()
        for s in staged:
            s.commit()
    except BaseException:
        for s in reversed(staged):
            s.undo()
        raise
    finally:
        for s in staged:
            s.drop_old()


@contextlib.contextmanager
def _staged_writes(dests: list[Path], suffix: str | None,
                   size_hint: int | None) -> Iterator[list[Path]]:
    """Temporaries for ``dests``; after the body, all are checked and flushed, then renamed
    into place together with Ctrl-C held back, so an interrupt leaves all or none.

    Several files are a set: the file each destination held before is kept aside
    (:meth:`_Staged.keep_old`) until every rename is done, so a rename that fails after
    others succeeded puts the earlier files back (or removes the new ones) rather than leave
    new files beside old ones of a previous run.
    """
    from hsi.interrupts import interrupts_deferred

    staged: list[_Staged] = []
    try:
        for dest in dests:
            staged.append(_Staged(dest, suffix, size_hint))
            staged[-1].open()
        yield [s.tmp for s in staged]
        for s in staged:
            s.prepare()
        with interrupts_deferred():
            _commit_all(staged)
    except BaseException as exc:
        # told before the temporaries go: a full disk is recognised by its free space
        named = [s for s in staged if s.tmp is not None and str(s.tmp) in str(exc)]
        err = (named or staged[-1:] or [None])[0]
        replacement = err.error(exc) if err is not None else None
        for s in reversed(staged):
            s.remove()
        if replacement is not None:
            raise replacement from None
        raise


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None,
                size_hint: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it onto ``dest`` only on success.

    The temporary file lives in the destination folder (so ``os.replace`` is atomic) and is
    removed when the body raises, including on ``KeyboardInterrupt``; so is any folder created
    for it.

    Parameters
    ----------
    dest : path
        Final file path.
    suffix : str, optional
        Suffix of the temporary file (defaults to ``dest``'s, so format drivers that look at the
        extension behave).
    size_hint : int, optional
        Expected size in bytes, named in the "no space left" message.

    Raises
    ------
    HsiIOError
        When the destination folder cannot be written, or writing fails (full disk, I/O or
        GDAL error): one line naming ``dest`` and the cause.
    """
    with _staged_writes([Path(dest)], suffix, size_hint) as (tmp,):
        yield tmp


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def clean_stale_temporaries(dest: str | os.PathLike) -> list[Path]:
    """Remove temporaries of ``dest`` left by writers that were killed (SIGKILL, power loss).

    Temporaries are named ``.NAME.PID.XXXX…part``; only those whose process no longer exists
    are removed, so a concurrent writer of the same file keeps its own.

    Returns
    -------
    list of Path
        The files removed.
    """
    import glob
    import re

    dest = Path(dest)
    folder = dest.parent if str(dest.parent) else Path(".")
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.(\d+)\..*\.part$")
    removed = []
    for p in folder.glob(f".{glob.escape(dest.name)}.*.part"):
        m = pattern.match(p.name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_files(dests: list[str | os.PathLike],
                 size_hint: int | None = None) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for several files written together (e.g. ENVI ``.hdr`` + data).

    All temporaries are moved into place only after the body succeeds and every one of them
    is checked and flushed; the renames run with Ctrl-C held back. On failure or interrupt
    none of the destinations is created.
    """
    with _staged_writes([Path(d) for d in dests], None, size_hint) as tmps:
        yield tmps
