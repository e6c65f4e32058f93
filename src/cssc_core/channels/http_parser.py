"""Reading HTTP/1.1 responses for :mod:`cssc_core.channels.http`: the head, then the body's framing.

A channel needs a response's status and a header or two (``Retry-After``), never its body, so the
parser keeps the head and counts the body only to find where the response ends: by
``Content-Length``, by ``Transfer-Encoding: chunked``, or at the close of the connection. It is
strict, because a lenient reading is where response splitting and smuggling start: a malformed
status line or header, a bare CR or LF, NUL, both ``Content-Length`` and ``Transfer-Encoding``,
or a head over ``head_limit`` bytes or a body over ``body_limit`` bytes is an error, after which
the connection is not used again.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cssc_core.errors import CsscError

__all__ = [
    "ConnectionDroppedError",
    "HttpError",
    "MalformedResponseError",
    "Response",
    "ResponseParser",
    "ResponseTooLargeError",
]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_LINE_LIMIT = 8192  # a chunk-size line is a dozen bytes; anything near this is not HTTP

# Where the parser is: reading a head, a body of known length, chunk framing, or until the close.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class HttpError(CsscError, OSError):
    """An HTTP exchange failed (a network error, as far as a channel is concerned)."""


class MalformedResponseError(HttpError):
    """The server's answer is not well-formed HTTP/1.1."""


class ResponseTooLargeError(HttpError):
    """The response's head or body is larger than the client accepts."""


class ConnectionDroppedError(HttpError):
    """The connection closed or was reset before the response was complete.

    Attributes:
        before_response: True when not one byte of the response had arrived.
    """

    def __init__(self, message: str, *, before_response: bool) -> None:
        super().__init__(message)
        self.before_response = before_response


class Response(NamedTuple):
    """A response's status and head (the body is read and discarded).

    Attributes:
        status: The status code (1xx interim responses are skipped).
        reason: The reason phrase, possibly empty.
        headers: Header values by lower-cased name; repeated fields joined with ``", "``.
        keep_alive: Whether the connection may carry another request afterwards.
    """

    status: int
    reason: str
    headers: dict[str, str]
    keep_alive: bool


