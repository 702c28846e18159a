"""The output guard: an output may never be, or replace, one of the inputs.

:func:`check_outputs` is called before any work by every command that writes files. It
compares each output with each input and with the other outputs, looking through symbolic
links, hard links and the companion files of an ENVI cube (``cube.hdr`` + ``cube.img``),
refuses to replace an existing file whose content is not what its name says the command
writes (a text file named ``.tif`` or ``.pt``: a typo, not an old output), and checks that
each output's folder exists (or can be created) and is writable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from hsi.errors import HsiIOError

#: Extensions of the data file that goes with an ENVI header (and the header itself).
_ENVI_SIDE = ("", ".hdr", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip")


def related_files(path: str | os.PathLike) -> list[Path]:
    """``path`` and the files written or read with it (an ENVI header's data file and back)."""
    p = Path(path)
    if p.suffix.lower() in _ENVI_SIDE[1:]:
        stem = p.with_suffix("")
        return [p, *(stem.with_suffix(ext) for ext in _ENVI_SIDE[1:] if ext != p.suffix.lower()),
                stem]
    return [p]


def _identity(path: Path) -> tuple:
    """A key equal for two names of the same file: (device, inode) if it exists, else its path."""
    try:
        st = path.stat()  # follows symbolic links
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path, a link to it, or an ENVI header
    and its data file."""
    keys_b = {_identity(p) for p in related_files(b)}
    return any(_identity(p) in keys_b for p in related_files(a))


def replace_problem(path: str | os.PathLike) -> str | None:
    """Why the existing file ``path`` must not be replaced by an output of its name's kind;
    ``None`` when it may be (no file, an empty file, or content of the kind the name says).

    Judged from the first bytes, by extension: a TIFF, MATLAB ``.mat``, ENVI header, PNG or
    torch checkpoint must look like one; other extensions are not judged.
    """
    from hsi.checkpoint import checkpoint_format_problem
    from hsi.io.formats import MAT_EXTS, TIFF_EXTS, is_mat, is_tiff

    p = Path(path)
    if not p.is_file():
        return None
    try:
        with p.open("rb") as f:
            head = f.read(1024)
    except OSError:
        return None  # the writer reports what it cannot do
    if not head:
        return None
    ext = p.suffix.lower()
    if ext in TIFF_EXTS and not is_tiff(head):
        return "is not a TIFF file"
    if ext in MAT_EXTS and not is_mat(head):
        return "is not a MATLAB .mat file"
    if ext == ".hdr" and not head.lstrip().startswith(b"ENVI"):
        return "is not an ENVI header"
    if ext == ".png" and not head.startswith(b"\x89PNG"):
        return "is not a PNG image"
    if ext == ".pt" and checkpoint_format_problem(p):
        return "is not a torch checkpoint"
    return None


def check_outputs(outputs: Iterable[str | os.PathLike | None],
                  inputs: Iterable[str | os.PathLike | None] = ()) -> None:
    """Refuse outputs that are inputs, outputs written twice, and unwritable output folders.

    Parameters
    ----------
    outputs : paths
        Files the command will write (``None`` entries are skipped).
    inputs : paths
        Files (or folders) the command reads (``None`` entries are skipped).

    Raises
    ------
    HsiIOError
        ``OUT: output is the input file IN`` (same file through any link, or an ENVI
        companion), ``OUT: given as two outputs``, an existing ``OUT`` whose content is not
        what its name says (:func:`replace_problem`), or an output folder that cannot be
        written.
    """
    from hsi.io.atomic import check_writable_dir

    outs = [Path(o) for o in outputs if o is not None]
    ins = [Path(i) for i in inputs if i is not None]
    for k, out in enumerate(outs):
        for src in ins:
            if same_file(out, src):
                raise HsiIOError(f"{out}: output is the input file {src}: refusing to overwrite "
                                 f"an input (choose another output name)")
        for other in outs[:k]:
            if same_file(out, other):
                raise HsiIOError(f"{out}: given as two outputs ({other}): each output needs "
                                 f"its own name")
    for out in outs:
        if out.is_dir():
            raise HsiIOError(f"{out}: is a folder, expected an output file name")
        why = replace_problem(out)
        if why:
            raise HsiIOError(f"{out}: exists and {why}: refusing to replace it (choose "
                             f"another output name, or remove it first)")
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.exists():
            continue  # created by the writer; its first existing ancestor must be writable
        check_writable_dir(parent)


def check_output_folder(folder: str | os.PathLike, role: str = "output folder") -> Path:
    """Check, without creating anything, that ``folder`` exists or can be created, writable.

    ``role`` names the folder in the message, e.g. ``"data folder of dataset 'samson'"``.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    HsiIOError
        When ``folder`` (or its nearest existing parent) is not a writable folder.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise HsiIOError(f"{folder}: cannot create {role} ({probe} is not a folder)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HsiIOError(f"{folder}: {role} is not writable ({probe})")
    return folder


def check_free_space(path: str | os.PathLike, nbytes: int) -> None:
    """Refuse to start writing ``nbytes`` to ``path`` when its disk has less free space.

    Raises
    ------
    HsiIOError
        ``PATH: no space left on device (needs ~N MB, M MB free)``.
    """
    folder = Path(path).absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if nbytes > free:
        raise HsiIOError(f"{path}: no space left on device (needs ~{max(1, round(nbytes / 1e6))} "
                         f"MB, {free / 1e6:.0f} MB free)")
