"""``cssc route``: SPEC.md section 9's JSON, the tables, explanations and exit statuses."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
import pytest

from cssc_core.cli.app import main
from cssc_core.cli.options import open_store_from_options
from cssc_core.formats.network import read_network_file
from cssc_core.storage.records import DeliveryKind, DeliveryStatus
from cssc_core.testing import sample_cascade, sample_delivery, sample_message
from tests.routing.test_plan import SECTION_9_EXAMPLE

NETWORK = {
    "format": "cssc-network/1",
    "regions": [{"code": "EAST", "name": "Eastern", "counties": ["Norfolk", "Suffolk"]}],
    "sectors": [{"code": "retail", "name": "Retail"}, {"code": "faith", "name": "Faith"}],
    "organisations": [
        {
            "id": "org-0001",
            "name": "Example Shopping Centre",
            "region": "EAST",
            "sectors": ["retail", "faith"],
            "location": {"lat": 52.63, "lon": 1.29, "postcode": "NR1 1AA", "county": "Norfolk"},
            "tags": ["crowded-place", "bid"],
            "contacts": [
                {
                    "id": "c-0001",
                    "name": "Sam Example",
                    "email": "sam@example.org",
                    "phone": "020 7946 0001",
                    "channels": ["email", "sms"],
                }
            ],
        },
        {
            "id": "org-0002",
            "name": "Example Market",
            "region": "EAST",
            "sectors": ["retail"],
            "contacts": [
                {"id": "c-0002", "name": "Alex Example", "phone": "020 7946 0002", "channels": ["sms"]}
            ],
        },
        {
            "id": "org-0003",
            "name": "Retail Lead Body",
            "region": "EAST",
            "sectors": ["retail"],
            "contacts": [
                {"id": "c-0009", "name": "Lead", "email": "lead@example.org", "channels": ["email"]},
                {"id": "c-0010", "name": "Deputy", "email": "deputy@example.org", "channels": ["email"]},
            ],
        },
    ],
    "roles": [
        {"role": "isl", "region": "EAST", "sector": "retail", "contact": "c-0010", "rank": 2},
        {"role": "isl", "region": "EAST", "sector": "retail", "contact": "c-0009", "rank": 1},
    ],
}

MESSAGE: dict[str, Any] = {
    "format": "cssc-message/1",
    "id": "msg-2019-0612-01",
    "sender": "NCTPHQ",
    "sent": "2019-06-12T09:00:00+01:00",
    "status": "actual",
    "type": "alert",
    "marking": "TLP:AMBER",
    "category": "security",
    "urgency": "expected",
    "severity": "moderate",
    "certainty": "likely",
    "headline": "Weekly security bulletin",
    "audience": {"organisations": ["org-0001", "org-0002"]},
}

POLICY = """
format = "cssc-policy/1"

[[routes]]
name = "life-safety"
locked = true
match = { severity = ["extreme", "severe"], urgency = ["immediate"] }
via = "direct"
channels = ["sms", "email"]

[[routes]]
name = "bulletins"
channels = ["email"]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "network": tmp_path / "network.json",
        "message": tmp_path / "message.json",
        "policy": tmp_path / "p.toml",
    }
    paths["network"].write_text(json.dumps(NETWORK))
    paths["message"].write_text(json.dumps(MESSAGE))
    paths["policy"].write_text(POLICY)
    return paths


def _route(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "route",
        str(files["message"]),
        "--network",
        str(files["network"]),
        "--policy",
        str(files["policy"]),
        *extra,
    ]


def test_json_is_section_9(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_route(files, "--json")) == 0
    assert json.loads(capsys.readouterr().out) == SECTION_9_EXAMPLE


def test_tables(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_route(files)) == 0
    out = capsys.readouterr().out
    assert out.startswith("Message msg-2019-0612-01 (TLP:AMBER): 1 recipient, 1 relay, 1 excluded, 1 gap.")
    assert "c-0001   org-0001      EAST    isl  EAST/retail  email     -    bulletins" in out
    assert "c-0009, c-0010" in out
    assert "TLP:AMBER allows no channel of this contact" in out


def test_explain_a_contact(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_route(files, "--explain", "c-0001")) == 0
    out = capsys.readouterr().out
    assert "Route life-safety (national, locked): does not apply: urgency is expected" in out
    assert "Route bulletins (national): applies; it does not continue" in out
    assert "TLP:AMBER allows email (secure); TLP:AMBER refuses sms (not secure)" in out
    assert "Contact c-0001 gets it relayed through (EAST, retail)" in out
    assert "(EAST, faith)" in out


