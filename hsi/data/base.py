"""The dataset base class, the data folder and checksummed downloads (torchgeo style).

A dataset is a small class declaring its ``files`` (relative path -> sha256), where to download
them (``urls``), its citation and licence; :meth:`Dataset.load` returns a :class:`Sample`.
Files are looked up under :func:`data_dir`.

Downloads come from the registered URLs, or only from a mirror when ``$HSI_DATA_MIRROR`` is
set (:func:`mirror_url`): a copy of a data folder served as it is, e.g. by
``python -m http.server`` run in it, or a local folder. Every file is checked against its
sha256 before it appears under its final name.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from hsi.cube import Cube
from hsi.errors import ChecksumError, DatasetNotFoundError, HsiError, HsiIOError

#: Environment variable naming the data folder.
ENV_VAR = "HSI_DATA_DIR"

#: Environment variable naming a mirror to download from instead of the registered URLs.
MIRROR_ENV_VAR = "HSI_DATA_MIRROR"

#: The repository root when hsikit runs from a checkout (``hsi/data/base.py`` -> root).
REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """Return the folder datasets are read from (and downloaded to).

    In order: ``$HSI_DATA_DIR``; ``../shared/data`` beside the repository root when hsikit
    runs from a checkout (not an installed package) and that folder exists; else a per-user
    cache, ``$XDG_CACHE_HOME/hsikit`` (``~/.cache/hsikit``).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    shared = REPO_ROOT.parent / "shared" / "data"
    if (REPO_ROOT / "pyproject.toml").is_file() and shared.is_dir():  # a checkout only
        return shared
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "hsikit"


def mirror_url(relative: str) -> str | None:
    """The URL of data-folder file ``relative`` on the mirror ``$HSI_DATA_MIRROR``, if set.

    The mirror holds the files under the same relative paths as the data folder (e.g.
    ``samson/Samson.mat``), so a complete data folder served as it is makes one::

        cd /path/to/data && python -m http.server 8000       # on the mirror host
        HSI_DATA_MIRROR=http://host:8000 hsi data fetch samson

    ``HSI_DATA_MIRROR`` is a base URL (``http://``, ``https://``, ``file://``) or a local
    folder. When it is set, downloads come from the mirror only (behind a firewall the
    registered URLs would only time out); the sha256 checks are the same.

    Returns
    -------
    str or None
        ``BASE/RELATIVE`` (quoted), or ``None`` when ``$HSI_DATA_MIRROR`` is unset or empty.
    """
    base = os.environ.get(MIRROR_ENV_VAR, "").strip()
    if not base:
        return None
    if "://" not in base:  # a folder
        base = Path(base).expanduser().resolve().as_uri()
    return f"{base.rstrip('/')}/{urllib.parse.quote(relative)}"


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


#: sha256 of the files hashed in this process, keyed by :func:`_identity`.
_HASHES: dict[tuple, str] = {}


def _identity(path: Path) -> tuple:
    """What changes when a file is replaced or written: path, device, inode, size, times."""
    st = os.stat(path)
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns)


def _file_sha256(path: Path, reuse: bool) -> str:
    """sha256 of ``path``; with ``reuse``, the one this process computed before for the same
    file identity (same inode, size, mtime and ctime), else read again.

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    key = _identity(path)
    if reuse and key in _HASHES:
        return _HASHES[key]
    got = sha256sum(path)
    _HASHES[key] = got
    return got


def _guarded(load: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a :meth:`Dataset.load`: a file that fails to decode (zlib, numpy, a text parse…)
    in a dataset whose sha256 was not checked is named by a :class:`ChecksumError` (or an
    :class:`HsiIOError` when unreadable), not left as a traceback."""

    @functools.wraps(load)
    def wrapper(self: Dataset, *args: Any, **kwargs: Any) -> Any:
        try:
            return load(self, *args, **kwargs)
        except Exception as exc:
            if getattr(self, "_verified", True):
                raise  # the bytes are the registry's: the error is not the file's
            try:
                self._check_checksums()
            except (ChecksumError, HsiIOError) as damaged:
                raise damaged from exc
            raise

    wrapper._guarded = True
    return wrapper


