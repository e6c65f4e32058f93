"""A region hub's portal on top of ``cssc_core``, in one file and the standard library only.

It shows a region's dashboard (coverage by sector and the recent cascades with how each stands) and
receives the acknowledgement links that copies carry and the SMS replies that quote their codes. Run
it on a store that ``cssc import`` and ``cssc send`` (or ``cssc demo``) filled::

    python cssc_portal.py --db cssc-demo/cssc.db --region SCOT --port 8080

Pages:

- ``GET /`` (``?region=CODE`` for another region): the dashboard;
- ``GET /api/region/CODE``: the same as JSON;
- ``GET /ack?t=TOKEN``: where the acknowledgement links in copies point (the channel file's
  ``[acks] base_url``). The token is checked with :class:`~cssc_core.channels.AckSigner` (signed for
  one message and one contact, until an expiry); the acknowledgement is then recorded (from an ISL of
  a relayed cell, it also releases the cell) and what that makes due is dispatched. A repeat changes
  nothing; a forged, altered or expired token is refused.
- ``POST /sms``: where the SMS gateway's inbound webhook delivers replies, as an HTML form
  (``application/x-www-form-urlencoded``) with the fields ``from`` (the sending number) and
  ``text`` (the reply). :meth:`~cssc_core.CascadeEngine.acknowledge_reply` finds the contact by the
  number and the message by the reply code (``ACK K7QF2MZA``) and records the acknowledgement like a
  link's. A repeat (gateways deliver some messages twice) is a 200 that changes nothing; a number
  that is not one is a 400; a number no contact has, or a text that is no code awaited from it, a
  404. Gateways name their fields differently (``From``/``Body``, ``msisdn``/``text``...): rename
  them in :data:`SMS_FIELDS`. A real deployment also checks the gateway's signature on each request;
  a forged sender number alone acknowledges nothing, as the code is what proves the reply.

Links are checked with the signing key kept in the store, or with ``--secret-env NAME`` the one in
that environment variable, as the channel file's ``[acks] secret_env`` says; reply codes with the
key of each message's cascade (the ``[acks]`` of the channel file it was sent with).
"""

from __future__ import annotations

import argparse
import html
import json
import random
import sys
import threading
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cssc_core import (
    CascadeEngine,
    Clock,
    NotARecipientError,
    NotFoundError,
    ReplyClaim,
    SystemClock,
    ValidationError,
)
from cssc_core.channels import AckClaim, AckSigner, AckTokenError
from cssc_core.domain.coverage import coverage
from cssc_core.plugins.manager import PluginHost, open_store
from cssc_core.storage.sqlite import sqlite_url

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
RECENT = 10
"""How many cascades the dashboard lists, newest first."""
SMS_FIELDS = ("from", "text")
"""The form fields of an inbound SMS: the sending number and the text."""
MAX_FORM = 8192
"""The largest inbound SMS form read, in bytes (a reply is a few dozen)."""


