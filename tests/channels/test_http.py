"""The HTTP client against scripted servers on loopback: pooling, framing, limits, failures, TLS, SSRF."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cssc_core.channels import http_parser
from cssc_core.channels.http import (
    AddrInfo,
    ConnectionDroppedError,
    HttpClient,
    InvalidRequestError,
    MalformedResponseError,
    Response,
    ResponseTooLargeError,
    _check_header,
    _request_line,
    _target,
)
from cssc_core.channels.http_parser import HttpError, ResponseParser
from cssc_core.channels.ssrf import ForbiddenAddressError, GuardedSocketFactory
from tests.channels.raw_server import LOOPBACK, Recorder, Request, Server, answering, reply, reset, serve


def resolver(
    table: dict[str, str], lookups: list[str] | None = None
) -> Callable[..., Awaitable[list[AddrInfo]]]:
    """Resolves names from ``table``; nothing asks DNS."""

    async def resolve(host: str, port: int) -> list[AddrInfo]:
        if lookups is not None:
            lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (table[host], port))]

    return resolve


def client(limit: int = 4, timeout_s: float = 5.0, **options: Any) -> HttpClient:
    options.setdefault("socket_factory", GuardedSocketFactory(allow_private=True))
    return HttpClient(limit=limit, timeout_s=timeout_s, **options)


async def posts_in_turn(answer: Callable[..., Awaitable[None]], count: int) -> tuple[Server, list[Response]]:
    """``count`` posts one after another on one connection slot to a server answering with ``answer``."""
    async with serve(answer) as server:
        http = client(limit=1)
        try:
            return server, [await http.post(server.url(), b"x") for _ in range(count)]
        finally:
            await http.aclose()


async def post_all(http: HttpClient, urls: list[str]) -> list[Response | BaseException]:
    try:
        return await asyncio.gather(*(http.post(url, b'{"n": 1}') for url in urls), return_exceptions=True)
    finally:
        await http.aclose()


def test_connections_are_kept_alive_and_reused() -> None:
    async def run() -> tuple[Server, list[Response]]:
        async with serve(answering(reply(200, "X-Seen: yes\r\n", b"hello"))) as server:
            http = client(limit=3)
            try:
                responses = [
                    await http.post(server.url(), b"{}", {"Idempotency-Key": "k"}) for _ in range(10)
                ]
                responses += await asyncio.gather(*(http.post(server.url(), b"{}") for _ in range(20)))
            finally:
                await http.aclose()
            return server, responses

    server, responses = asyncio.run(run())
    assert {(r.status, r.headers["x-seen"], r.keep_alive) for r in responses} == {(200, "yes", True)}
    assert len(server.requests) == 30
    assert server.connections <= 3
    assert server.closed_by_client == server.connections  # aclose closed every one of them
    first = server.requests[0]
    assert first.line == "POST /hook HTTP/1.1"
    assert first.headers["host"] == f"{LOOPBACK}:{server.port}"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["idempotency-key"] == "k"
    assert first.body == b"{}"


def test_connections_never_exceed_the_limit() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.02)
        writer.write(reply())

    async def run() -> tuple[Server, list[Response | BaseException]]:
        async with serve(answer) as server:
            return server, await post_all(client(limit=2), [server.url()] * 12)

    server, responses = asyncio.run(run())
    assert {r.status for r in responses if isinstance(r, Response)} == {204}
    assert len(responses) == 12
    assert server.most_open == server.connections == 2


def test_requests_wait_their_turn_across_origins() -> None:
    order: list[str] = []

    def named(name: str) -> Callable[[Request, asyncio.StreamWriter], Awaitable[None]]:
        async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
            order.append(f"{name}{request.body.decode()}")
            await asyncio.sleep(0.01)
            writer.write(reply())

        return answer

    async def run() -> None:
        async with serve(named("a")) as a, serve(named("b")) as b:
            http = client(limit=1)
            try:
                calls = [http.post(a.url(), b"1"), http.post(b.url(), b"2"), http.post(a.url(), b"3")]
                await asyncio.gather(*calls)
            finally:
                await http.aclose()

    asyncio.run(run())
    assert order == ["a1", "b2", "a3"]  # the second request to a did not jump the queue


@pytest.mark.parametrize(
    ("data", "reusable"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n"
            + b"z" * 16
            + b"\r\n0\r\nT: 1\r\n\r\n",
            True,
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    ],
    ids=["content-length", "chunked", "interim-100", "connection-close", "http-1.0"],
)
def test_response_framings(data: bytes, reusable: bool) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        for i in range(0, len(data), 7):  # in pieces, so the parser sees every split
            writer.write(data[i : i + 7])
            await writer.drain()
            await asyncio.sleep(0)

    server, responses = asyncio.run(posts_in_turn(answer, 3))
    assert {r.status for r in responses} == {200}
    assert server.connections == (1 if reusable else 3)


def test_a_body_delimited_by_the_close_ends_there() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 201 Created\r\nRetry-After: 3\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    server, responses = asyncio.run(posts_in_turn(answer, 2))
    assert [(r.status, r.keep_alive, r.headers["retry-after"]) for r in responses] == [(201, False, "3")] * 2
    assert server.connections == 2


MALFORMED = {
    "http2": b"HTTP/2 200 OK\r\n\r\n",
    "short-status": b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    "not-http": b"ICY 200 OK\r\n\r\n",
    "bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
    "nul": b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "space-before-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "folded": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "two-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "length-and-chunked": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "signed-length": b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\na",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "long-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
    "switching": b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_responses_are_errors_and_the_connection_is_dropped(data: bytes) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data if request.connection == 0 else reply())

    async def run() -> tuple[Server, list[Response | BaseException]]:
        async with serve(answer) as server:
            http = client(limit=1)
            try:
                first = await asyncio.gather(http.post(server.url(), b"x"), return_exceptions=True)
                return server, [*first, await http.post(server.url(), b"x")]
            finally:
                await http.aclose()

    server, (first, second) = asyncio.run(run())
    assert isinstance(first, MalformedResponseError)
    assert isinstance(second, Response)
    assert second.status == 204
    assert server.connections == 2


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"p" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"10000\r\n" + b"x" * 65536 + b"\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 70_000,
    ],
    ids=["head", "content-length", "chunked", "until-close"],
)
def test_oversized_responses_are_refused(data: bytes) -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)

    async def run() -> BaseException | Response:
        async with serve(answer) as server:
            http = client(head_limit=64 * 1024, body_limit=32 * 1024)
            (result,) = await post_all(http, [server.url()])
            return result

    assert isinstance(asyncio.run(run()), ResponseTooLargeError)


def test_an_idle_connection_the_server_closed_is_not_used_again() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(reply())
        await writer.drain()
        writer.close()  # keep-alive promised, then closed while idle

    async def run() -> Server:
        async with serve(answer) as server:
            http = client(limit=1)
            try:
                for _ in range(3):
                    assert (await http.post(server.url(), b"x")).status == 204
                    await asyncio.sleep(0.05)
            finally:
                await http.aclose()
            return server

    server = asyncio.run(run())
    assert len(server.requests) == server.connections == 3


def test_a_request_lost_on_a_reused_connection_is_sent_once_more_on_a_new_one() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.index == 1:  # the race: the server closed as the second request arrived
            writer.close()
        else:
            writer.write(reply())

    server, responses = asyncio.run(posts_in_turn(answer, 3))
    assert [r.status for r in responses] == [204] * 3
    assert [(r.connection, r.index) for r in server.requests] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]


def test_a_request_lost_on_a_new_connection_is_an_error_not_retried() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def run() -> tuple[Server, BaseException | Response]:
        async with serve(answer) as server:
            (result,) = await post_all(client(), [server.url()])
            return server, result

    server, result = asyncio.run(run())
    assert isinstance(result, ConnectionDroppedError)
    assert result.before_response
    assert len(server.requests) == 1


def test_a_reset_mid_response_is_an_error_not_retried() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.index == 0:
            writer.write(reply())
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(0.05)
        reset(writer)

    async def run() -> tuple[Server, list[Response | BaseException]]:
        async with serve(answer) as server:
            http = client(limit=1)
            first = await http.post(server.url(), b"x")
            return server, [first, *await post_all(http, [server.url()])]

    server, (_, second) = asyncio.run(run())
    assert isinstance(second, ConnectionDroppedError)
    assert not second.before_response
    assert len(server.requests) == 2


def test_a_server_that_never_answers_times_out() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async def run() -> tuple[BaseException | Response, float]:
        async with serve(answer) as server:
            loop = asyncio.get_running_loop()
            start = loop.time()
            (result,) = await post_all(client(timeout_s=0.3), [server.url()])
            return result, loop.time() - start

    result, elapsed = asyncio.run(run())
    assert isinstance(result, TimeoutError)
    assert elapsed < 5


def test_each_request_on_a_kept_connection_has_its_own_deadline() -> None:
    # The timeout is for each request as a whole: a request on a connection is timed from its own
    # start, however long ago the connection's earlier requests started, and times out no sooner.
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep((0, 0.25, 5)[request.index])
        writer.write(reply())

    async def run() -> tuple[Server, list[tuple[Response | BaseException, float]]]:
        async with serve(answer) as server:
            http = client(limit=1, timeout_s=0.4)
            loop = asyncio.get_running_loop()
            outcomes = []
            try:
                for pause in (0, 0.2, 0):
                    await asyncio.sleep(pause)
                    start = loop.time()
                    (outcome,) = await asyncio.gather(http.post(server.url(), b"x"), return_exceptions=True)
                    outcomes.append((outcome, loop.time() - start))
            finally:
                await http.aclose()
            return server, outcomes

    server, [(first, _), (second, waited), (third, timed)] = asyncio.run(run())
    assert isinstance(first, Response)
    assert isinstance(second, Response)  # answered 0.45 s after the first request started
    assert waited >= 0.25
    assert isinstance(third, TimeoutError)
    assert 0.4 <= timed < 2
    assert server.connections == 1


def test_redirects_are_returned_not_followed() -> None:
    async def run() -> tuple[Server, BaseException | Response]:
        found = reply(302, "Location: http://169.254.169.254/latest/meta-data/\r\n")
        async with serve(answering(found)) as server:
            (result,) = await post_all(client(), [server.url()])
            return server, result

    server, result = asyncio.run(run())
    assert isinstance(result, Response)
    assert result.status == 302
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Note": "a\r\nX-Injected: 1"},
        {"X-Note": "a\nb"},
        {"X-Note": "nul\x00"},
        {"X Note": "name with a space"},
        {"X-Note:": "colon"},
        {"Content-Length": "0"},
        {"Host": "elsewhere.example"},
        {"Transfer-Encoding": "chunked"},
    ],
)
def test_headers_that_would_break_the_request_are_refused_before_connecting(headers: dict[str, str]) -> None:
    async def run() -> tuple[Server, BaseException | None]:
        async with serve(answering(reply())) as server:
            http = client()
            try:
                await http.post(server.url(), b"x", headers)
            except InvalidRequestError as error:
                return server, error
            finally:
                await http.aclose()
            return server, None

    server, error = asyncio.run(run())
    assert isinstance(error, InvalidRequestError)
    assert server.connections == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "http:///x", "http://exa mple.org/", "http://h.example:99999/"]
)
def test_urls_the_client_cannot_request_are_refused(url: str) -> None:
    async def run() -> None:
        http = client()
        try:
            await http.post(url, b"x")
        finally:
            await http.aclose()

    with pytest.raises(InvalidRequestError):
        asyncio.run(run())


def test_a_refused_address_never_gets_a_socket() -> None:
    recorder, lookups = Recorder(), []

    async def run() -> tuple[Server, list[Response | BaseException]]:
        async with serve(answering(reply())) as server:
            http = client(
                socket_factory=GuardedSocketFactory(allow_private=False, inner=recorder),
                resolver=resolver({"hooks.member.example": LOOPBACK}, lookups),
            )
            urls = [server.url(), server.url(host="hooks.member.example")]
            return server, await post_all(http, urls)

    server, results = asyncio.run(run())
    assert all(isinstance(r, ForbiddenAddressError) for r in results), results
    assert "loopback" in str(results[1])
    assert recorder.attempts == []
    assert lookups == ["hooks.member.example"]  # a literal address is never looked up
    assert server.connections == 0


def test_the_address_checked_is_the_address_connected_to() -> None:
    recorder = Recorder()

    async def run() -> tuple[Server, list[Response | BaseException]]:
        async with serve(answering(reply())) as server:
            http = client(
                socket_factory=GuardedSocketFactory(allow_private=True, inner=recorder),
                resolver=resolver({"hooks.member.example": LOOPBACK}),
            )
            return server, await post_all(http, [server.url(host="hooks.member.example")] * 3)

    server, results = asyncio.run(run())
    assert {r.status for r in results if isinstance(r, Response)} == {204}
    assert recorder.attempts == [LOOPBACK] * server.connections
    assert server.requests[0].headers["host"] == f"hooks.member.example:{server.port}"


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1 and localhost, and a client context trusting it."""
    trustme = pytest.importorskip("trustme", reason="trustme makes the test certificate authority")
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(LOOPBACK, "localhost").configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server, ssl.create_default_context(cafile=str(ca_file))


