"""``cssc import``, ``export``, ``coverage`` and ``demo`` from the command line."""

from __future__ import annotations

import copy
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from cssc_core import network_from_document, parse_network_csv, parse_network_json, parse_network_toml
from cssc_core.cli import main
from tests.formats.test_network_formats import SPEC_EXAMPLE


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), "utf-8")
    return path


def _dump(db: Path) -> list[str]:
    """Every row of every table, as SQL: the store's logical content, whatever the file's bytes."""
    with closing(sqlite3.connect(db)) as connection:
        return list(connection.iterdump())


def _faulty_document() -> dict[str, object]:
    document = copy.deepcopy(SPEC_EXAMPLE)
    organisation = document["organisations"][0]
    organisation["contacts"][0]["phone"] = "07700 900123"
    organisation["contacts"][0]["email"] = "not-an-address"
    organisation["location"]["postcode"] = "XYZ"
    organisation["sectors"] = ["retail", "bakery"]
    organisation["membership"]["status"] = "gone"
    document["roles"].append({"role": "isl", "region": "MARS", "sector": "retail", "contact": "c-404"})
    return document


def test_import_then_export_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cssc.db"
    source = _write(tmp_path / "network.json", SPEC_EXAMPLE)
    assert main(["import", str(source), "--db", str(db)]) == 0
    assert "imported 1 organisations, 2 contacts and 2 roles" in capsys.readouterr().out

    assert main(["export", "--db", str(db)]) == 0
    exported = parse_network_json(capsys.readouterr().out)
    assert exported == network_from_document(SPEC_EXAMPLE)

    for output_format, parse in (("toml", parse_network_toml), ("csv", None)):
        target = tmp_path / f"out.{output_format}"
        assert main(["export", "--format", output_format, "--output", str(target), "--db", str(db)]) == 0
        text = target.read_text("utf-8")
        if parse is not None:
            assert parse(text) == exported
        else:
            csv_network = parse_network_csv(text, regions=exported.regions, sectors=exported.sectors)
            assert csv_network.organisations == exported.organisations


def test_a_faulty_import_lists_every_fault_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cssc.db"
    assert main(["import", str(_write(tmp_path / "good.json", SPEC_EXAMPLE)), "--db", str(db)]) == 0
    before = _dump(db)
    capsys.readouterr()

    assert main(["import", str(_write(tmp_path / "bad.json", _faulty_document())), "--db", str(db)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    # The email problem ends with email-validator's own explanation, which varies between its versions.
    problems = [line.strip().split(" (")[0] for line in captured.err.splitlines()[1:]]
    assert problems == [
        "$.organisations[0].contacts[0].email: not a valid email address",
        "$.organisations[0].contacts[0].phone: not a valid phone number",
        "$.organisations[0].location.postcode: 'XYZ' is not a valid UK postcode",
        "$.organisations[0].membership.status: 'gone' is not one of pending, active, lapsed, suspended",
        "$.organisations[0].sectors[1]: unknown sector 'bakery'",
        "$.roles[2].contact: unknown contact 'c-404'",
        "$.roles[2].region: unknown region 'MARS'",
    ]
    assert captured.err.splitlines()[0].endswith("bad.json: 7 problems found")
    assert main(["export", "--db", str(db)]) == 0
    assert parse_network_json(capsys.readouterr().out) == network_from_document(SPEC_EXAMPLE)
    assert _dump(db) == before


def test_a_csv_member_list_keeps_the_stored_roles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cssc.db"
    assert main(["import", str(_write(tmp_path / "network.json", SPEC_EXAMPLE)), "--db", str(db)]) == 0
    assert (
        main(["export", "--format", "csv", "--output", str(tmp_path / "members.csv"), "--db", str(db)]) == 0
    )
    assert main(["import", str(tmp_path / "members.csv"), "--db", str(db)]) == 0
    assert "and 2 roles" in capsys.readouterr().out


def test_unreadable_files_and_unknown_types_are_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cssc.db")
    assert main(["import", str(tmp_path / "missing.json"), "--db", db]) == 2
    (tmp_path / "network.xml").write_text("<x/>", "utf-8")
    assert main(["import", str(tmp_path / "network.xml"), "--db", db]) == 2
    (tmp_path / "broken.json").write_text("{", "utf-8")
    assert main(["import", str(tmp_path / "broken.json"), "--db", db]) == 2
    err = capsys.readouterr().err
    assert "cannot read the file" in err
    assert "unknown file type '.xml'" in err
    assert "not valid JSON" in err
    assert "Traceback" not in err


def test_export_of_an_empty_store_is_a_failed_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--db", str(tmp_path / "cssc.db")]) == 1
    assert "holds no network yet" in capsys.readouterr().err


def test_coverage_reports_gaps_and_stale_contacts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = copy.deepcopy(SPEC_EXAMPLE)
    document["organisations"][0]["sectors"] = ["retail", "faith"]
    document["sectors"].append({"code": "faith", "name": "Faith"})
    document["organisations"][0]["contacts"][1]["verified"] = "2019-01-01"
    db = str(tmp_path / "cssc.db")
    assert main(["import", str(_write(tmp_path / "n.json", document)), "--db", db]) == 0
    capsys.readouterr()
    assert main(["coverage", "--db", db, "--json", "--at", "2019-06-12T09:00:00+01:00"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"region": "EAST", "sector": "faith", "isls": 0, "active_organisations": 1, "organisations": 1,
         "stale_contacts": 1, "gap": True},
        {"region": "EAST", "sector": "retail", "isls": 1, "active_organisations": 1, "organisations": 1,
         "stale_contacts": 1, "gap": False},
    ]  # fmt: skip
    assert main(["coverage", "--db", db, "--at", "2020-06-12T09:00:00+01:00"]) == 0
    text = capsys.readouterr().out
    assert "2 cells, 1 coverage gaps" in text
    faith_row = next(line for line in text.splitlines() if line.startswith("EAST") and "faith" in line)
    assert faith_row.split()[-1] == "GAP"


def test_demo_imports_the_example_network_into_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--json", "--dir", "elsewhere"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    # Progress goes to standard error, one line per step of the story.
    assert "09:00 NCTPHQ send the UK Protect bulletin" in captured.err
    assert (tmp_path / "elsewhere" / "cssc.db").exists()
    assert not (tmp_path / "cssc.db").exists()
    assert not (tmp_path / "cssc-demo").exists()
    assert report["network"]["organisations"] == 2340
    assert report["network"]["regions"] == 11
    by_region = {row["region"]: row for row in report["reach"]["by_region"]}
    assert set(by_region) == {"EAST", "SE", "SW", "WALES", "EMID", "WMID", "NE", "NW", "SCOT", "NI", "LDN"}
    assert report["coverage_gaps"]["cells"] >= len(report["coverage_gaps"]["met_by_the_story"]) > 0
    assert main(["export", "--db", "elsewhere/cssc.db", "--output", "example.json"]) == 0
    assert len(parse_network_json((tmp_path / "example.json").read_bytes()).organisations) == 2340

    assert main(["demo", "--keep", "--dir", "elsewhere"]) == 0
    text = capsys.readouterr().out
    assert "Coverage gaps:" in text
    assert "elsewhere/cssc.db" in text
