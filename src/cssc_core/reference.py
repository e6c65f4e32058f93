"""Data shipped with the package: the eleven CSSC regions, the sectors and the example network.

A ``cssc-network/1`` document that leaves out ``regions`` or ``sectors`` uses these. The example
network is modelled on the regions as they stood in 2019; every name in it is invented and every
address and number is one reserved for examples.
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files

from cssc_core.domain.models import Region, Sector
from cssc_core.domain.network import Network
from cssc_core.formats._converter import converter

__all__ = ["example_network", "reference_regions", "reference_sectors"]


def _read(name: str) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(files("cssc_core").joinpath("data", name).read_text("utf-8"))
    return data


@functools.cache
def reference_regions() -> tuple[Region, ...]:
    """The eleven CSSC regions with their counties, in the order the network lists them."""
    return converter().structure(_read("regions.json"), tuple[Region, ...])


@functools.cache
def reference_sectors() -> tuple[Sector, ...]:
    """The sectors: the designated infrastructure sectors plus the network's own."""
    return converter().structure(_read("sectors.json"), tuple[Sector, ...])


def example_network() -> Network:
    """The bundled example network that ``cssc demo`` runs on."""
    from cssc_core.formats.network import parse_network_json

    text = files("cssc_core").joinpath("data", "example-network.json").read_bytes()
    return parse_network_json(text, source="example-network.json")
