"""Fixtures of the routing tests."""

from __future__ import annotations

import pytest

from cssc_core.domain.network import Network
from tests.routing.examples import example_network


@pytest.fixture
def network() -> Network:
    """The hand-made example network."""
    return example_network()
