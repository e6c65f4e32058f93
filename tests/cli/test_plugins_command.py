"""``cssc plugins``."""

from __future__ import annotations

import json

import pytest

from cssc_core.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.usefixtures("with_pager")
def test_the_table_lists_built_in_and_external_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "plugins")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["PLUGIN", "PACKAGE", "VERSION", "KIND", "PROVIDES"]
    assert lines[1].split()[:4] == ["cssc_core.storage.memory", "cssc_core", lines[1].split()[2], "built-in"]
    assert "storage sqlite (sqlite://)" in out
    (pager,) = [line for line in lines if line.startswith("pager ")]
    assert pager.split() == [
        "pager",
        "cssc-plugin-pager",
        "1.0.0",
        "external",
        "channel",
        "pager",
        "(cannot",
        "be",
        "secure)",
    ]


@pytest.mark.usefixtures("with_pager")
def test_json_lists_what_each_plugin_provides(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "plugins", "--json")
    assert status == 0
    report = json.loads(out)
    by_name = {plugin["name"]: plugin for plugin in report["plugins"]}
    assert by_name["pager"] == {
        "name": "pager",
        "package": "cssc-plugin-pager",
        "version": "1.0.0",
        "builtin": False,
        "hooks": ["cssc_delivery_channels"],
        "storage_backends": [],
        "channels": [
            {"name": "pager", "refuses": ["secure"], "description": "pages spooled for a paging gateway"}
        ],
    }
    assert [b["name"] for b in by_name["cssc_core.storage.sqlite"]["storage_backends"]] == ["sqlite"]
    assert report["blocked"] == []


@pytest.mark.usefixtures("with_pager")
def test_a_blocked_plugin_is_listed_apart(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSSC_BLOCK_PLUGINS", "pager")
    _, out, _ = run(capsys, "plugins", "--json")
    report = json.loads(out)
    assert "pager" not in [plugin["name"] for plugin in report["plugins"]]
    assert report["blocked"] == [{"name": "pager", "package": "cssc-plugin-pager", "version": "1.0.0"}]
    _, table, _ = run(capsys, "plugins")
    assert "blocked: pager (cssc-plugin-pager 1.0.0)" in table
    assert not [line for line in table.splitlines() if line.startswith("pager ")]


def test_a_plugin_that_fails_to_load_fails_the_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    broken = importlib.metadata.EntryPoint("broken", "cssc_no_such_module_anywhere", "cssc_core")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    status, out, err = run(capsys, "plugins")
    assert status == 1
    assert "plugin 'broken'" in err
    assert "Traceback" not in err + out


def test_a_plugin_with_event_hooks_only_lists_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    from cssc_core.testing import RecordingPlugin

    class Point:
        name, dist = "audit-export", None

        def load(self) -> object:
            return RecordingPlugin()

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [Point()])
    status, out, _ = run(capsys, "plugins")
    assert status == 0
    (line,) = [line for line in out.splitlines() if line.startswith("audit-export")]
    assert line.split()[:4] == ["audit-export", "unknown", "unknown", "external"]
    assert "hooks cssc_acknowledgement_received, cssc_contact_erased," in line