def test_https_checks_the_certificate_and_the_host_name(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    names = resolver({"localhost": LOOPBACK, "other.example": LOOPBACK})

    async def run() -> tuple[Server, list[Response | BaseException]]:
        async with serve(answering(reply(201)), ssl_context=server_context) as server:
            trusting = client(ssl_context=client_context, resolver=names)
            results = await post_all(
                trusting,
                [server.url(scheme="https"), server.url(scheme="https", host="localhost")] * 3
                + [server.url(scheme="https", host="other.example")],
            )
            results += await post_all(client(), [server.url(scheme="https")])  # the system's CAs
            return server, results

    server, results = asyncio.run(run())
    assert [r.status for r in results[:6] if isinstance(r, Response)] == [201] * 6
    assert isinstance(results[6], ssl.SSLCertVerificationError)  # a name the certificate lacks
    assert isinstance(results[7], ssl.SSLCertVerificationError)  # a CA the system does not trust
    assert len(server.requests) == 6


def test_a_closed_client_refuses_requests() -> None:
    async def run() -> None:
        http = client()
        await http.aclose()
        await http.post("http://127.0.0.1:1/", b"x")

    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(run())


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 204),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200),
        (b"HTTP/1.1 503 \r\nRetry-After: 5\r\nContent-Length: 1\r\n\r\nx", 503),
        (b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 404),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200),
    ],
)
def test_the_parser_reads_a_response_fed_a_byte_at_a_time(data: bytes, status: int) -> None:
    whole, bytewise = ResponseParser(), ResponseParser()
    assert whole.feed(data)
    done = [bytewise.feed(data[i : i + 1]) for i in range(len(data))]
    assert done[-1]
    assert not any(done[:-1])
    assert whole.response == bytewise.response
    assert whole.response is not None
    assert whole.response.status == status
    assert not whole.extra
    assert not bytewise.extra