def github_raw(repo: str, commit: str, path: str) -> str:
    """Return the raw.githubusercontent.com URL of ``path`` in ``repo`` at ``commit``."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{urllib.request.quote(path)}"


@dataclass
class Sample:
    """What a dataset loader returns.

    Attributes
    ----------
    cube : Cube or None
        ``(bands, H, W)`` float32 reflectance-scaled data (see the dataset's notes on its
        scale), wavelengths in nm; ``None`` for ground-truth-only datasets.
    labels : numpy.ndarray or None, shape (H, W)
        Integer class map: 0 = unlabelled, ``k`` = ``class_names[k - 1]``.
    class_names : list of str
        One name per class ``1..K``.
    abundances : numpy.ndarray or None, shape (K, H, W)
        Fractional abundance ground truth (unmixing benchmarks), summing to 1 per pixel.
    name : str
        The dataset's registry name.
    """

    cube: Cube | None
    labels: np.ndarray | None
    class_names: list[str]
    abundances: np.ndarray | None = None
    name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from hsi.reprs import array_summary, names_summary

        parts = [repr(self.name), f"cube={self.cube!r}", f"labels={array_summary(self.labels)}",
                 names_summary(self.class_names)]
        if self.abundances is not None:
            parts.append(f"abundances={array_summary(self.abundances)}")
        return f"Sample({', '.join(parts)})"


class Dataset:
    """Base class: a registered dataset under a data folder.

    Subclasses set the class attributes and implement :meth:`load`.

    Parameters
    ----------
    root : path, optional
        Folder holding the files (default :func:`data_dir`).
    download : bool
        Download missing files (sha256-checked) instead of raising.
    checksum : bool
        Check every file's sha256 against :attr:`files` before loading (default). Cheap: the
        largest registered file (8 MB) hashes in about 10 ms, and a file hashed once in this
        process is not read again while its inode, size and times are unchanged. With
        ``False``, a file that then fails to decode is still checked and named.

    Raises
    ------
    DatasetNotFoundError
        When files are missing and ``download`` is False.
    ChecksumError
        When a file has the wrong sha256 (the message starts with its path).
    HsiIOError
        When ``root`` is not a folder, or a file cannot be read.
    """

    #: Registry name, e.g. ``"salinas_a"``.
    name: ClassVar[str] = ""
    #: One line saying what the data is.
    description: ClassVar[str] = ""
    #: Relative path under the data folder -> sha256 of the file.
    files: ClassVar[dict[str, str]] = {}
    #: Relative path -> size in bytes, where known: a download is stopped beyond it.
    sizes: ClassVar[dict[str, int]] = {}
    #: Relative path -> download URLs tried in order (each checked against the sha256).
    urls: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Where people find the data and its documentation.
    homepage: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    licence: ClassVar[str] = ""
    #: Band centres in nm (``None`` for ground-truth-only datasets or unknown).
    wavelengths: ClassVar[np.ndarray | None] = None
    #: Band indices (0-based) for a true-colour preview, red-green-blue.
    rgb_bands: ClassVar[tuple[int, int, int] | None] = None
    #: Names of classes ``1..K``.
    class_names: ClassVar[list[str]] = []

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        load = cls.__dict__.get("load")
        if load is not None and not getattr(load, "_guarded", False):
            cls.load = _guarded(load)

    def __init__(self, root: str | os.PathLike | None = None, download: bool = False,
                 checksum: bool = True) -> None:
        self.root = Path(root) if root is not None else data_dir()
        self._root_given = root is not None
        self.download = download
        self.checksum = checksum
        self._verified = False
        self._verify()

    # -------------------------------------------------------------- files
    def path(self, relative: str) -> Path:
        """Absolute path of one of :attr:`files`."""
        return self.root / relative

    @classmethod
    def missing_files(cls, root: str | os.PathLike | None = None) -> list[str]:
        """Relative paths of :attr:`files` not present under ``root``."""
        root = Path(root) if root is not None else data_dir()
        return [rel for rel in cls.files if not (root / rel).is_file()]

    @classmethod
    def size_bytes(cls, root: str | os.PathLike | None = None) -> int:
        """Total size of the files present under ``root``."""
        root = Path(root) if root is not None else data_dir()
        return sum((root / rel).stat().st_size for rel in cls.files if (root / rel).is_file())

    @classmethod
    def check_files(cls, root: str | os.PathLike | None = None) -> list[str]:
        """Return one line per problem (missing or unreadable file, sha256 mismatch); empty
        when all good. Every file is read again (nothing reused from earlier hashes)."""
        root = Path(root) if root is not None else data_dir()
        problems = []
        for rel, expected in cls.files.items():
            path = root / rel
            if not path.is_file():
                problems.append(f"{path}: missing")
                continue
            try:
                got = _file_sha256(path, reuse=False)
            except OSError as exc:
                problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
                continue
            if got != expected:
                problems.append(_mismatch(path, got, expected))
        return problems

    def verify(self) -> None:
        """Check every file's sha256.

        Raises
        ------
        DatasetNotFoundError
            When a file is missing.
        ChecksumError
            When a file's sha256 differs from :attr:`files` (the message names the file).
        """
        missing = self.missing_files(self.root)
        if missing:
            raise DatasetNotFoundError(
                f"dataset {self.name!r}: {self.root / missing[0]} is missing")
        self._check_checksums(reuse=False)

    def _check_checksums(self, reuse: bool = True) -> None:
        """Raise on the first file that is unreadable or differs from the registry's sha256
        (``reuse``: a hash computed earlier in this process for the same file identity)."""
        wrong = []
        for rel, expected in self.files.items():
            path = self.path(rel)
            try:
                got = _file_sha256(path, reuse=reuse)
            except OSError as exc:
                raise HsiIOError(f"{path}: cannot be read ({exc.strerror or exc}; dataset "
                                 f"{self.name!r})") from None
            if got != expected:
                wrong.append(_mismatch(path, got, expected))
        if wrong:
            more = f"; {len(wrong) - 1} more of its files differ" if len(wrong) > 1 else ""
            raise ChecksumError(f"{wrong[0]} (dataset {self.name!r}: the file is damaged or "
                                f"another version{more}; delete it to download it again)")
        self._verified = True

    def _verify(self) -> None:
        """Files present, else download them (``download=True``), else raise."""
        if self.root.exists() and not self.root.is_dir():
            raise HsiIOError(f"{self.root}: not a folder (the data folder of dataset "
                             f"{self.name!r})")
        missing = self.missing_files(self.root)
        if missing:
            if not self.download:
                more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
                what = ("the folder does not exist" if not self.root.exists() else
                        f"missing {missing[0]}{more}")
                where = ("give the folder holding it as root=" if self._root_given else
                         f"set {ENV_VAR} to the folder holding it")
                raise DatasetNotFoundError(
                    f"dataset {self.name!r} not found in {self.root} ({what}): "
                    f"{where}, or pass download=True"
                )
            for rel in missing:
                self._download(rel)
        if self.checksum:
            self._check_checksums()

    @classmethod
    def download_urls(cls, relative: str) -> tuple[str, ...]:
        """The URLs one of :attr:`files` is downloaded from, tried in order: the mirror's
        (:func:`mirror_url`) when ``$HSI_DATA_MIRROR`` is set, else :attr:`urls`."""
        mirror = mirror_url(relative)
        return (mirror,) if mirror else tuple(cls.urls.get(relative, ()))

    def _download(self, relative: str) -> Path:
        """Fetch one file from :meth:`download_urls` into the data folder, checking its sha256.

        Each URL is tried in turn; the file appears at its destination only once its sha256
        matches (written beside it first, then renamed; an error or Ctrl-C removes it). A
        progress bar shows on a terminal (stderr) or in a notebook.

        Raises
        ------
        ChecksumError
            When every URL gave a file with the wrong sha256.
        HsiIOError
            When no URL could be fetched.
        """
        from hsi.io.atomic import atomic_path, clean_stale_temporaries
        from hsi.io.guard import check_output_folder

        dest = self.root / relative  # its folder is made by atomic_path, removed on failure
        check_output_folder(dest.parent, f"data folder of dataset {self.name!r} ({ENV_VAR})")
        expected = self.files[relative]
        urls = self.download_urls(relative)
        if not urls:
            raise HsiIOError(f"{dest}: dataset {self.name!r} has no download URL for this file")
        source = f"; {MIRROR_ENV_VAR} is set" if mirror_url(relative) else ""
        if dest.parent.is_dir():  # left by a download that was killed (SIGKILL, power loss)
            clean_stale_temporaries(dest)
        error: Exception | None = None
        for url in urls:
            try:
                with atomic_path(dest) as tmp:
                    try:
                        _fetch(url, tmp, self.sizes.get(relative, MAX_DOWNLOAD_BYTES),
                               desc=Path(relative).name)
                    except (OSError, http.client.HTTPException, zipfile.BadZipFile,
                            zlib.error, KeyError) as exc:
                        if isinstance(exc, HsiError):
                            raise
                        # the network's failure, not the temporary file's (which atomic_path
                        # would report as a failed write)
                        raise HsiIOError(f"{url}: download failed ({_reason(exc)}"
                                         f"{source})") from None
                    got = sha256sum(tmp)
                    if got != expected:
                        raise ChecksumError(f"{url}: sha256 {got} differs from the registry's "
                                            f"{expected} for {relative} (not saved{source})")
                _HASHES[_identity(dest)] = expected  # checked as it came: not hashed again
                return dest
            except (ChecksumError, HsiIOError) as exc:  # this URL's failure; try the next
                error = exc
        assert error is not None
        raise error

    # -------------------------------------------------------------- loading
    def load(self) -> Sample:
        """Read the dataset; see each subclass for the scale and layout."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"


