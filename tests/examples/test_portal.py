"""The portal example serves a region's dashboard and records acknowledgements from links and SMS replies."""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from cssc_core import CascadeEngine, FakeClock
from cssc_core.channels import AckSigner
from cssc_core.formats.message import read_message_file
from cssc_core.formats.network import read_network_file
from cssc_core.formats.policy import read_policy_files
from cssc_core.plugins.manager import PluginHost, open_store
from cssc_core.storage.records import DeliveryKind, DeliveryStatus
from cssc_core.storage.sqlite import sqlite_url

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SENT = datetime.fromisoformat("2019-06-12T09:00:00+01:00")
UNTIL = datetime.fromisoformat("2019-06-13T09:00:00+01:00")


def _portal_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cssc_portal", EXAMPLES / "portal" / "cssc_portal.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, FakeClock]]:
    """The tutorial's network and message in a store, and the portal serving it on a free port."""
    monkeypatch.chdir(tmp_path)
    tutorial = EXAMPLES / "tutorial"
    db = tmp_path / "cssc.db"
    clock = FakeClock(SENT)
    with closing(open_store(sqlite_url(db))) as store:
        store.replace_network(read_network_file(tutorial / "network.json"))
        engine = CascadeEngine(store, host=PluginHost.load(), clock=clock)
        engine.send(
            read_message_file(tutorial / "message.json"),
            policy=read_policy_files([tutorial / "policy.toml"]),
        )
    module = _portal_module()
    clock.advance(5 * 60)
    server = module.make_portal_server(module.Portal(db, region="EAST", clock=clock))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", db, clock
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode("utf-8")


def test_the_dashboard_shows_coverage_and_recent_cascades(portal: tuple[str, Path, FakeClock]) -> None:
    base, _, _ = portal
    status, page = _get(f"{base}/")
    assert status == 200
    assert "CSSC EAST: region dashboard" in page
    assert "tut-0001" in page
    assert "Hostile reconnaissance reported in Norwich city centre" in page
    status, text = _get(f"{base}/api/region/EAST")
    assert status == 200
    board = json.loads(text)
    by_sector = {row["sector"]: row for row in board["coverage"]}
    assert by_sector["retail"]["isls"] == 2
    assert by_sector["faith"]["gap"] is True
    [cascade] = board["cascades"]
    assert cascade["message"] == "tut-0001"
    assert cascade["in_region"]["delivered"] == 4
    # The retail members (the deputy ISL among them) wait for their cell; the lead's own copy is
    # cancelled, as its relay request brought it the message.
    assert cascade["in_region"]["held"] == 3
    assert _get(f"{base}/api/region/MARS")[0] == 404
    assert _get(f"{base}/nowhere")[0] == 404


def _link(db: Path, base: str, message: str, contact: str) -> str:
    """The link a copy carries, made as the renderer makes it (the key kept in the store)."""
    with closing(open_store(sqlite_url(db))) as store:
        link = AckSigner.from_store(store, base_url=f"{base}/ack").link(message, contact, UNTIL)
    assert link is not None
    return link


def test_an_acknowledgement_link_from_an_isl_releases_its_cell(portal: tuple[str, Path, FakeClock]) -> None:
    base, db, _ = portal
    status, page = _get(_link(db, base, "tut-0001", "c-lead"))
    assert status == 200
    assert "your acknowledgement is recorded" in page
    with closing(open_store(sqlite_url(db))) as store:
        [ack] = store.acknowledgements("tut-0001")
        assert (ack.contact, ack.via) == ("c-lead", "portal")
        assert ack.at == SENT.replace(minute=5)
        released = [
            d
            for d in store.deliveries_of("tut-0001")
            if d.kind is DeliveryKind.MESSAGE and d.cell == ("EAST", "retail")
        ]
        assert {d.contact for d in released} == {"c-castle", "c-books", "c-deputy"}
        assert all(d.status is DeliveryStatus.DELIVERED for d in released)
    # A repeat changes nothing; a stranger to the message is refused.
    status, page = _get(_link(db, base, "tut-0001", "c-lead"))
    assert status == 200
    assert "you had already acknowledged it" in page
    assert _get(_link(db, base, "tut-0001", "c-nobody"))[0] == 404
    assert _get(_link(db, base, "nothing", "c-lead"))[0] == 404
    with closing(open_store(sqlite_url(db))) as store:
        assert len(store.acknowledgements("tut-0001")) == 1


