"""A small HTTP/1.1 client for channels that POST: small bodies out, a status back, connections kept.

Why not aiohttp: on a national cascade the HTTP client's CPU per request was the largest single
cost, and aiohttp's general machinery (sessions, tracing, cookie and proxy handling, multidicts,
a task per timeout) spends most of it on features a channel never uses. This client does one job
on asyncio's transports and protocols; measured by ``python -m benchmarks channels`` (see
``docs/channels.md``), the webhook channel on it delivers several times as many copies a second as
raw aiohttp POSTs of prebuilt bodies do.

What it does:

- keeps a pool of keep-alive connections per origin (scheme, host, port), at most ``limit`` in
  all; requests wait for a connection in the order they came;
- posts a batch (:meth:`HttpClient.post_each`) on at most ``limit`` tasks, each carrying requests
  one after another on the connection it has, the next written from the callback that read the
  answer to the last;
- ``https`` with certificate and host name checked (``ssl.create_default_context()`` unless a
  context is given), and ``http``: which of the two a channel allows is the channel's decision;
- resolves a name itself, has the SSRF guard (:class:`~cssc_core.channels.ssrf.GuardedSocketFactory`)
  check every resolved address before a socket is made for it, and connects to that very address,
  so there is no second lookup that DNS rebinding could answer differently;
- never follows redirects (a 3xx is returned), keeps no cookies, reads no proxy settings;
- times each request as a whole, from its connection being opened or taken from the pool to the
  end of the response; the wait for a free connection is not counted, so that a queue behind one
  slow server does not time out requests that were never sent.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple, cast
from urllib.parse import quote, urlsplit

from cssc_core.channels.http_parser import (
    ConnectionDroppedError,
    HttpError,
    MalformedResponseError,
    Response,
    ResponseParser,
    ResponseTooLargeError,
)
from cssc_core.channels.ssrf import (
    ForbiddenAddressError,
    GuardedSocketFactory,
    scheme_and_authority,
    splits_alike,
)
from cssc_core.errors import CsscError

__all__ = [
    "AddrInfo",
    "ConnectionDroppedError",
    "HttpClient",
    "HttpError",
    "InvalidRequestError",
    "MalformedResponseError",
    "Resolver",
    "Response",
    "ResponseTooLargeError",
]

AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]
"""One address of a name, as ``getaddrinfo`` gives it: ``(family, type, proto, canonname, sockaddr)``."""

Resolver = Callable[[str, int], Awaitable[Sequence[AddrInfo]]]
"""Resolves ``(host, port)`` to addresses (``loop.getaddrinfo`` unless a test injects one)."""

Origin = tuple[str, str, int]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f]")
# Headers the client writes itself: a caller's copy would make two, which receivers read differently.
_RESERVED = frozenset(
    {"host", "content-length", "transfer-encoding", "content-type", "connection", "user-agent"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/?%:@!$&()*+,;=-._~"
# A path of only the characters quote() leaves as they are (letters, digits, "_.-~" and _PATH_SAFE).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/%:@!$&'()*+,;=._~-]*")
_KEPT = 4096  # targets kept by URL, and origins by scheme and authority


class InvalidRequestError(CsscError, ValueError):
    """The request cannot be sent as asked: a malformed URL, or a header with CR, LF or NUL."""


class _Target(NamedTuple):
    origin: Origin
    prefix: str  # the request line and the fixed headers
    fixed: str  # the fixed headers alone: Host, User-Agent


def _target(url: str, user_agent: str) -> _Target:
    if _UNSAFE_URL.search(url):
        raise InvalidRequestError("the URL holds spaces or control characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise InvalidRequestError(f"not a valid URL: {error}") from None
    if parts.scheme not in _DEFAULT_PORTS or not host:
        raise InvalidRequestError("not an http or https URL with a host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidRequestError("the host name is not a valid international name") from None
    port = port or _DEFAULT_PORTS[parts.scheme]
    authority = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[parts.scheme]:
        authority = f"{authority}:{port}"
    fixed = f"Host: {authority}\r\nUser-Agent: {user_agent}\r\n"
    return _Target((parts.scheme, host, port), _request_line(parts.path, parts.query) + fixed, fixed)


def _request_line(path: str, query: str) -> str:
    path = path or "/"
    if not _PLAIN_PATH.fullmatch(path):  # a path per contact is plain, and a match costs a quarter
        path = quote(path, safe=_PATH_SAFE)
    if query:
        path = f"{path}?{quote(query, safe=_QUERY_SAFE)}"
    return f"POST {path} HTTP/1.1\r\n"


def _check_header(name: str, value: str) -> None:
    if not _TOKEN.fullmatch(name):
        raise InvalidRequestError(f"not a valid header name: {name!r}")
    if name.lower() in _RESERVED:
        raise InvalidRequestError(f"the client writes the {name} header itself")
    if _UNSAFE_VALUE.search(value):
        raise InvalidRequestError(f"the {name} header holds CR, LF or NUL")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: carries one request at a time and reads its response."""

    def __init__(self, client: HttpClient, origin: Origin) -> None:
        self.client = client
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.requests = 0
        self.idle = False
        self.reusable = False
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._answer: Callable[[Response | BaseException], None] | None = None
        self._parser: ResponseParser | None = None
        self.deadline = 0.0  # of the request under way
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def request(self, data: bytes, deadline: float) -> asyncio.Future[Response]:
        """Sends a request; the future gets its response (or the error that ended the exchange)."""
        waiter: asyncio.Future[Response] = self._loop.create_future()
        self.send(data, deadline, partial(_settle, waiter))
        return waiter

    def send(self, data: bytes, deadline: float, answer: Callable[[Response | BaseException], None]) -> None:
        """Sends a request; ``answer`` is called with its response, or the error that ended the
        exchange, from the callback that read it (and may send the next request at once)."""
        assert self.transport is not None
        self.requests += 1
        self.reusable = False
        self._answer = answer
        self._parser = ResponseParser(self.client.head_limit, self.client.body_limit)
        self.deadline = deadline
        # One timer a connection, not one a request (each armed, then cancelled, in the loop's heap):
        # a response in time leaves it armed, and when it fires before the deadline of the request
        # then under way, it is armed again for that deadline (see _check_deadline).
        if self._timer is None or self._timer_at > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._check_deadline)
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self._answer is None:
            self.abort()  # bytes nobody asked for: the connection can no longer be trusted
            return
        try:
            done = parser.feed(data)
        except HttpError as error:
            self._finish(error)
            return
        if done:
            assert parser.response is not None
            self.reusable = parser.response.keep_alive and not parser.extra
            self._finish(parser.response)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.client._all.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)
        if self.idle:
            self.client._lost_idle(self)
        elif self._answer is not None:
            parser = self._parser
            assert parser is not None
            if exc is None and parser.feed_eof() and parser.response is not None:
                self._finish(parser.response)
                return
            dropped = ConnectionDroppedError(
                "the connection was reset" if exc else "the connection closed before the response ended",
                before_response=not parser.started,
            )
            dropped.__cause__ = exc
            self._finish(dropped)

    def _check_deadline(self) -> None:
        self._timer = None
        if self._answer is None:
            return  # idle: the next request arms it again
        if self.deadline > self._timer_at:
            self._timer_at = self.deadline
            self._timer = self._loop.call_at(self.deadline, self._check_deadline)
            return
        self._finish(TimeoutError("the request timed out"))
        self.abort()

    def _finish(self, outcome: Response | BaseException) -> None:
        answer, self._answer, self._parser = self._answer, None, None
        if answer is None:
            return
        if isinstance(outcome, BaseException):
            self.reusable = False
        answer(outcome)

    @property
    def closing(self) -> bool:
        """Whether the connection is closing or closed (it can carry no request)."""
        return self.transport is None or self.transport.is_closing()

    def abort(self) -> None:
        """Drops the connection at once."""
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()