def test_explain_an_organisation_as_json(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_route(files, "--explain", "org-0002", "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["subject"] == "org-0002"
    assert (
        "Contact c-0002 is excluded: TLP:AMBER allows no channel of this contact." in document["explanation"]
    )


def test_explain_an_isl(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_route(files, "--explain", "c-0009")) == 0
    out = capsys.readouterr().out
    assert "Not in the audience" in out
    assert "c-0009 is the lead ISL of (EAST, retail): relay requests go to it on email." in out


def test_unknown_explain_id_is_bad_input(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_route(files, "--explain", "nobody")) == 2
    assert "no contact or organisation 'nobody'" in capsys.readouterr().err


def test_update_without_a_store_names_the_unknown_reference(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    files["message"].write_text(json.dumps(dict(MESSAGE, type="update", references=["msg-2019-0612-00"])))
    assert main(_route(files)) == 2
    err = capsys.readouterr().err
    assert "$.references[0]: unknown message 'msg-2019-0612-00'" in err
    assert "Traceback" not in err


def test_bad_policy_lists_every_problem(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["policy"].write_text('format = "cssc-policy/1"\n[defaults]\nvia = "x"\nack = "maybe"\n')
    assert main(_route(files)) == 2
    err = capsys.readouterr().err
    assert "$.defaults.ack" in err
    assert "$.defaults.via" in err


def test_network_sources_are_exclusive(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_route(files), "--db", "x.db"]) == 2
    assert "give --network or --db/--store, not both" in capsys.readouterr().err
    assert main(["route", str(files["message"]), "--db", "x.db", "--store", "memory://"]) == 2
    assert "not both" in capsys.readouterr().err


def test_an_empty_store_has_no_network(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["route", str(files["message"]), "--db", str(tmp_path / "empty.db")]) == 1
    assert "holds no network yet" in capsys.readouterr().err


@pytest.fixture
def stored(files: dict[str, Path], tmp_path: Path) -> Path:
    """A SQLite store holding the network and msg-0, which reached c-0001 on email and sms and
    c-0002 on sms; its copy to c-0009 failed and an escalation notice reached c-0010."""
    database = tmp_path / "cssc.db"
    deliveries = [
        sample_delivery("d1", "msg-0", contact="c-0001", channel="email", status=DeliveryStatus.DELIVERED),
        sample_delivery("d2", "msg-0", contact="c-0001", channel="sms", status=DeliveryStatus.DELIVERED),
        sample_delivery("d3", "msg-0", contact="c-0002", channel="sms", status=DeliveryStatus.DELIVERED),
        sample_delivery(
            "d4", "msg-0", contact="c-0009", channel="email", status=DeliveryStatus.PERMANENT_FAILURE
        ),
        attrs.evolve(
            sample_delivery(
                "d5", "msg-0", contact="c-0010", channel="email", status=DeliveryStatus.DELIVERED
            ),
            kind=DeliveryKind.ESCALATION,
        ),
    ]
    with closing(open_store_from_options(database, None)) as store:
        store.replace_network(read_network_file(files["network"]))
        store.start_cascade(sample_cascade("msg-0"), sample_message("msg-0"), deliveries)
    return database


def test_an_update_goes_to_whom_the_stored_message_reached(
    files: dict[str, Path], stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["message"].write_text(json.dumps(dict(MESSAGE, id="msg-1", type="update", references=["msg-0"])))
    assert main(["route", str(files["message"]), "--db", str(stored), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(r["contact"], r["channels"], r["via"]) for r in document["recipients"]] == [
        ("c-0001", ["email"], "direct")
    ]
    assert document["excluded"] == [
        {
            "organisation": "org-0002",
            "contact": "c-0002",
            "reason": "TLP:AMBER allows none of the channels that reached this contact",
        }
    ]
    assert document["relays"] == document["gaps"] == []


def test_an_unknown_reference_with_a_store_is_bad_input(
    files: dict[str, Path], stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["message"].write_text(json.dumps(dict(MESSAGE, id="msg-1", type="cancel", references=["msg-9"])))
    assert main(["route", str(files["message"]), "--db", str(stored)]) == 2
    assert "$.references[0]: unknown message 'msg-9'" in capsys.readouterr().err


def test_an_alert_over_the_stored_network(
    files: dict[str, Path], stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["route", str(files["message"]), "--store", f"sqlite:///{stored}", "--json"]) == 0
    assert [r["contact"] for r in json.loads(capsys.readouterr().out)["recipients"]] == ["c-0001"]


def test_cap_messages_are_routed(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from cssc_core.formats.cap import dumps_cap_xml
    from cssc_core.formats.message import read_message_file

    cap = files["message"].with_suffix(".xml")
    cap.write_text(dumps_cap_xml(read_message_file(files["message"])))
    assert main(["route", str(cap), "--network", str(files["network"]), "--json"]) == 0
    assert [r["contact"] for r in json.loads(capsys.readouterr().out)["recipients"]] == ["c-0001"]