def test_bytes_after_the_response_make_the_connection_unusable() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n")
    assert parser.extra


def test_a_request_that_gives_up_waiting_leaves_the_queue_moving() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.1)
        writer.write(reply())

    async def run() -> tuple[Server, int, Response]:
        async with serve(answer) as server:
            http = client(limit=1)
            try:
                first = asyncio.ensure_future(http.post(server.url(), b"1"))
                await asyncio.sleep(0.01)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(http.post(server.url(), b"2"), 0.02)
                await first
                third = await asyncio.wait_for(http.post(server.url(), b"3"), 2)
                return server, len(http._waiters), third
            finally:
                await http.aclose()

    server, waiting, third = asyncio.run(run())
    assert third.status == 204
    assert waiting == 0
    assert [r.body for r in server.requests] == [b"1", b"3"]


# --- what a request is made of --------------------------------------------------------------------

_TRICKY = "hHtTpPsS:/?#@\\[]%.:0127aAfe-+é\u2100 "
_authorities = st.sampled_from(
    [
        "http://127.0.0.1:8080",
        "HTTP://Hooks.Example.ORG",
        "https://hooks.example.org:443",
        "http://[::1]:80",
        "http://[::1",
        "http://user@hooks.example.org",
        "http://café.example",
        "http://a\u2100b.example",
        "http://h.example:99999",
        "http://",
        "ftp://hooks.example.org",
        "//hooks.example.org",
        "http:",
        "",
    ]
)
_rests = st.text(alphabet=_TRICKY, max_size=16)


