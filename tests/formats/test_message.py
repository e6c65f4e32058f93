"""The cssc-message/1 format: SPEC.md section 4's example, problems with paths, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from cssc_core.domain.marking import Marking
from cssc_core.domain.message import Circle, County, Message, MessageType, Polygon, PostcodeDistrict
from cssc_core.errors import ValidationError
from cssc_core.formats.message import (
    dumps_message_json,
    dumps_message_toml,
    message_to_document,
    parse_message_json,
    parse_message_toml,
    read_message_file,
)
from tests.strategies import messages

SPEC_EXAMPLE = {
    "format": "cssc-message/1",
    "id": "msg-2019-0612-01",
    "sender": "NCTPHQ",
    "sent": "2019-06-12T09:00:00+01:00",
    "status": "actual",
    "type": "alert",
    "references": [],
    "marking": "TLP:GREEN",
    "category": "security",
    "urgency": "immediate",
    "severity": "severe",
    "certainty": "observed",
    "headline": "Suspicious item reported",
    "body": "A suspicious item has been reported near Buchanan Street.",
    "instruction": "Keep staff inside.",
    "expires": "2019-06-12T21:00:00+01:00",
    "languages": {
        "cy": {"headline": "Eitem amheus", "body": "Corff", "instruction": "Cadwch staff y tu mewn."}
    },
    "audience": {
        "regions": ["SCOT"],
        "sectors": ["retail"],
        "tags": ["bid"],
        "areas": [
            {"circle": {"lat": 55.866, "lon": -4.264, "radius_km": 1.5}},
            {"polygon": [[55.86, -4.27], [55.87, -4.27], [55.87, -4.25]]},
            {"county": "Glasgow City"},
            {"postcode_district": "G3"},
        ],
        "organisations": [],
        "contacts": [],
    },
}


def test_the_spec_example_loads() -> None:
    message = parse_message_json(json.dumps(SPEC_EXAMPLE))
    assert message.marking is Marking.GREEN
    assert message.type is MessageType.ALERT
    assert message.sent.utcoffset() is not None
    assert message.audience.areas == (
        Circle(55.866, -4.264, 1.5),
        Polygon(((55.86, -4.27), (55.87, -4.27), (55.87, -4.25))),
        County("Glasgow City"),
        PostcodeDistrict("G3"),
    )
    assert message.languages["cy"].headline == "Eitem amheus"
    assert message_to_document(message) == SPEC_EXAMPLE


def test_every_problem_is_reported_with_its_path() -> None:
    document = json.loads(json.dumps(SPEC_EXAMPLE))
    document.update(id="msg 1", status="draft", marking="TLP:WHITE", sent="2019-06-12T09:00:00", extra=1)
    document["languages"] = {"fr": {"headline": "x"}}
    document["audience"]["areas"] = [{"circle": {"lat": 95, "lon": 0, "radius_km": -1}}, {"square": []}]
    with pytest.raises(ValidationError) as caught:
        parse_message_json(json.dumps(document), source="alert.json")
    paths = [problem.path for problem in caught.value.problems]
    assert paths == [
        "$.audience.areas[0].circle.lat",
        "$.audience.areas[0].circle.radius_km",
        "$.audience.areas[1]",
        "$.extra",
        "$.id",
        "$.languages.fr",
        "$.marking",
        "$.sent",
        "$.status",
    ]
    assert str(caught.value).startswith("alert.json: 9 problems found")


def test_updates_must_reference_and_alerts_must_not() -> None:
    update = dict(SPEC_EXAMPLE, type="update")
    with pytest.raises(ValidationError, match="must name the messages it replaces"):
        parse_message_json(json.dumps(update))
    alert = dict(SPEC_EXAMPLE, references=["msg-0"])
    with pytest.raises(ValidationError, match="an alert replaces nothing"):
        parse_message_json(json.dumps(alert))
    early = dict(SPEC_EXAMPLE, expires="2019-06-12T08:00:00+01:00")
    with pytest.raises(ValidationError, match="expire after"):
        parse_message_json(json.dumps(early))


def test_broken_text_is_bad_input() -> None:
    with pytest.raises(ValidationError, match="not valid JSON"):
        parse_message_json("{")
    with pytest.raises(ValidationError, match="not valid TOML"):
        parse_message_toml("= 1")
    with pytest.raises(ValidationError, match="must be an object"):
        parse_message_json("[]")


def test_files_are_read_by_suffix(tmp_path: Path) -> None:
    message = parse_message_json(json.dumps(SPEC_EXAMPLE))
    (tmp_path / "m.json").write_text(dumps_message_json(message))
    (tmp_path / "m.toml").write_text(dumps_message_toml(message))
    assert read_message_file(tmp_path / "m.json") == message
    assert read_message_file(tmp_path / "m.toml") == message
    (tmp_path / "m.txt").write_text("")
    with pytest.raises(ValidationError, match="unknown file type"):
        read_message_file(tmp_path / "m.txt")
    with pytest.raises(ValidationError, match="cannot read"):
        read_message_file(tmp_path / "missing.json")


@settings(max_examples=200, deadline=None)
@given(messages())
def test_json_round_trip(message: Message) -> None:
    assert parse_message_json(dumps_message_json(message)) == message


@settings(max_examples=200, deadline=None)
@given(messages())
def test_toml_round_trip(message: Message) -> None:
    assert parse_message_toml(dumps_message_toml(message)) == message
