"""Loopback sinks for the channel benchmark, each run in a process of its own.

``python benchmarks/_sinks.py http`` serves an HTTP sink that answers every POST with 204;
``python benchmarks/_sinks.py smtp`` serves an SMTP sink (aiosmtpd) that accepts every message.
Each prints ``<port> <stats port>`` on its first line, then serves until its standard input closes.
``GET /stats`` on the stats port answers ``{"total": N, "unique": U}`` (U: distinct idempotency
keys or Message-IDs seen), ``POST /reset`` starts the counts afresh. Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
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


async def _http(counts: Counts) -> int:
    async def post(request: web.Request) -> web.Response:
        await request.read()
        counts.see(request.headers.get("Idempotency-Key"))
        return web.Response(status=204)

    app = counts.app()
    app.router.add_post("/{path:.*}", post)
    return await _start(app)


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