def _reading(read: Callable[[str], Any], url: str) -> Any:
    try:
        return read(url)
    except (InvalidRequestError, UnicodeError) as error:
        return type(error), str(error)


@given(_authorities, _rests, _rests)
@example("http://127.0.0.1:8080", "/hook/c-1", "/hook/c-2?x=1#frag")
@example("http://127.0.0.1:8080", "", "?q")
@example("http://127.0.0.1:8080", "/", "#?x")
def test_a_urls_request_line_and_origin_are_those_of_the_full_reading(
    authority: str, first: str, second: str
) -> None:
    http = client()
    for url in (authority + first, authority + second, authority + first):
        assert _reading(http._target, url) == _reading(lambda u: _target(u, "cssc-core"), url)


@given(
    st.text(st.characters(codec="utf-8"), max_size=12) | st.text("/%:@!$&'()*+,;=._~-aZ9 ?#é", max_size=12)
)
@example("/hook/c-000001")
@example("/a b")
@example("")
def test_a_path_is_quoted_as_quote_quotes_it(path: str) -> None:
    quoted = quote(path or "/", safe="/%:@!$&'()*+,;=-._~")
    assert _request_line(path, "") == f"POST {quoted} HTTP/1.1\r\n"


def _reference_request(url: str, body: bytes, headers: dict[str, str], content_type: str) -> bytes:
    """The request as the client wrote it with a check per field (before they were checked at once)."""
    parts = [
        _target(url, "cssc-core").prefix,
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n",
    ]
    if re.search("[\r\n\0]", content_type):
        raise InvalidRequestError("the content type holds CR, LF or NUL")
    for name, value in headers.items():
        _check_header(name, "")
        if re.search("[\r\n\0]", value):
            raise InvalidRequestError(f"the {name} header holds CR, LF or NUL")
        parts.append(f"{name}: {value}\r\n")
    parts.append("\r\n")
    try:
        return "".join(parts).encode("latin-1") + body
    except UnicodeEncodeError:
        raise InvalidRequestError("a header holds characters HTTP cannot carry") from None


