"""The ``hsi`` command line (click)."""