class Portal:
    """The portal's pages over one store.

    Args:
        db: The SQLite store.
        region: The region shown when a page names none.
        clock: Where the time comes from (acknowledgements are recorded at its time).
        secret_env: The environment variable holding the acknowledgement key, when the channel
            file names one; else the key kept in the store.
    """

    def __init__(
        self, db: Path, *, region: str, clock: Clock | None = None, secret_env: str | None = None
    ) -> None:
        self.db = db
        self.region = region
        self.secret_env = secret_env
        self.clock = clock or SystemClock()
        self.host = PluginHost.load()
        # One request at a time: the engine dispatches from the store, and one dispatcher is enough.
        self._lock = threading.Lock()

    def dashboard(self, region: str) -> dict[str, Any]:
        """A region's coverage and recent cascades."""
        with closing(open_store(sqlite_url(self.db), host=self.host)) as store:
            network = store.load_network()
            if network is None or region not in {r.code for r in network.regions}:
                raise NotFoundError(f"unknown region {region!r}")
            today = self.clock.now().date()
            rows = [row for row in coverage(network, today) if row.region == region]
            engine = CascadeEngine(store, host=self.host, clock=self.clock)
            cascades = []
            for record in sorted(store.messages(), key=lambda m: (m.sent, m.id), reverse=True):
                status = engine.status(record.id) if store.get_cascade(record.id) else None
                if status is None or region not in status.by_region:
                    continue
                document = json.loads(record.document)
                cascades.append(
                    {
                        "message": record.id,
                        "headline": document["headline"],
                        "marking": document["marking"],
                        "status": record.status,
                        "type": record.type,
                        "sent": record.sent.isoformat(),
                        "finished": status.finished_at is not None,
                        "in_region": dict(status.by_region[region]),
                        "acknowledgements": status.acknowledgements,
                    }
                )
                if len(cascades) == RECENT:
                    break
        return {
            "region": region,
            "as_of": str(today),
            "coverage": [
                {
                    "sector": row.sector,
                    "isls": row.isls,
                    "active_organisations": row.active_organisations,
                    "stale_contacts": row.stale_contacts,
                    "gap": row.is_gap,
                }
                for row in rows
            ],
            "cascades": cascades,
        }

    def acknowledge(self, token: str) -> tuple[AckClaim, bool]:
        """Records the acknowledgement a link's token makes; False when it was already recorded.

        Raises:
            AckTokenError: for a forged, altered or expired token.
        """
        with self._lock, closing(open_store(sqlite_url(self.db), host=self.host)) as store:
            claim = AckSigner.from_store(store, secret_env=self.secret_env).verify(token, self.clock.now())
            engine = CascadeEngine(store, host=self.host, clock=self.clock, rng=random.Random())
            return claim, engine.acknowledge(claim.message, claim.contact, via="portal")

    def acknowledge_reply(self, phone: str, text: str) -> tuple[ReplyClaim, bool]:
        """Records the acknowledgement an SMS reply carries; False when it was already recorded.

        Raises:
            ValidationError: when ``phone`` is not a phone number.
            UnmatchedReplyError: when no contact has the number, or the text is no code awaited from it.
        """
        with self._lock, closing(open_store(sqlite_url(self.db), host=self.host)) as store:
            engine = CascadeEngine(store, host=self.host, clock=self.clock, rng=random.Random())
            return engine.acknowledge_reply(phone, text, via="sms-reply")

    def _sms(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return _reply(start_response, "415 Unsupported Media Type", "text/plain", "a form is expected\n")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_FORM:
            return _reply(start_response, "413 Content Too Large", "text/plain", "too large\n")
        try:
            form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        phone, text = (form.get(field, [None])[0] for field in SMS_FIELDS)
        if phone is None or text is None:
            said = f"the form fields {' and '.join(SMS_FIELDS)} are expected\n"
            return _reply(start_response, "400 Bad Request", "text/plain", said)
        claim, new = self.acknowledge_reply(phone, text)
        said = "acknowledged" if new else "already acknowledged"
        return _reply(start_response, "200 OK", "text/plain", f"{said}: {claim.message}\n")

    # --- WSGI -------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            method = environ["REQUEST_METHOD"]
            if path == "/sms":
                if method != "POST":
                    return _reply(start_response, "405 Method Not Allowed", "text/plain", "POST only\n")
                return self._sms(environ, start_response)
            if method != "GET":
                return _reply(start_response, "405 Method Not Allowed", "text/plain", "GET only\n")
            if path == "/":
                page = _dashboard_html(self.dashboard(query.get("region", self.region)))
                return _reply(start_response, "200 OK", "text/html; charset=utf-8", page)
            if path.startswith("/api/region/"):
                body = json.dumps(self.dashboard(path.removeprefix("/api/region/")), indent=1)
                return _reply(start_response, "200 OK", "application/json", body)
            if path == "/ack":
                claim, new = self.acknowledge(query.get("t", ""))
                said = "your acknowledgement is recorded" if new else "you had already acknowledged it"
                page = (
                    "<!doctype html><title>Acknowledged</title>"
                    f"<p>Thank you: {html.escape(said)} (message {html.escape(claim.message)}).</p>"
                )
                return _reply(start_response, "200 OK", "text/html; charset=utf-8", page)
            return _reply(start_response, "404 Not Found", "text/plain", "not found\n")
        except AckTokenError as error:
            return _reply(start_response, "403 Forbidden", "text/plain", f"{error}\n")
        except ValidationError as error:
            return _reply(start_response, "400 Bad Request", "text/plain", f"{error}\n")
        except NotFoundError as error:
            return _reply(start_response, "404 Not Found", "text/plain", f"{error}\n")
        except NotARecipientError as error:
            return _reply(start_response, "409 Conflict", "text/plain", f"{error}\n")


def _reply(start_response: StartResponse, status: str, kind: str, text: str) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


def _dashboard_html(board: dict[str, Any]) -> str:
    e = html.escape
    cover = "".join(
        f"<tr><td>{e(r['sector'])}</td><td>{r['isls']}</td><td>{r['active_organisations']}</td>"
        f"<td>{r['stale_contacts']}</td><td>{'GAP' if r['gap'] else ''}</td></tr>"
        for r in board["coverage"]
    )
    cascades = "".join(
        f"<tr><td>{e(c['sent'])}</td><td>{e(c['message'])}</td><td>{e(c['marking'])}</td>"
        f"<td>{e(c['headline'])}</td><td>{e(', '.join(f'{k} {v}' for k, v in c['in_region'].items()))}</td>"
        f"<td>{c['acknowledgements']}</td><td>{'finished' if c['finished'] else 'running'}</td></tr>"
        for c in board["cascades"]
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>CSSC {e(board['region'])}</title></head>"
        f"<body><h1>CSSC {e(board['region'])}: region dashboard</h1>"
        f"<h2>Coverage ({e(board['as_of'])})</h2><table><tr><th>sector</th><th>ISLs</th>"
        f"<th>active organisations</th><th>stale contacts</th><th></th></tr>{cover}</table>"
        f"<h2>Recent cascades</h2><table><tr><th>sent</th><th>message</th><th>marking</th>"
        f"<th>headline</th><th>deliveries in the region</th><th>acknowledgements</th><th></th></tr>"
        f"{cascades}</table></body></html>"
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged to standard error."""


def make_portal_server(portal: Portal, host: str = "127.0.0.1", port: int = 0) -> WSGIServer:
    """A server for the portal (port 0: a free port, read back from ``server.server_port``)."""
    return make_server(host, port, portal, handler_class=_QuietHandler)


def main(argv: list[str] | None = None) -> int:
    """Serves the portal until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", type=Path, default=Path("cssc.db"), help="the SQLite store")
    parser.add_argument("--region", default="EAST", help="the region shown by default")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--secret-env", help="the environment variable holding the acknowledgement key")
    options = parser.parse_args(argv)
    portal = Portal(options.db, region=options.region, secret_env=options.secret_env)
    server = make_portal_server(portal, options.host, options.port)
    print(f"serving the {options.region} dashboard on http://{options.host}:{server.server_port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
