"""The package version (``hsi.__version__``), importable without the package front door."""

__version__ = "0.1.0"