@given(
    st.dictionaries(
        st.text("Xab-: \r", min_size=1, max_size=4), st.text("ab \r\n\0é\u2100", max_size=5), max_size=3
    ),
    st.sampled_from(["application/json", "text/plain; charset=utf-8", "a\r\nb", "a\0", "é"]),
    st.binary(max_size=8),
)
@example({"Host": "x"}, "a\r\nb", b"")
@example({"X-a": "\r\n"}, "application/json", b"")
def test_requests_are_written_and_refused_as_with_a_check_per_field(
    headers: dict[str, str], content_type: str, body: bytes
) -> None:
    sent: list[bytes] = []

    async def exchange(origin: Any, data: bytes, held: Any = None) -> tuple[Response, None]:
        sent.append(data)
        return Response(204, "", {}, True), None

    async def post(http: HttpClient) -> bytes | tuple[type, str]:
        try:
            await http.post("http://127.0.0.1:9/hook", body, headers, content_type=content_type)
        except InvalidRequestError as error:
            return type(error), str(error)
        return sent[-1]

    def reference() -> bytes | tuple[type, str]:
        try:
            return _reference_request("http://127.0.0.1:9/hook", body, headers, content_type)
        except InvalidRequestError as error:
            return type(error), str(error)

    http = client()
    http._exchange = exchange  # type: ignore[method-assign]
    for _ in range(2):  # the second time with the names it learnt
        assert asyncio.run(post(http)) == reference()


# --- many requests in one call --------------------------------------------------------------------


def test_post_each_answers_each_request_in_order_errors_included() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.001 * (int(request.body) % 3))
        writer.write(reply(200 + int(request.body)))

    async def run() -> tuple[Server, list[Response | Exception]]:
        async with serve(answer) as server:
            http = client(limit=3)
            requests: list[tuple[str, bytes, dict[str, str] | None]] = [
                (server.url(f"/hook/{n}"), str(n).encode(), {"Idempotency-Key": str(n)}) for n in range(20)
            ]
            requests[5] = ("ftp://example.org/", b"5", None)
            requests[9] = (server.url(), b"9", {"X-Bad": "a\r\nb"})
            try:
                return server, await http.post_each(requests)
            finally:
                await http.aclose()

    server, outcomes = asyncio.run(run())
    assert isinstance(outcomes[5], InvalidRequestError)
    assert isinstance(outcomes[9], InvalidRequestError)
    others = [n for n in range(20) if n not in (5, 9)]
    assert [outcomes[n].status for n in others] == [200 + n for n in others]  # type: ignore[union-attr]
    assert sorted(r.body for r in server.requests) == sorted(str(n).encode() for n in others)
    assert server.most_open <= 3
    assert server.connections == 3  # the connections were carried on from request to request


