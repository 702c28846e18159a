"""Plugin activation: make hsikit the preferred napari reader for the cube formats it owns.

napari asks which reader to use whenever several plugins accept a file (its builtin reader
claims ``*.tif`` and ``*.hdr`` too). npe2 has no reader priority, so on activation (the first
time any hsikit contribution is used: a reader, a dock, sample data) hsikit fills in napari's
``settings.plugins.extension2reader`` for its hyperspectral patterns, but only for patterns the
user has no preference for: an explicit choice is never overridden. The settings persist, so
later sessions open these files with hsikit without a prompt.
"""

from __future__ import annotations

from typing import Any

PLUGIN_NAME = "hsikit"

#: Filename patterns hsikit makes its reader the default for (ENVI headers and data files with
#: unambiguous extensions, GeoTIFFs). Generic extensions (``.img``, ``.dat``, ``.raw``,
#: ``.bin``, ``.mat``) are left to the user.
PREFERRED_PATTERNS = ("*.hdr", "*.bsq", "*.bil", "*.bip", "*.tif", "*.tiff", "*.gtif")


def prefer_hsikit_reader(settings: Any = None) -> dict[str, str]:
    """Make hsikit the reader for :data:`PREFERRED_PATTERNS` where the user chose none.

    Parameters
    ----------
    settings : napari.settings.NapariSettings, optional
        The settings to update; napari's current settings by default.

    Returns
    -------
    dict
        The patterns set now (``{}`` when the user already has a preference for all).
    """
    if settings is None:
        from napari.settings import get_settings

        settings = get_settings()
    current = dict(settings.plugins.extension2reader)
    added = {pattern: PLUGIN_NAME for pattern in PREFERRED_PATTERNS if pattern not in current}
    if added:
        settings.plugins.extension2reader = {**current, **added}
    return added


def activate(context: Any = None) -> None:
    """npe2 ``on_activate`` hook: :func:`prefer_hsikit_reader`, never failing the activation."""
    try:
        prefer_hsikit_reader()
    except Exception:  # settings unavailable (napari not fully set up): keep the prompt
        return