def _settle(waiter: asyncio.Future[Response], outcome: Response | BaseException) -> None:
    """Gives a request's future its outcome, unless it was cancelled."""
    if waiter.done():
        return
    if isinstance(outcome, BaseException):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)


_Request = tuple[int, Origin, bytes]  # a request of a post_each call: its place, origin and bytes


class _Run:
    """Requests carried one after another on one connection, each written from the callback that
    read the answer to the one before (see :meth:`HttpClient.post_each`).

    The run ends at the first request that goes to another origin, or when the connection may not
    carry another, or the client closed (:attr:`next` is then the first request not sent, None
    after the last), or when a request fails: its future then gets the request and its error,
    for the caller to handle as any other request's (a connection dropped under a request is the
    keep-alive race, and the request may be sent again).
    """

    def __init__(
        self,
        client: HttpClient,
        connection: _Connection,
        pending: Iterator[_Request],
        outcomes: list[Response | Exception | None],
    ) -> None:
        self.next: _Request | None = None
        self._client = client
        self._connection = connection
        self._pending = pending
        self._outcomes = outcomes
        self._loop = asyncio.get_running_loop()
        self._ended: asyncio.Future[tuple[_Request, Exception] | None] = self._loop.create_future()
        self._current: _Request | None = None

    def start(self, request: _Request) -> asyncio.Future[tuple[_Request, Exception] | None]:
        """Sends ``request``; the future gets None when the run ended well, or the request that
        failed and its error."""
        self._send(request)
        return self._ended

    def _send(self, request: _Request) -> None:
        self._current = request
        self._connection.send(request[2], self._loop.time() + self._client.timeout_s, self._answer)

    def _answer(self, outcome: Response | BaseException) -> None:
        request = self._current
        assert request is not None
        if self._ended.done():
            return  # cancelled: the caller drops the connection
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, Exception)
            self._ended.set_result((request, outcome))
            return
        self._outcomes[request[0]] = outcome
        connection = self._connection
        following = next(self._pending, None)
        if (
            following is not None
            and following[1] == connection.origin
            and connection.reusable
            and not connection.closing
            and not self._client._closed
        ):
            self._send(following)
            return
        self.next = following
        self._ended.set_result(None)