class ResponseParser:
    """Reads one response from the bytes of a connection, fed as they arrive.

    Args:
        head_limit: Bytes a head (and a chunked body's trailers) may take.
        body_limit: Bytes a body may take.

    Attributes:
        response: The response once its head has been read.
        started: Whether any byte has arrived.
        extra: Whether bytes arrived after the end of the response (the connection is then unusable).
    """

    def __init__(self, head_limit: int = 64 * 1024, body_limit: int = 1024 * 1024) -> None:
        self.head_limit = head_limit
        self.body_limit = body_limit
        self.response: Response | None = None
        self.started = False
        self.extra = False
        self._state = _HEAD
        self._buffer = b""
        self._remaining = 0
        self._body = 0

    @property
    def done(self) -> bool:
        """Whether the response is complete."""
        return self._state == _DONE

    def feed(self, data: bytes) -> bool:
        """Reads ``data``; True once the response is complete.

        Raises:
            MalformedResponseError: for anything not well-formed.
            ResponseTooLargeError: for a head or body over its limit.
        """
        self.started = True
        if self._state == _DONE:
            self.extra = True
            return True
        if self._state == _LENGTH and not self._buffer:
            # The common case, a body (usually empty) of known length: count, keep nothing.
            if len(data) < self._remaining:
                self._remaining -= len(data)
                return False
            data = data[self._remaining :]
            self._remaining = 0
            self._state = _DONE
            self.extra = bool(data)
            return True
        if self._state == _UNTIL_CLOSE:
            self._count(len(data))
            return False
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        while buffer and self._state != _DONE:
            rest = self._step(buffer)
            if rest is None:
                return False
            buffer = rest
        if self._state == _LENGTH and self._remaining == 0:
            self._state = _DONE
        self.extra = bool(buffer)
        return self._state == _DONE

    def feed_eof(self) -> bool:
        """The connection closed cleanly; True when that completes the response."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
        return self._state == _DONE

    def _count(self, size: int) -> None:
        self._body += size
        if self._body > self.body_limit:
            raise ResponseTooLargeError(f"the response body is over {self.body_limit} bytes")

    def _step(self, buffer: bytes) -> bytes | None:
        """Consumes what it can of ``buffer``; the rest, or None when it needs more bytes (kept)."""
        state = self._state
        if state == _HEAD:
            return self._head(buffer)
        if state == _LENGTH:
            taken = min(len(buffer), self._remaining)
            self._remaining -= taken
            if self._remaining == 0:
                self._state = _DONE
            return buffer[taken:]
        if state == _CHUNK_DATA:
            taken = min(len(buffer), self._remaining)
            self._remaining -= taken
            if self._remaining == 0:
                self._state = _CHUNK_END
            return buffer[taken:]
        if state == _UNTIL_CLOSE:
            self._count(len(buffer))
            return b""
        end = buffer.find(b"\r\n")
        if end < 0:
            if len(buffer) > _LINE_LIMIT:
                raise MalformedResponseError("a chunk-size or trailer line is too long")
            self._buffer = buffer
            return None
        line, rest = buffer[:end], buffer[end + 2 :]
        if state == _CHUNK_END:
            if line:
                raise MalformedResponseError("a chunk is longer than its size")
            self._state = _CHUNK_SIZE
        elif state == _CHUNK_SIZE:
            self._chunk_size(line)
        else:  # _TRAILERS: read and dropped, counted against the head's limit
            self._body += end + 2
            if self._body > self.body_limit + self.head_limit:
                raise ResponseTooLargeError("the response's trailers are too large")
            if b"\r" in line or b"\n" in line or b"\0" in line:
                raise MalformedResponseError("a trailer line holds CR, LF or NUL")
            if not line:
                self._state = _DONE
        return rest

    def _chunk_size(self, line: bytes) -> None:
        size = line.split(b";", 1)[0].rstrip(b" \t")
        if not _HEX.fullmatch(size):
            raise MalformedResponseError("a chunk size is not a hexadecimal number")
        self._remaining = int(size, 16)
        self._count(self._remaining)
        self._state = _CHUNK_DATA if self._remaining else _TRAILERS

    def _head(self, buffer: bytes) -> bytes | None:
        end = buffer.find(b"\r\n\r\n")
        if end < 0 or end > self.head_limit:
            if len(buffer) > self.head_limit:
                raise ResponseTooLargeError(f"the response head is over {self.head_limit} bytes")
            self._buffer = buffer
            return None
        head, rest = buffer[:end], buffer[end + 4 :]
        read = _heads.get(head)
        if read is None:
            read = _read_head(head)
            if len(head) <= _HEAD_KEPT_SIZE:
                if len(_heads) >= _HEADS_KEPT:
                    _heads.clear()
                _heads[head] = read
        status, reason, headers, keep_alive = read
        if status < 200:
            return rest  # an interim response (100 Continue, 103 Early Hints): the real one follows
        headers = dict(headers)  # the response's own: the one read is kept for the next
        self._frame(status, headers)
        if self._state == _UNTIL_CLOSE:
            keep_alive = False
        self.response = Response(status, reason, headers, keep_alive)
        return rest

    def _frame(self, status: int, headers: dict[str, str]) -> None:
        """Where the body ends (RFC 9112, section 6.3)."""
        coding, length = headers.get("transfer-encoding"), headers.get("content-length")
        if status in (204, 304):
            self._state, self._remaining = _LENGTH, 0
        elif coding is not None:
            if length is not None:
                raise MalformedResponseError("both Transfer-Encoding and Content-Length")
            codings = _tokens(coding)
            if "chunked" in codings[:-1]:
                raise MalformedResponseError("chunked is not the last transfer coding")
            self._state = _CHUNK_SIZE if codings[-1:] == ["chunked"] else _UNTIL_CLOSE
        elif length is not None:
            values = {value.strip() for value in length.split(",")}
            if len(values) != 1 or not (value := values.pop()).isdigit() or not value.isascii():
                raise MalformedResponseError("the Content-Length is not a number")
            self._state, self._remaining = _LENGTH, int(value)
            self._count(self._remaining)
        else:
            self._state = _UNTIL_CLOSE


# What a head reads as is kept by its bytes: a server answers every request with the same head, or
# one that differs only in its Date, and reading one took longer than the rest of the exchange.
_heads: dict[bytes, Response] = {}
_HEADS_KEPT = 256
_HEAD_KEPT_SIZE = 2048


def _read_head(head: bytes) -> Response:
    """The status, reason, headers and whether the server keeps the connection, as a head says
    (the framing aside); the same for the same bytes.

    Raises:
        MalformedResponseError: for anything not well-formed, or a 101.
    """
    lines = head.split(b"\r\n")
    if head.count(b"\n") != len(lines) - 1 or head.count(b"\r") != len(lines) - 1 or b"\0" in head:
        raise MalformedResponseError("the response head holds a bare CR or LF, or NUL")
    parts = lines[0].split(b" ", 2)
    version, code = parts[0], parts[1] if len(parts) > 1 else b""
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise MalformedResponseError("the status line is not HTTP/1.x")
    status = int(code)
    if status < 100:
        raise MalformedResponseError("the status code is out of range")
    headers = _headers(lines)
    if status == 101:
        raise MalformedResponseError("the server switched protocols unasked")
    keep_alive = version == b"HTTP/1.1" and "close" not in _tokens(headers.get("connection", ""))
    reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
    return Response(status, reason, headers, keep_alive)


def _headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise MalformedResponseError("a header line is malformed")
        key, text = name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _tokens(value: str) -> list[str]:
    return [token.strip().lower() for token in value.split(",") if token.strip()]
