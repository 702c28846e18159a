"""Library words to command-line words.

Library messages name Python parameters (``device='cpu'``, ``fit_scene=True``); on the command
line the same advice reads ``--device cpu``, ``--fit-scene``. :func:`cli_words` rewrites the
first into the second before the CLI prints an error, so the library never speaks CLI.
"""

from __future__ import annotations

import re

#: (pattern, replacement), applied in order. Only parameters that are also options go here.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl) for pattern, repl in (
        (r"\bmodel=PATH\b", "--model MODEL.pt"),
        (r"\bfit_scene=True\b", "--fit-scene"),
        (r"\bwait=True\b", "--wait"),
        (r"\b(device|method)='([\w:]+)'", r"--\1 \2"),
        (r"\b(ratio|tile)=(\d+|N)\b", r"--\1 \2"),
        (r"\bchoose one with var=(?=\W|$)", "choose one with --var"),  # a cube's variable
        (r"\bvar='([^']*)' applies", r"--var \1 applies"),  # given for a non-.mat file
        (r"\bas root=(?=\W|$)", "as --root"),  # a data folder given explicitly
        (r"^k: ", "-k: "),  # hsi cluster's cluster count
        (r"^patch_size: ", "--patch-size: "),
        # hsi classify split: a spatial split whose margin leaves no test pixel
        (r"\(fewer training pixels, or a smaller margin\)",
         "(a smaller --per-class or --fraction, or a smaller --margin)"),
        (r"^psf_sigma: ", "--psf-sigma: "),
        (r"\ba smaller psf_sigma=(?=\W|$)", "a smaller --psf-sigma"),  # a scene too small
        # hsi metrics' border: "crop 8 leaves no pixel ...", "crop (pixels left out ...) must"
        (r"^crop (?=\d+ leaves no pixel|\(pixels left out)", "--crop "),
        # an SRF .mat given as --sensor: no option passes its wavelengths, the file must hold
        # them (SRF.from_mat reads a variable named wavelengths)
        (r"has no wavelengths; pass wavelengths= \(nm, one per spectral sample\)",
         "has no wavelengths: store them in the file as a variable named wavelengths (nm, one "
         "per spectral sample)"),
        (r"use it as a sensor by its name, '(\w+)'", r"use it as a sensor: --sensor \1"),
        # a registered dataset missing from the data folder
        (r"dataset '(\w+)' not found (.*), or pass download=True",
         r"dataset '\1' not found \2, or run hsi data fetch \1"),
    )
)


def cli_words(message: str) -> str:
    """Rewrite the parameter spellings of a library message as command-line options.

    Parameters
    ----------
    message : str
        An error message from the library, e.g. ``"... (use device='cpu')"``.

    Returns
    -------
    str
        The same message for a shell user, e.g. ``"... (use --device cpu)"``.
    """
    for pattern, repl in _RULES:
        message = pattern.sub(repl, message)
    return message
