"""Every reader, fed damaged documents and damaged text, refuses with the library's own errors.

Each property counts its inputs in the reliability tally. Anything a reader accepts must also be
written out and read back unchanged, so that an accepted value can never break a later step.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import assume, given
from hypothesis import strategies as st

from cssc_core import (
    Message,
    Network,
    RoutingPolicy,
    dumps_cap_xml,
    dumps_message_json,
    dumps_message_toml,
    dumps_network_csv,
    dumps_network_json,
    dumps_network_toml,
    dumps_policy_toml,
    message_to_document,
    network_to_document,
    parse_cap_xml,
    parse_message_json,
    parse_message_toml,
    parse_network_csv,
    parse_network_json,
    parse_network_toml,
    parse_policy_toml,
    read_message_file,
    read_network_file,
    read_policy_files,
)
from cssc_core.formats.policy import policy_to_document
from tests.reliability.tally import attempt, fuzz_settings
from tests.strategies import (
    HOSTILE_STRINGS,
    damaged_documents,
    damaged_texts,
    messages,
    networks,
    routing_policies,
)


def _json(document: Any) -> str:
    return json.dumps(document, allow_nan=True)


def _toml(document: Any) -> str | None:
    """TOML text of a damaged document, or None when TOML cannot write it (a null, a key that is not text)."""
    try:
        return tomli_w.dumps(document)
    except (TypeError, ValueError, AttributeError):
        return None


def _network_reads_back(network: Network) -> None:
    assert parse_network_json(dumps_network_json(network)) == network


def _message_reads_back(message: Message) -> None:
    assert parse_message_json(dumps_message_json(message)) == message


def _in_file(raw: bytes, suffix: str) -> Any:
    """Runs the file readers on ``raw`` saved with ``suffix``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(raw)
        if suffix in (".json", ".toml", ".csv") and not path.name.startswith("m"):
            return attempt(lambda: read_network_file(path))
        raise AssertionError(suffix)


# --- networks ------------------------------------------------------------------------------------


@fuzz_settings(60)
@given(st.data())
def test_damaged_network_documents(data: st.DataObject) -> None:
    document = network_to_document(data.draw(networks(max_organisations=3)))
    damaged = data.draw(damaged_documents(document))
    result = attempt(lambda: parse_network_json(_json(damaged)))
    if isinstance(result, Network):
        _network_reads_back(result)
    toml = _toml(damaged)
    if toml is not None:
        result = attempt(lambda: parse_network_toml(toml))
        if isinstance(result, Network):
            _network_reads_back(result)


@fuzz_settings(40)
@given(st.data(), st.sampled_from([".json", ".toml", ".csv"]))
def test_damaged_network_files(data: st.DataObject, suffix: str) -> None:
    network = data.draw(networks(max_organisations=3))
    dumps = {".json": dumps_network_json, ".toml": dumps_network_toml, ".csv": dumps_network_csv}[suffix]
    text = dumps(network)
    result = _in_file(data.draw(damaged_texts(text)), suffix)
    if isinstance(result, Network):
        _network_reads_back(result)


@fuzz_settings(40)
@given(st.data())
def test_damaged_csv_cells(data: st.DataObject) -> None:
    lines = dumps_network_csv(data.draw(networks(max_organisations=3))).split("\r\n")
    header, rows = lines[0], [line for line in lines[1:] if line]
    assume(rows)
    index = data.draw(st.integers(0, len(rows) - 1))
    cells = rows[index].split(",")
    cell = data.draw(st.integers(0, len(cells) - 1))
    cells[cell] = json.dumps(data.draw(st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=30)))
    rows[index] = ",".join(cells)
    result = attempt(lambda: parse_network_csv("\r\n".join([header, *rows]) + "\r\n"))
    if isinstance(result, Network):
        _network_reads_back(result)


# --- messages -----------------------------------------------------------------------------------


@fuzz_settings(60)
@given(st.data())
def test_damaged_message_documents(data: st.DataObject) -> None:
    damaged = data.draw(damaged_documents(message_to_document(data.draw(messages()))))
    result = attempt(lambda: parse_message_json(_json(damaged)))
    if isinstance(result, Message):
        _message_reads_back(result)
    toml = _toml(damaged)
    if toml is not None:
        result = attempt(lambda: parse_message_toml(toml))
        if isinstance(result, Message):
            _message_reads_back(result)


@fuzz_settings(40)
@given(st.data(), st.sampled_from([".json", ".toml", ".xml"]))
def test_damaged_message_files(data: st.DataObject, suffix: str) -> None:
    message = data.draw(messages())
    text = {".json": dumps_message_json, ".toml": dumps_message_toml, ".xml": dumps_cap_xml}[suffix](message)
    raw = data.draw(damaged_texts(text))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"message{suffix}"
        path.write_bytes(raw)
        result = attempt(lambda: read_message_file(path))
    if isinstance(result, Message):
        _message_reads_back(result)


_ELEMENT_TEXT = re.compile(r">([^<>]+)<")


@fuzz_settings(60)
@given(st.data())
def test_cap_elements_with_hostile_text(data: st.DataObject) -> None:
    document = dumps_cap_xml(data.draw(messages()))
    places = list(_ELEMENT_TEXT.finditer(document))
    for _ in range(data.draw(st.integers(1, 3))):
        place = data.draw(st.sampled_from(places))
        hostile = data.draw(st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=30))
        escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        document = document[: place.start(1)] + escaped + document[place.end(1) :]
        places = list(_ELEMENT_TEXT.finditer(document))
    result = attempt(lambda: parse_cap_xml(document.encode("utf-8", "surrogatepass")))
    if isinstance(result, Message):
        _message_reads_back(result)


# --- policies -----------------------------------------------------------------------------------


@fuzz_settings(60)
@given(st.data())
def test_damaged_policy_documents(data: st.DataObject) -> None:
    damaged = data.draw(damaged_documents(policy_to_document(data.draw(routing_policies()))))
    toml = _toml(damaged)
    assume(toml is not None)
    assert toml is not None
    result = attempt(lambda: parse_policy_toml(toml))
    if isinstance(result, RoutingPolicy):
        assert parse_policy_toml(dumps_policy_toml(result)) == result


@fuzz_settings(30)
@given(st.data())
def test_damaged_policy_files(data: st.DataObject) -> None:
    raw = data.draw(damaged_texts(dumps_policy_toml(data.draw(routing_policies()))))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.toml"
        path.write_bytes(raw)
        result = attempt(lambda: read_policy_files([path]))
    if isinstance(result, RoutingPolicy):
        assert parse_policy_toml(dumps_policy_toml(result)) == result


def test_numbers_at_the_edges() -> None:
    """NaN, infinities and integers beyond 64 bits where the documents take numbers."""
    organisation = '{"id": "o", "name": "n", "region": "EAST", "sectors": ["retail"]'
    for value in (math.nan, math.inf, -math.inf, 2**63, 10**30, -(2**63) - 1, 1e308):
        number = json.dumps(value, allow_nan=True)
        for text in (
            f'{{"format": "cssc-network/1", "organisations": [{organisation}, '
            f'"location": {{"lat": {number}, "lon": {number}}}}}]}}',
            f'{{"format": "cssc-network/1", "organisations": [{organisation}, '
            '"contacts": [{"id": "c", "name": "x"}]}], '
            '"roles": [{"role": "isl", "region": "EAST", "sector": "retail", "contact": "c", '
            f'"rank": {number}}}]}}',
        ):
            result = attempt(lambda text=text: parse_network_json(text))
            if isinstance(result, Network):
                _network_reads_back(result)