def test_a_forged_altered_or_expired_link_is_refused(portal: tuple[str, Path, FakeClock]) -> None:
    base, db, clock = portal
    link = _link(db, base, "tut-0001", "c-castle")
    forged = AckSigner(b"another key, not the store's").token("tut-0001", "c-castle", UNTIL)
    token = link.split("t=", 1)[1]
    for bad in (
        f"{base}/ack?t={forged}",
        f"{base}/ack?t=" + token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        f"{base}/ack",
    ):
        assert _get(bad)[0] == 403, bad
    clock.set(UNTIL)
    assert _get(link)[0] == 403
    with closing(open_store(sqlite_url(db))) as store:
        assert store.acknowledgements("tut-0001") == []


def test_only_get_is_served(portal: tuple[str, Path, FakeClock]) -> None:
    base, _, _ = portal
    request = urllib.request.Request(f"{base}/", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    with refused.value:
        assert refused.value.code == 405


def _post_sms(
    base: str, fields: dict[str, str], kind: str = "application/x-www-form-urlencoded"
) -> tuple[int, str]:
    """What a gateway's inbound webhook sends: a form with the sending number and the text."""
    request = urllib.request.Request(
        f"{base}/sms",
        data=urllib.parse.urlencode(fields).encode("utf-8"),
        headers={"Content-Type": kind},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode("utf-8")


def _code(db: Path, message: str, contact: str) -> str:
    """The reply code a copy carries, made as the renderer makes it (the key kept in the store)."""
    with closing(open_store(sqlite_url(db))) as store:
        return AckSigner.from_store(store).reply_code(message, contact)


def test_an_sms_reply_from_an_isl_releases_its_cell(portal: tuple[str, Path, FakeClock]) -> None:
    base, db, _ = portal
    code = _code(db, "tut-0001", "c-deputy")  # any ISL of the cell may release it, asked or not
    status, text = _post_sms(base, {"from": "+442079460001", "text": f"ack {code.lower()}"})
    assert (status, text) == (200, "acknowledged: tut-0001\n")
    with closing(open_store(sqlite_url(db))) as store:
        [ack] = store.acknowledgements("tut-0001")
        assert (ack.contact, ack.via, ack.at) == ("c-deputy", "sms-reply", SENT.replace(minute=5))
        released = [
            d
            for d in store.deliveries_of("tut-0001")
            if d.kind is DeliveryKind.MESSAGE and d.cell == ("EAST", "retail")
        ]
        assert {d.contact for d in released} == {"c-castle", "c-books", "c-deputy"}
    # A gateway delivering the same reply again changes nothing.
    assert _post_sms(base, {"from": "020 7946 0001", "text": code}) == (
        200,
        "already acknowledged: tut-0001\n",
    )
    with closing(open_store(sqlite_url(db))) as store:
        assert len(store.acknowledgements("tut-0001")) == 1


def test_sms_replies_that_match_nothing_are_refused(portal: tuple[str, Path, FakeClock]) -> None:
    base, db, _ = portal
    school = _code(db, "tut-0001", "c-school")
    for fields, expected in (
        ({"from": "+442079460001", "text": school}, 404),  # the school's code, from the deputy's number
        ({"from": "+442079460002", "text": "YES"}, 404),
        ({"from": "+441314960000", "text": school}, 404),  # nobody's number
        ({"from": "not a number", "text": school}, 400),
        ({"from": "+442079460002"}, 400),
        ({"text": school}, 400),
    ):
        status, text = _post_sms(base, fields)
        assert status == expected, fields
        assert school not in text
    assert _post_sms(base, {"from": "+442079460002", "text": school}, kind="application/json")[0] == 415
    assert _get(f"{base}/sms")[0] == 405
    with closing(open_store(sqlite_url(db))) as store:
        assert store.acknowledgements("tut-0001") == []
    # From the school's own number: its acknowledgement stops the move to SMS and the escalation.
    with closing(open_store(sqlite_url(db))) as store:
        assert [t.subject for t in store.timers_of("tut-0001") if t.kind == "ack-timeout"] == ["c-school"]
    assert _post_sms(base, {"from": "+442079460002", "text": f"ACK {school}"})[0] == 200
    with closing(open_store(sqlite_url(db))) as store:
        assert [t for t in store.timers_of("tut-0001") if t.kind == "ack-timeout"] == []
