"""The pluggy markers of ``cssc_core``: :data:`hookspec` for specs, :data:`hookimpl` for plugins."""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "cssc_core"
"""The pluggy project name, which is also the entry-point group external plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks the hook specifications in :mod:`cssc_core.plugins.hookspecs`."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's hook implementations: ``@hookimpl def cssc_delivery_channels(): ...``."""
