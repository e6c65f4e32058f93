"""The ``cssc`` command line (installed with the ``cli`` extra)."""

from cssc_core.cli.app import cli, main

__all__ = ["cli", "main"]