def test_post_each_sends_a_calls_requests_one_after_another_on_each_connection() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.005)
        writer.write(reply())

    async def run() -> Server:
        async with serve(answer) as server:
            http = client(limit=2)
            try:
                calls = [
                    http.post_each([(server.url(), name + str(n).encode(), None) for n in range(4)])
                    for name in (b"a", b"b")
                ]
                outcomes = await asyncio.gather(*calls)
            finally:
                await http.aclose()
            assert all(isinstance(o, Response) for call in outcomes for o in call)
            return server

    server = asyncio.run(run())
    # The first call had both connections until its requests were done, as if they had queued first.
    assert [r.body[:1] for r in server.requests] == [b"a"] * 4 + [b"b"] * 4
    assert server.connections == 2


def test_post_each_moves_between_origins_and_off_connections_the_server_closed() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(reply(200 if request.index < 2 else 503))
        await writer.drain()
        if request.index == 1:
            writer.close()  # keep-alive promised, then closed

    async def run() -> tuple[Server, Server, list[Response | Exception]]:
        async with serve(answer) as a, serve(answer) as b:
            http = client(limit=1)
            urls = [a.url(), a.url(), a.url(), b.url(), a.url(), b.url(), b.url(), b.url()]
            try:
                outcomes = await http.post_each([(url, b"x", None) for url in urls])
            finally:
                await http.aclose()
            return a, b, outcomes

    a, b, outcomes = asyncio.run(run())
    assert all(isinstance(o, Response) for o in outcomes), outcomes
    assert len(a.requests) == 4
    assert len(b.requests) == 4
    assert a.most_open == b.most_open == 1


def test_post_each_sends_nothing_more_on_a_connection_whose_answer_said_close() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        # The second answer on each connection says close, and the server reads on: a request
        # written after it would be served, and counted, as a third on the same connection.
        writer.write(reply(headers="Connection: close\r\n" if request.index == 1 else ""))

    async def run() -> tuple[Server, list[Response | Exception]]:
        async with serve(answer) as server:
            http = client(limit=1)
            try:
                outcomes = await http.post_each([(server.url(), str(n).encode(), None) for n in range(6)])
            finally:
                await http.aclose()
            return server, outcomes

    server, outcomes = asyncio.run(run())
    assert all(isinstance(o, Response) and o.status == 204 for o in outcomes), outcomes
    assert [(r.connection, r.index, r.body) for r in server.requests] == [
        (n // 2, n % 2, str(n).encode()) for n in range(6)
    ]


def test_post_each_retries_a_request_lost_on_a_carried_connection_once() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.index == 1:  # the race: the server closed as the second request arrived
            writer.close()
        else:
            writer.write(reply())

    async def run() -> tuple[Server, list[Response | Exception]]:
        async with serve(answer) as server:
            http = client(limit=1)
            try:
                return server, await http.post_each([(server.url(), str(n).encode(), None) for n in range(3)])
            finally:
                await http.aclose()

    server, outcomes = asyncio.run(run())
    assert [getattr(o, "status", o) for o in outcomes] == [204] * 3
    assert [(r.connection, r.index) for r in server.requests] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]


def test_post_each_times_each_request_and_gives_back_every_slot_when_cancelled() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5 if request.body == b"slow" else 0)
        writer.write(reply())

    async def run() -> tuple[list[Response | Exception], list[Response | Exception]]:
        async with serve(answer) as server:
            http = client(limit=2, timeout_s=0.3)
            try:
                timed = await http.post_each(
                    [(server.url(), body, None) for body in (b"slow", b"1", b"2", b"3")]
                )
                stuck = asyncio.ensure_future(http.post_each([(server.url(), b"slow", None)] * 4))
                await asyncio.sleep(0.05)
                stuck.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await stuck
                after = await asyncio.wait_for(http.post_each([(server.url(), b"ok", None)] * 4), 2)
            finally:
                await http.aclose()
            return timed, after

    timed, after = asyncio.run(run())
    assert isinstance(timed[0], TimeoutError)
    assert [getattr(o, "status", o) for o in timed[1:]] == [204] * 3
    assert [getattr(o, "status", o) for o in after] == [204] * 4


