"""The plugin documentation keeps up with the code: every hook documented, the example shown whole."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from cssc_core.plugins import hookspecs
from cssc_core.storage.protocol import Store

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins"
EXAMPLE = ROOT / "examples" / "cssc-plugin-pager"
HOOKS = sorted(hookspecs.__all__)


def signature(name: str) -> str:
    """The hook's signature as its docs heading writes it (annotations as written in the source)."""
    spec = inspect.signature(getattr(hookspecs, name))
    parameters = ", ".join(f"{p.name}: {p.annotation}" for p in spec.parameters.values())
    return f"{name}({parameters}) -> {spec.return_annotation}"


def documented_hooks() -> dict[str, str]:
    """Each ``## `...` `` heading of hooks.md, by hook name, with the section under it."""
    text = (DOCS / "hooks.md").read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    found = {}
    for section in sections:
        heading, _, body = section.partition("\n")
        match = re.fullmatch(r"`((cssc_\w+)\(.*\) -> .+)`", heading.strip())
        assert match, f"hooks.md heading is not a signature: {heading!r}"
        found[match.group(2)] = match.group(1) + "\n" + body
    return found


def test_every_spec_is_a_hook_with_our_prefix() -> None:
    declared = {name for name, value in vars(hookspecs).items() if hasattr(value, "cssc_core_spec")}
    assert declared == set(HOOKS)
    assert all(name.startswith("cssc_") for name in HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_has_a_section_headed_by_its_signature(hook: str) -> None:
    sections = documented_hooks()
    assert hook in sections, f"{hook} is not documented in docs/plugins/hooks.md"
    assert sections[hook].partition("\n")[0] == signature(hook)
    assert "**When it fires:**" in sections[hook]


@pytest.mark.parametrize("hook", HOOKS)
def test_each_spec_says_when_it_fires_and_documents_its_parameters(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "Fires " in doc
    for parameter in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f"{parameter}:" in doc, f"{hook} does not document {parameter}"


def test_no_section_documents_a_hook_that_does_not_exist() -> None:
    assert set(documented_hooks()) <= set(HOOKS)


@pytest.mark.parametrize("name", ["pyproject.toml", "cssc_plugin_pager.py", "README.md"])
def test_the_example_plugin_is_shown_whole(name: str) -> None:
    text = (EXAMPLE / name).read_text()
    assert text in (DOCS / "example-plugin.md").read_text(), (
        f"docs/plugins/example-plugin.md lacks {name} as it is"
    )


def test_the_backend_guide_covers_every_store_method() -> None:
    guide = (DOCS / "storage-backends.md").read_text()
    methods = [name for name in vars(Store) if not name.startswith("_") and callable(getattr(Store, name))]
    assert len(methods) > 20
    for method in methods:
        if method not in {"close", "transaction"}:
            assert f"`{method}(" in guide, f"storage-backends.md does not describe {method}"
