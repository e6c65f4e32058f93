"""Loopback sinks for the channel benchmark, each run in a process of its own.

``python benchmarks/_sinks.py http`` serves an HTTP sink that answers every POST with 204;
``python benchmarks/_sinks.py smtp`` serves an SMTP sink (aiosmtpd) that accepts every message.
Each prints ``<port> <stats port>`` on its first line, then serves until its standard input closes.
``GET /stats`` on the stats port answers ``{"total": N, "unique": U}`` (U: distinct idempotency
keys or Message-IDs seen), ``POST /reset`` starts the counts afresh. Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Counts:
    def __init__(self) -> None:
        self.total = 0
        self.keys: set[bytes | str] = set()

    def see(self, key: bytes | str | None) -> None:
        self.total += 1
        if key is not None:
            self.keys.add(key)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/reset", self.reset)
        return app

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response({"total": self.total, "unique": len(self.keys)})

    async def reset(self, _: web.Request) -> web.Response:
        self.total = 0
        self.keys.clear()
        return web.Response(status=204)


async def _start(app: web.Application) -> int:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, backlog=1024)
    await site.start()
    return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


class _HttpSink(asyncio.Protocol):
    """A minimal HTTP/1.1 responder: every request gets 204, keep-alive, no framework in the way.

    The sink is the fixture, not what is measured: the lighter it is, the more of the machine the
    client under test gets, for ours and the references alike. It reads ``Content-Length`` bodies
    (what aiohttp and requests send) and counts each request by its ``Idempotency-Key``.
    """

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            fields = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            length = int(fields.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                break
            self.buffer = self.buffer[end + 4 + length :]
            path = head[0].split(" ")[1]
            if path == "/stats":
                body = json.dumps({"total": self.counts.total, "unique": len(self.counts.keys)}).encode()
                replies.append(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            elif path == "/reset":
                self.counts.total = 0
                self.counts.keys.clear()
                replies.append(b"HTTP/1.1 204 No Content\r\n\r\n")
            else:
                self.counts.see(fields.get("idempotency-key"))
                replies.append(b"HTTP/1.1 204 No Content\r\n\r\n")
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))


async def _http(counts: Counts) -> int:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _HttpSink(counts), HOST, 0, backlog=1024)
    return int(server.sockets[0].getsockname()[1])


class _MailHandler:
    def __init__(self, counts: Counts) -> None:
        self.counts = counts

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or b""
        match = _MESSAGE_ID.search(content)
        self.counts.see(match.group(1) if match else None)
        return "250 OK"


async def _smtp(counts: Counts) -> int:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    handler = _MailHandler(counts)
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.local"), HOST, 0)
    return int(server.sockets[0].getsockname()[1])


async def main(kind: str) -> None:
    counts = Counts()
    port = await (_http(counts) if kind == "http" else _smtp(counts))
    stats_port = port if kind == "http" else await _start(counts.app())
    print(f"{port} {stats_port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes our standard input


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
