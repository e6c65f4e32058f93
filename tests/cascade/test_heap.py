"""The engine's long-lived objects are built with the cyclic collector paused, then frozen."""

from __future__ import annotations

import gc
import weakref

from cssc_core.cascade.heap import long_lived


class _Node:
    def __init__(self) -> None:
        self.me: _Node | None = None


def test_collection_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with long_lived():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_the_application_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with long_lived():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_what_is_built_inside_is_frozen() -> None:
    before = gc.get_freeze_count()
    with long_lived():
        kept = [[index] for index in range(1_000)]
    assert gc.get_freeze_count() >= before + len(kept)


def test_garbage_cycles_waiting_are_collected_not_frozen() -> None:
    node = _Node()
    node.me = node
    gone = weakref.ref(node)
    del node
    with long_lived():
        pass
    assert gone() is None


def test_collection_is_restored_when_the_block_raises() -> None:
    try:
        with long_lived():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()
