"""The package version (``hsi.__version__``), importable without the package front door.

The one place the version is written: pyproject.toml reads it (``dynamic = ["version"]``) for the
distribution's metadata, which ``hsi --version`` prints. Keep it a plain string literal, so that
setuptools reads it without importing hsi.
"""

__version__ = "0.1.0"