def test_post_each_on_a_closed_client_refuses() -> None:
    async def run() -> None:
        http = client()
        await http.aclose()
        await http.post_each([("http://127.0.0.1:1/", b"x", None)])

    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(run())


BODIES = [b"1", b"bad", b"2", b"slow", b"3", b"bad", b"4", b"5", b"6"]


def test_post_each_gives_each_slot_back_once_whatever_fails_on_a_carried_connection() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.body == b"bad":
            writer.write(b"HTTP/2 200 OK\r\n\r\n")
        elif request.body == b"slow":
            await asyncio.sleep(5)
        else:
            writer.write(reply())

    async def run() -> tuple[list[Response | Exception], int, int]:
        async with serve(answer) as server:
            http = client(limit=2, timeout_s=0.2)
            try:
                outcomes = await http.post_each([(server.url(), body, None) for body in BODIES])
                await asyncio.sleep(0.05)  # the dropped connections' ends arrive
                return outcomes, http._open, len(http._all)
            finally:
                await http.aclose()

    outcomes, slots, connections = asyncio.run(run())
    expected = {b"bad": "MalformedResponseError", b"slow": "TimeoutError"}
    assert [type(o).__name__ for o in outcomes] == [expected.get(body, "Response") for body in BODIES]
    assert slots == connections <= 2  # each slot taken is an open connection: none given back twice


def test_post_each_opens_nothing_once_the_client_is_closed() -> None:
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def run() -> tuple[Server, list[Response | Exception]]:
        async with serve(answer) as server:
            http = client(limit=2)
            call = asyncio.ensure_future(http.post_each([(server.url(), b"x", None)] * 6))
            await asyncio.sleep(0.1)
            await http.aclose()
            outcomes = await asyncio.wait_for(call, 2)
            await asyncio.sleep(0.05)
            return server, outcomes

    server, outcomes = asyncio.run(run())
    assert all(isinstance(o, ConnectionDroppedError) for o in outcomes), outcomes
    assert server.connections == 2


# --- heads read once ------------------------------------------------------------------------------

_head_lines = st.lists(
    st.sampled_from(
        [
            b"Content-Length: 2",
            b"Content-Length: 0",
            b"Transfer-Encoding: chunked",
            b"Connection: close",
            b"Connection: keep-alive, Upgrade",
            b"Retry-After: 7",
            b"retry-after: 8",
            b"X-Empty:",
            b"Date: Mon, 01 Jan 2024 00:00:00 GMT",
            b"Bad Header: x",
            b"X: a\rb",
            b"X: \x00",
            b" folded",
        ]
    ),
    max_size=4,
)
_status_lines = st.sampled_from(
    [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.0 204 No Content",
        b"HTTP/1.1 103 Early Hints",
        b"HTTP/1.1 101 Up",
        b"HTTP/1.1 099 x",
        b"HTTP/2 200",
        b"HTTP/1.1 503",
    ]
)


def _read(data: bytes) -> tuple[bool, Response | None, bool] | tuple[type, str]:
    parser = ResponseParser()
    try:
        done = parser.feed(data)
    except HttpError as error:
        return type(error), str(error)
    return done, parser.response, parser.extra


@given(
    st.lists(st.tuples(_status_lines, _head_lines), min_size=1, max_size=6),
    st.sampled_from([b"", b"ok", b"okHTTP"]),
)
def test_heads_read_again_read_as_they_did_the_first_time(
    heads: list[tuple[bytes, list[bytes]]], body: bytes
) -> None:
    responses = [b"\r\n".join([status, *lines]) + b"\r\n\r\n" + body for status, lines in heads]
    responses.append(b"".join(responses))  # interim responses before the real one, in one piece
    kept, http_parser._HEAD_KEPT_SIZE = http_parser._HEAD_KEPT_SIZE, -1  # nothing kept
    try:
        expected = [_read(data) for data in responses]
    finally:
        http_parser._HEAD_KEPT_SIZE = kept
    http_parser._heads.clear()
    assert [_read(data) for data in responses * 2] == expected * 2


def test_each_response_has_headers_of_its_own() -> None:
    data = b"HTTP/1.1 200 OK\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n"
    first, second = ResponseParser(), ResponseParser()
    assert first.feed(data)
    assert first.response is not None
    first.response.headers["retry-after"] = "changed"
    assert second.feed(data)
    assert second.response is not None
    assert second.response.headers["retry-after"] == "3"
