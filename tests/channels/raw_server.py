"""A scripted HTTP/1.1 server on loopback for the client's tests, misbehaving on cue.

It reads each request (head and ``Content-Length`` body) and hands it to the test's ``answer``,
which writes whatever bytes it likes, or closes or resets the connection. It counts connections
and requests, and records the order requests arrived in.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs

LOOPBACK = "127.0.0.1"


@attrs.frozen
class Request:
    """A request as the server read it."""

    connection: int
    index: int  # of the request on its connection, from 0
    line: str
    headers: dict[str, str]
    body: bytes
    raw_head: bytes


Answer = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


def reply(status: int = 204, headers: str = "", body: bytes = b"") -> bytes:
    """A response with a ``Content-Length``."""
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def answering(data: bytes) -> Answer:
    """An answer writing the same bytes to every request."""

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)

    return answer


def reset(writer: asyncio.StreamWriter) -> None:
    """Closes the connection with a TCP reset rather than a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Server:
    """Counts what it serves; see :func:`serve`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.requests: list[Request] = []
        self.closed_by_client = 0
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    def url(self, path: str = "/hook", scheme: str = "http", host: str = LOOPBACK) -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self.writers.add(writer)
        try:
            for index in range(10_000):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    break
                line, *fields = head.decode("latin-1").split("\r\n")[:-2]
                headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(number, index, line, headers, body, head)
                self.requests.append(request)
                await self.answer(request, writer)
                if writer.is_closing():
                    break
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self.open -= 1
            self.writers.discard(writer)
            writer.close()


@asynccontextmanager
async def serve(answer: Answer, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Runs a :class:`Server` on a free loopback port for the duration."""
    server = Server(answer)
    listener = await asyncio.start_server(server.handle, LOOPBACK, 0, ssl=ssl_context)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for writer in list(server.writers):
            writer.transport.abort()
        await listener.wait_closed()
        for _ in range(5):  # let the handlers see their connections end
            await asyncio.sleep(0)


class Recorder:
    """A socket factory recording each address it is asked for, then making the socket."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __call__(self, info: tuple[Any, ...]) -> socket.socket:
        self.attempts.append(str(info[4][0]))
        return socket.socket(info[0], info[1], info[2])
