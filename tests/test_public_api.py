"""The names the package promises exist and have docstrings."""

from __future__ import annotations

import inspect

import cssc_core
import cssc_core.cascade
import cssc_core.channels
import cssc_core.plugins
import cssc_core.storage
import cssc_core.testing


def test_every_public_name_resolves_and_is_documented() -> None:
    for module in (
        cssc_core,
        cssc_core.cascade,
        cssc_core.channels,
        cssc_core.plugins,
        cssc_core.storage,
        cssc_core.testing,
    ):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"


def test_the_plugin_api_is_reachable_from_the_top() -> None:
    for name in ("Store", "open_store", "hookimpl", "PluginHost", "StorageBackend", "ChannelPlugin", "Clock"):
        assert name in cssc_core.__all__