#: Largest download of a file whose size the registry does not declare.
MAX_DOWNLOAD_BYTES = 1 << 30
#: Largest archive fetched to extract one member from.
MAX_ARCHIVE_BYTES = 256 << 20


def _interactive() -> bool:
    """Whether a progress bar is worth drawing: stderr a terminal, or a notebook."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty is not None and isatty()) or "ipykernel" in sys.modules


def _copy_capped(src: IO[bytes], dest: Path, limit: int, what: str, total: int | None = None,
                 desc: str | None = None) -> None:
    """Copy the stream ``src`` to ``dest``, refusing to write more than ``limit`` bytes.

    ``total``: the bytes announced (an HTTP Content-Length): fewer is a connection closed
    early, not a complete file. ``desc``: the progress bar's label (none without it).

    Raises
    ------
    HsiIOError
        Beyond ``limit``, or short of ``total``.
    """
    from hsi.progress import progress_bar

    if total is not None and total > limit:
        raise HsiIOError(f"{what}: {total:,} bytes, larger than the {limit:,} bytes expected; "
                         "not downloaded")
    written = 0
    with open(dest, "wb") as f, progress_bar(
            total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
            leave=False, disable=desc is None or not _interactive()) as bar:
        while True:
            try:
                block = src.read(1 << 16)  # a bar that moves on a slow link
            except http.client.IncompleteRead as exc:  # a chunked reply cut off
                raise HsiIOError(f"{what}: download failed (connection closed after "
                                 f"{written + len(exc.partial):,} bytes)") from None
            if not block:
                break
            written += len(block)
            if written > limit:
                raise HsiIOError(f"{what}: larger than the {limit:,} bytes expected; stopped")
            f.write(block)
            bar.update(len(block))
    if total is not None and written < total:
        raise HsiIOError(f"{what}: download failed (connection closed after {written:,} of "
                         f"{total:,} bytes)")


#: Seconds a download waits for the server (to connect, and for each read).
TIMEOUT_S = 60


def _fetch(url: str, dest: Path, limit: int = MAX_DOWNLOAD_BYTES,
           desc: str | None = None) -> None:
    """Copy ``url`` to ``dest`` (at most ``limit`` bytes); ``URL#member=PATH`` extracts one
    member of a zip (a wheel). ``desc`` labels a progress bar (see :func:`_copy_capped`)."""
    base, _, member = url.partition("#member=")
    if not member:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            _copy_capped(response, dest, limit, url, total, desc)
        return
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmpdir:
        archive = Path(tmpdir) / "archive.zip"
        _fetch(base, archive, MAX_ARCHIVE_BYTES, desc=f"{desc} (archive)" if desc else None)
        with zipfile.ZipFile(archive) as z:
            if z.getinfo(member).file_size > limit:  # declared before decompressing
                raise HsiIOError(f"{url}: member larger than the {limit:,} bytes expected")
            with z.open(member) as src:
                _copy_capped(src, dest, limit, url)


def _reason(exc: BaseException) -> str:
    """Why a download failed, in a few words (no errno, no exception class names)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    if isinstance(exc, http.client.IncompleteRead):
        return "connection closed early"
    if isinstance(exc, http.client.HTTPException):  # BadStatusLine, LineTooLong, ...
        return f"not an HTTP reply: {str(exc).strip()[:60] or type(exc).__name__}"
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a zip archive ({exc})"
    if isinstance(exc, KeyError):
        return f"no member {exc} in the archive"
    reason = getattr(exc, "reason", exc)  # URLError wraps the socket's error
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"no answer within {TIMEOUT_S} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def _mismatch(path: Path, got: str, expected: str) -> str:
    return f"{path}: sha256 {got[:12]}… differs from the registry's {expected[:12]}…"


def loadmat(path: Path, variables: list[str] | None = None) -> dict[str, Any]:
    """Read a MATLAB v5 file with scipy, raising hsikit errors that name the file.

    Raises
    ------
    FormatError
        When the file is not a readable .mat or lacks one of ``variables``.
    """
    import scipy.io

    from hsi.errors import FormatError

    try:
        content = scipy.io.loadmat(path, variable_names=variables)
    except MemoryError:
        raise
    except Exception as exc:  # zlib.error, MatReadError, NotImplementedError (v7.3/HDF5), …
        raise FormatError(f"{path}: not a readable MATLAB v5 file ({exc})") from None
    for var in variables or []:
        if var not in content:
            raise FormatError(f"{path}: variable {var!r} not found")
    return content


def mat_strings(cell: object) -> list[str]:
    """Flatten a MATLAB cell array of strings (``cood`` in the unmixing benchmarks)."""
    items = np.asarray(cell, dtype=object).reshape(-1)
    return [str(np.asarray(item).reshape(-1)[0]) for item in items]