class HttpClient:
    """POSTs small bodies over pooled keep-alive HTTP/1.1 connections.

    Make it on the event loop that will use it; close it with :meth:`aclose`.

    Args:
        limit: Connections open at most, over every origin.
        timeout_s: For each request: connecting (when it needs a connection), sending, the response.
        socket_factory: Makes the socket for each resolved address; the SSRF guard (the default
            guard refuses every non-global address).
        resolver: Resolves a host name (``loop.getaddrinfo`` when None); IP literals are not looked up.
        ssl_context: For ``https`` (``ssl.create_default_context()``, made on first use, when None).
        user_agent: The ``User-Agent`` header.
        head_limit: Bytes a response head may take.
        body_limit: Bytes a response body may take (it is read and discarded).
    """

    def __init__(
        self,
        *,
        limit: int = 10,
        timeout_s: float = 10.0,
        socket_factory: Callable[[AddrInfo], socket.socket] | None = None,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "cssc-core",
        head_limit: int = 64 * 1024,
        body_limit: int = 1024 * 1024,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        _check_header("X-User-Agent", user_agent)
        self.limit = limit
        self.timeout_s = timeout_s
        self.socket_factory = socket_factory or GuardedSocketFactory()
        self.head_limit = head_limit
        self.body_limit = body_limit
        self._resolver = resolver
        self._ssl_context = ssl_context
        self._user_agent = user_agent
        self._targets: dict[str, _Target] = {}
        self._origins: dict[str, tuple[Origin, str]] = {}
        self._names: set[str] = set()
        self._idle: dict[Origin, list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._open = 0  # connections open or being opened: the slots taken
        self._waiters: deque[tuple[Origin, asyncio.Future[_Connection | None]]] = deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"HttpClient(limit={self.limit}, open={self._open}, waiting={len(self._waiters)})"

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> Response:
        """POSTs ``body`` to ``url``; the response's status and head, whatever the status.

        Raises:
            InvalidRequestError: for a malformed URL or header (nothing is sent).
            ForbiddenAddressError: when the guard refused every address of the host.
            TimeoutError: when the request took longer than ``timeout_s``.
            HttpError: for a malformed or oversized response, or a dropped connection.
            OSError: when no connection could be made.
        """
        if self._closed:
            raise RuntimeError("the HTTP client is closed")
        origin, data = self._request(url, body, headers, content_type)
        response, connection = await self._exchange(origin, data)
        if connection is not None:
            self._release(connection)
        return response

    async def post_each(
        self,
        requests: Sequence[tuple[str, bytes, Mapping[str, str] | None]],
        *,
        content_type: str = "application/json",
    ) -> list[Response | Exception]:
        """POSTs each ``(url, body, headers)``; for each, the response or the error :meth:`post`
        would have raised, in the order of ``requests``.

        At most ``limit`` at once, each on a task of its own that takes a connection and carries
        on it, one after another, the requests that go to its origin: each is written from the
        callback that read the answer to the last (a :class:`_Run`), with no future, no task
        switch and no hand-over a request (which cost more than the request itself). The task
        wakes only when its run ends: at a request to another origin, a connection that may not
        carry another, an error, or the end of the requests.
        """
        if self._closed:
            raise RuntimeError("the HTTP client is closed")
        outcomes: list[Response | Exception | None] = [None] * len(requests)
        pending = self._prepared(requests, content_type, outcomes)

        async def carry() -> None:
            held: _Connection | None = None
            request = next(pending, None)
            try:
                while request is not None:
                    index, origin, data = request
                    if held is not None and (held.origin != origin or held.closing):
                        self._give_back(held)
                        held = None
                    if held is None:
                        try:
                            outcomes[index], held = await self._exchange(origin, data)
                        except Exception as error:
                            outcomes[index] = error
                        request = next(pending, None)
                        continue
                    # The run has the connection now: when it fails, it drops it and its slot.
                    connection, held = held, None
                    request, held = await self._carry(connection, request, pending, outcomes)
            finally:
                if held is not None:
                    self._give_back(held)

        workers = min(self.limit, len(requests))
        if workers == 1:
            await carry()
        elif workers > 1:
            await asyncio.gather(*(carry() for _ in range(workers)))
        return cast(list[Response | Exception], outcomes)

    def _prepared(
        self,
        requests: Sequence[tuple[str, bytes, Mapping[str, str] | None]],
        content_type: str,
        outcomes: list[Response | Exception | None],
    ) -> Iterator[_Request]:
        """Each request that can be sent, with its place, origin and bytes; a request that cannot
        has its error put in ``outcomes`` and is passed over."""
        for index, (url, body, headers) in enumerate(requests):
            try:
                origin, data = self._request(url, body, headers, content_type)
            except Exception as error:
                outcomes[index] = error
                continue
            yield index, origin, data

    async def _carry(
        self,
        connection: _Connection,
        request: _Request,
        pending: Iterator[_Request],
        outcomes: list[Response | Exception | None],
    ) -> tuple[_Request | None, _Connection | None]:
        """Sends ``request`` and those after it that go to the same origin on ``connection``, a
        connection to that origin the caller had; the first request not sent (None after the
        last), and the connection when it may carry another (the caller then has it again)."""
        run = _Run(self, connection, pending, outcomes)
        try:
            failure = await run.start(request)
        except BaseException:
            connection.abort()
            self._free_slot()
            raise
        if failure is None:
            if connection.reusable and not self._closed:
                return run.next, connection
            connection.abort()
            self._free_slot()
            return run.next, None
        (index, origin, data), error = failure
        try:
            outcomes[index], held = await self._exchange(origin, data, connection, error)
        except Exception as raised:
            outcomes[index], held = raised, None
        return next(pending, None), held

    def _request(
        self, url: str, body: bytes, headers: Mapping[str, str] | None, content_type: str
    ) -> tuple[Origin, bytes]:
        """The origin to send a request to, and its bytes."""
        target = self._targets.get(url) or self._target(url)
        if headers and not headers.keys() <= self._names:  # (issuperset would copy them to a set)
            self._check_fields(content_type, headers)  # raises, or learns the names
        lines = ["Content-Type: ", content_type, "\r\nContent-Length: ", str(len(body)), "\r\n"]
        for name, value in (headers or {}).items():
            lines += (name, ": ", value, "\r\n")
        lines.append("\r\n")
        fields = "".join(lines)
        # The values checked at once rather than one search each: every field ends in CR LF and
        # holds no other CR, LF or NUL (the names are checked already), unless a value does.
        ends = len(headers or ()) + 3  # the two content fields, the others, the empty line
        if fields.count("\n") != ends or fields.count("\r") != ends or "\0" in fields:
            self._check_fields(content_type, headers)
            raise InvalidRequestError("a header holds CR, LF or NUL")  # not reached: it raised
        try:
            return target.origin, (target.prefix + fields).encode("latin-1") + body
        except UnicodeEncodeError:
            raise InvalidRequestError("a header holds characters HTTP cannot carry") from None

    def _target(self, url: str) -> _Target:
        """The request line and fixed headers for ``url``, and its origin; kept by URL.

        A national cascade posts to a URL per contact on a few endpoints: the origin and ``Host``
        are kept by scheme and authority (read as urlsplit reads them, which is checked before
        anything is kept), so that a new URL on a known endpoint costs the quoting of its path.
        """
        if _UNSAFE_URL.search(url):
            raise InvalidRequestError("the URL holds spaces or control characters")
        start = scheme_and_authority(url)
        known = self._origins.get(start)
        if known is None:
            target = _target(url, self._user_agent)
            if splits_alike(url, start):
                if len(self._origins) >= _KEPT:
                    self._origins.clear()
                self._origins[start] = (target.origin, target.fixed)
        else:
            # What follows the authority, as urlsplit divides it: the fragment off, then the query.
            path, _, query = url[len(start) :].partition("#")[0].partition("?")
            origin, fixed = known
            target = _Target(origin, _request_line(path, query) + fixed, fixed)
        if len(self._targets) >= _KEPT:
            self._targets.clear()
        self._targets[url] = target
        return target

    def _check_fields(self, content_type: str, headers: Mapping[str, str] | None) -> None:
        """Raises for the first field that would break the request; learns the header names that pass."""
        if _UNSAFE_VALUE.search(content_type):
            raise InvalidRequestError("the content type holds CR, LF or NUL")
        for name, value in (headers or {}).items():
            if name not in self._names:
                _check_header(name, "")
                self._names.add(name)
            if _UNSAFE_VALUE.search(value):
                raise InvalidRequestError(f"the {name} header holds CR, LF or NUL")

    async def _exchange(
        self,
        origin: Origin,
        data: bytes,
        held: _Connection | None = None,
        failed: Exception | None = None,
    ) -> tuple[Response, _Connection | None]:
        """Sends a request on ``held`` (a connection to ``origin`` its caller has), or on one from
        the pool; the response, and the connection when it may carry another request (the caller
        then has it, and gives it back with :meth:`_give_back`). With ``failed``, the request went
        out on ``held`` already (in a :class:`_Run`) and failed so: it is sent again if it may be,
        as if it had failed here."""
        if held is not None:
            connection: _Connection | None = held
        elif self._closed:  # while post_each was under way: as for the requests waiting then
            raise ConnectionDroppedError(f"the client closed ({origin[1]})", before_response=True)
        else:
            taken = self._take(origin)
            connection = await self._wait(taken) if isinstance(taken, asyncio.Future) else taken
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            if connection is None:
                connection = await self._connect(origin, deadline)
            try:
                if failed is not None:
                    deadline = connection.deadline
                    raise failed
                response = await connection.request(data, deadline)
            except ConnectionDroppedError as error:
                # The keep-alive race: a server may close an idle connection just as a request is
                # written to it, and the request is lost unread. On a reused connection that failed
                # before any byte of a response, send it once more on a new connection. POSTs are
                # not idempotent in general; the channels' are, as each carries an Idempotency-Key
                # the receiver deduplicates on (and delivery is at least once anyway).
                if connection.requests > 1 and error.before_response and not self._closed:
                    connection = await self._connect(origin, deadline)
                    response = await connection.request(data, deadline)
                else:
                    raise
        except BaseException:
            if connection is not None:
                connection.abort()
            self._free_slot()
            raise
        if connection.reusable and not self._closed:
            return response, connection
        connection.abort()
        self._free_slot()
        return response, None

    def _give_back(self, connection: _Connection) -> None:
        """Gives back a connection a caller had: to the pool, or its slot when it is closing."""
        if connection.closing or self._closed:
            connection.abort()
            self._free_slot()
        else:
            self._release(connection)

    # --- the pool ---------------------------------------------------------------------------

    def _take(self, origin: Origin) -> _Connection | asyncio.Future[_Connection | None] | None:
        """An idle connection to ``origin``, None for a slot to open a new one in, or a future
        that gets one of the two in turn (see :meth:`_wait`)."""
        while self._waiters and self._waiters[0][1].done():
            self._waiters.popleft()  # gave up waiting; left in the line they would stall it
        if not self._waiters:
            idle = self._idle.get(origin)
            while idle:
                connection = idle.pop()
                # One closing already stays marked idle: its connection_lost frees its slot.
                if not connection.closing:
                    connection.idle = False
                    return connection
            if self._open < self.limit:
                self._open += 1
                return None
            if self._evict_idle():
                return None
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append((origin, waiter))
        return waiter

    async def _wait(self, waiter: asyncio.Future[_Connection | None]) -> _Connection | None:
        """What :meth:`_take` gave in turn, through ``waiter``."""
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection or a slot just as it was cancelled: pass it on.
                given = waiter.result()
                if given is None:
                    self._free_slot()
                else:
                    self._release(given)
            raise

    def _evict_idle(self) -> bool:
        """Closes an idle connection to some other origin, keeping its slot for the caller."""
        for idle in self._idle.values():
            while idle:
                connection = idle.pop()
                if not connection.closing:
                    connection.idle = False
                    connection.abort()
                    return True
        return False

    def _next_waiter(self) -> tuple[Origin, asyncio.Future[_Connection | None]] | None:
        while self._waiters:
            origin, waiter = self._waiters.popleft()
            if not waiter.done():
                return origin, waiter
        return None

    def _release(self, connection: _Connection) -> None:
        """Hands a connection that finished a request to the next waiter, or keeps it idle."""
        nxt = self._next_waiter()
        if nxt is None:
            connection.idle = True
            self._idle.setdefault(connection.origin, []).append(connection)
        elif nxt[0] == connection.origin:
            nxt[1].set_result(connection)
        else:
            # The next in line wants another origin and every slot is taken: this slot is theirs.
            connection.abort()
            nxt[1].set_result(None)

    def _free_slot(self) -> None:
        nxt = self._next_waiter()
        if nxt is None:
            self._open -= 1
        else:
            nxt[1].set_result(None)

    def _lost_idle(self, connection: _Connection) -> None:
        """An idle connection closed (the server's keep-alive timeout): its slot is free."""
        connection.idle = False
        idle = self._idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
        self._free_slot()

    # --- connecting -------------------------------------------------------------------------

    async def _resolve(self, host: str, port: int) -> Sequence[AddrInfo]:
        try:
            # An IP literal: no lookup (and no network I/O: AI_NUMERICHOST only parses).
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        if self._resolver is not None:
            return await self._resolver(host, port)
        return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)

    async def _connect(self, origin: Origin, deadline: float) -> _Connection:
        """A new connection to the first address of ``origin`` that the guard allows and answers."""
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            context = self._ssl_context
        refused: ForbiddenAddressError | None = None
        failed: OSError | None = None
        async with asyncio.timeout_at(deadline):
            for info in await self._resolve(host, port):
                try:
                    sock = self.socket_factory(info)  # the guard: raises before a socket exists
                except ForbiddenAddressError as error:
                    refused = refused or error
                    continue
                except OSError as error:
                    failed = error
                    continue
                try:
                    sock.setblocking(False)
                    await loop.sock_connect(sock, info[4])
                    _, connection = await loop.create_connection(
                        lambda: _Connection(self, origin),
                        sock=sock,
                        ssl=context,
                        server_hostname=host if context else None,
                    )
                except OSError as error:
                    sock.close()
                    failed = error
                    continue
                except BaseException:
                    sock.close()
                    raise
                self._all.add(connection)
                return connection
        if failed is not None:
            raise failed
        if refused is not None:
            raise refused
        raise OSError(f"no address found for {host}")

    async def aclose(self) -> None:
        """Closes every connection, idle or busy, and refuses further requests."""
        self._closed = True
        for origin, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(
                    ConnectionDroppedError(f"the client closed ({origin[1]})", before_response=True)
                )
        self._waiters.clear()
        connections = list(self._all)
        self._idle.clear()
        for connection in connections:
            connection.idle = False
            connection.abort()
        if connections:
            # Wait for the transports to let go of their sockets, so that nothing is left unclosed.
            await asyncio.wait([c.closed for c in connections], timeout=5)
