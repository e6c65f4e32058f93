"""CAP 1.2 XML: a sample modelled on the standard's examples, round trips, hostile XML."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings

from cssc_core.domain.marking import Marking
from cssc_core.domain.message import (
    Circle,
    County,
    LanguageBlock,
    Message,
    MessageType,
    Polygon,
    PostcodeDistrict,
)
from cssc_core.errors import ValidationError
from cssc_core.formats.cap import dumps_cap_xml, parse_cap_xml
from cssc_core.formats.message import read_message_file
from tests.strategies import messages

SAMPLE = Path(__file__).parent.parent / "data" / "cap-sample.xml"

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>43b080713727</identifier>
  <sender>hsas@dhs.example.gov</sender>
  <sent>2003-04-02T14:39:01-05:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Security</category>
    <event>Homeland Security Advisory System Update</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <senderName>U.S. Government, Department of Homeland Security</senderName>
    <headline>Homeland Security Sets Code ORANGE</headline>
  </info>
</alert>
"""


def test_the_sample_keeps_every_field_the_model_keeps() -> None:
    message = parse_cap_xml(SAMPLE.read_bytes())
    assert message.id == "CSSC-SCOT-2019-0612-01"
    assert message.sender == "alerts@nctphq.example.org"
    assert message.sent == datetime.fromisoformat("2019-06-12T09:00:00+01:00")
    assert message.type is MessageType.UPDATE
    assert message.references == ("CSSC-SCOT-2019-0612-00",)
    assert message.marking is Marking.AMBER
    assert (message.category, message.urgency, message.severity, message.certainty) == (
        "security",
        "immediate",
        "severe",
        "observed",
    )
    assert message.headline == "Suspicious item near Buchanan Street: cordon in place"
    assert message.body is not None
    assert message.instruction is not None
    assert message.expires == datetime.fromisoformat("2019-06-12T21:00:00+01:00")
    assert message.languages["cy"] == LanguageBlock(
        "Eitem amheus ger Stryd Buchanan: cordon yn ei le",
        "Mae'r heddlu wedi gosod cordon 200 metr o amgylch eitem amheus.",
        "Cadwch staff a chwsmeriaid y tu mewn.",
    )
    audience = message.audience
    assert audience.areas == (
        Polygon(((55.86, -4.27), (55.87, -4.27), (55.87, -4.25))),
        Circle(55.866, -4.264, 1.5),
        County("Glasgow City"),
        PostcodeDistrict("G3"),
    )
    assert (audience.regions, audience.sectors, audience.tags) == (("SCOT",), ("retail",), ("bid",))
    assert (audience.organisations, audience.contacts) == (("org-0001",), ("c-0001",))
    exported = dumps_cap_xml(
        message,
        references={
            "CSSC-SCOT-2019-0612-00": (message.sender, datetime.fromisoformat("2019-06-12T08:30:00+01:00"))
        },
    )
    assert parse_cap_xml(exported) == message
    assert "alerts@nctphq.example.org,CSSC-SCOT-2019-0612-00,2019-06-12T08:30:00+01:00" in exported


def test_a_public_alert_without_a_marking_is_clear() -> None:
    message = parse_cap_xml(MINIMAL)
    assert message.marking is Marking.CLEAR
    assert message.headline == "Homeland Security Sets Code ORANGE"
    assert message.audience.areas == ()


def test_files_with_xml_suffix_are_cap(tmp_path: Path) -> None:
    path = tmp_path / "alert.xml"
    path.write_bytes(SAMPLE.read_bytes())
    assert read_message_file(path) == parse_cap_xml(SAMPLE.read_bytes())


@settings(max_examples=200, deadline=None)
@given(messages())
def test_round_trip(message: Message) -> None:
    assert parse_cap_xml(dumps_cap_xml(message)) == message


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier></alert>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://example.org/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_hostile_xml_is_rejected(document: str) -> None:
    with pytest.raises(ValidationError, match="document type declaration is not allowed"):
        parse_cap_xml(document)


def test_malformed_and_foreign_xml() -> None:
    with pytest.raises(ValidationError, match="not well-formed"):
        parse_cap_xml("<alert")
    with pytest.raises(ValidationError, match=r"not a CAP 1\.2 alert"):
        parse_cap_xml('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>')


def test_every_problem_of_an_alert_is_listed() -> None:
    document = (
        MINIMAL.replace("<status>Actual</status>", "<status>Draft</status>")
        .replace("<msgType>Alert</msgType>", "<msgType>Ack</msgType>")
        .replace("<scope>Public</scope>", "<scope>Restricted</scope>")
        .replace("<urgency>Immediate</urgency>", "")
        .replace(
            "</info>",
            "<area><areaDesc>x</areaDesc><geocode><valueName>SAME</valueName><value>1</value></geocode>"
            "<circle>95,0 1</circle></area></info>",
        )
    )
    with pytest.raises(ValidationError) as caught:
        parse_cap_xml(document)
    assert [p.path for p in caught.value.problems] == [
        "$.alert.status",
        "$.alert.msgType",
        "$.alert.code",
        "$.alert.info[0].urgency",
        "$.alert.info[0].area[0].circle[0]",
        "$.alert.info[0].area[0].geocode[0]",
    ]


@pytest.mark.parametrize(
    ("original", "hostile", "path"),
    [
        # Regression: each of these was accepted from CAP although cssc-message/1 JSON refuses it, so
        # the stored message could not be read back.
        ("CSSC-SCOT-2019-0612-00,", "CSSC!SCOT,", "$.alert.references"),
        ("<value>SCOT</value>", "<value>no such/region</value>", "$.alert.info[0].parameter[0].value"),
        ("<value>c-0001</value>", "<value>c 0001</value>", "$.alert.info[0].parameter[4].value"),
        ("<value>G3</value>", "<value>Glasgow 3</value>", "$.alert.info[0].area[1].geocode[0].value"),
        ("<sender>alerts@nctphq.example.org</sender>", f"<sender>{'s' * 10_001}</sender>", "$.alert.sender"),
    ],
)
def test_values_the_json_format_refuses_are_refused_in_cap(original: str, hostile: str, path: str) -> None:
    document = SAMPLE.read_text("utf-8").replace(original, hostile, 1)
    with pytest.raises(ValidationError) as caught:
        parse_cap_xml(document)
    assert [p.path for p in caught.value.problems] == [path]


def test_a_county_geocode_is_checked_as_text() -> None:
    document = SAMPLE.read_text("utf-8").replace("Glasgow City</value>", "Glasgow&#x7f;</value>")
    with pytest.raises(ValidationError, match="control characters") as caught:
        parse_cap_xml(document)
    assert [p.path for p in caught.value.problems] == ["$.alert.info[0].area[0].geocode[0].value"]
