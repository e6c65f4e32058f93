"""Which addresses an HTTP channel may connect to: the guard against server-side request forgery.

A webhook URL comes from a contact's record, which a member organisation can edit, so a hostile
URL must not make cssc_core reach the cloud metadata service or a server on the internal network.
The policy refuses every address that is not globally routable unicast: loopback, private
(10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10), link-local (169.254/16, fe80::/10,
the metadata address among them), unspecified (0.0.0.0, ::), reserved, multicast and documentation
ranges, and any IPv6 address embedding a refused IPv4 one (IPv4-mapped ``::ffff:127.0.0.1``,
IPv4-compatible, 6to4, Teredo, NAT64).

It is checked twice:

1. :func:`check_url` before anything happens: the scheme (``https`` only when HTTPS is required)
   and the host, refusing numeric hosts written in any form but the canonical dotted quad (decimal
   ``2130706433``, hex ``0x7f000001``, octal ``0177.0.0.1``, short ``127.1``), which resolvers
   would otherwise turn into loopback;
2. :class:`GuardedSocketFactory` on the address actually connected to: the HTTP client resolves the
   name, and just before it opens a socket to each resolved address the factory checks that
   address and refuses to create the socket for a forbidden one. A name that resolves to a private
   address (or re-resolves to one: DNS rebinding) never gets a connection, because the check is on
   the socket's own destination, not on an earlier lookup.

Redirects are never followed by the channels, so a public URL cannot bounce the request elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cssc_core.errors import CsscError

__all__ = [
    "ForbiddenAddressError",
    "GuardedSocketFactory",
    "check_url",
    "find_forbidden",
    "forbidden_reason",
    "scheme_and_authority",
    "splits_alike",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f]")
_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")
_DOTTED_QUAD = re.compile(r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")
# The scheme and the authority as urlsplit reads them in a URL without spaces or control characters:
# the scheme is an ASCII letter and scheme characters up to the first colon (else there is none),
# the authority follows "//" up to the first "/", "?" or "#". Always matches, possibly empty.
_SCHEME_AND_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*:)?(//[^/?#]*)?")
_VERDICTS_KEPT = 4096
_verdicts: dict[tuple[str, bool, bool], str | None] = {}


def _inet_aton(host: str) -> bool:
    # The C library's parser, without any lookup: it reads 2130706433, 0x7f000001, 0177.0.0.1, 127.1.
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


class ForbiddenAddressError(CsscError, OSError):
    """The destination is not one a channel may connect to (the reason names the range, never a URL)."""


def _ipv4_reason(address: ipaddress.IPv4Address) -> str | None:
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (such as the cloud metadata service)"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address.is_private, "a private address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address in _PROTOCOL_ASSIGNMENTS, "an address for protocol assignments"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def forbidden_reason(address: IPAddress | str) -> str | None:
    """Why a channel may not connect to ``address``, or None when it may.

    ``address`` is an IP address (IPv6 with or without a ``%scope``); anything else is refused.
    """
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_reason(address)
    embedded = address.ipv4_mapped or address.sixtofour
    if address.teredo is not None:
        embedded = address.teredo[1]
    if address in _NAT64:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if embedded is None and int(address) >> 32 == 0 and int(address) > 1:
        embedded = ipaddress.IPv4Address(int(address))  # IPv4-compatible ::a.b.c.d (deprecated)
    if embedded is not None:
        reason = _ipv4_reason(embedded)
        return f"an IPv6 address embedding {reason}" if reason else None
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_site_local, "a site-local address"),
        (address.is_private, "a private address"),
        (address in _NAT64_LOCAL, "a local NAT64 address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def check_url(url: str, *, require_https: bool, allow_private: bool) -> None:
    """Refuses a URL a channel must not request, before any lookup or connection.

    Raises:
        ForbiddenAddressError: for a scheme other than http(s) (https when required), a URL
            without a host or with credentials, a numeric host in a non-canonical form, or a
            literal IP address the policy refuses (unless ``allow_private``).
    """
    problem = _url_problem(url, require_https, allow_private)
    if problem is not None:
        raise ForbiddenAddressError(problem)


def scheme_and_authority(url: str) -> str:
    """The start of ``url`` that urlsplit reads as its scheme and authority (``https://host:8443``).

    Possibly empty. In a URL without spaces or control characters, whatever urlsplit makes of the
    scheme and the netloc (host, port, credentials, and whether they are valid at all) depends on
    this string alone, so a verdict on them can be kept under it for every URL that starts alike.
    """
    split = _SCHEME_AND_AUTHORITY.match(url)
    assert split is not None  # every group is optional: it matches any string
    return split.group()


def splits_alike(url: str, start: str) -> bool:
    """Whether urlsplit reads in ``url`` the scheme and authority :func:`scheme_and_authority` found
    (``start``): the safeguard before anything is kept under ``start``."""
    split = _SCHEME_AND_AUTHORITY.match(start)
    assert split is not None
    scheme, authority = split.groups()
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == (scheme[:-1].lower() if scheme else "") and parts.netloc == (
        authority[2:] if authority else ""
    )


def _url_problem(url: str, require_https: bool, allow_private: bool) -> str | None:
    # Every refusal but one depends only on the scheme and the authority (credentials, host, port);
    # the other is a space or control character anywhere. A national cascade checks a URL per
    # contact, each its own path on one of a few endpoints, so the verdict is kept per scheme and
    # authority, and a URL whose scheme and authority were seen costs a scan of its characters and a
    # lookup.
    if _UNSAFE_CHARACTER.search(url) is not None:
        return _full_problem(url, require_https, allow_private)
    start = scheme_and_authority(url)
    key = (start, require_https, allow_private)
    try:
        return _verdicts[key]
    except KeyError:
        pass
    problem = _full_problem(url, require_https, allow_private)
    if splits_alike(url, start):
        if len(_verdicts) >= _VERDICTS_KEPT:
            _verdicts.clear()
        _verdicts[key] = problem
    return problem


def _full_problem(url: str, require_https: bool, allow_private: bool) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - reading it raises ValueError for a malformed port
    except ValueError:
        return "not a valid URL"
    allowed = ("https",) if require_https else ("http", "https")
    if parts.scheme not in allowed:
        return f"the scheme must be {' or '.join(allowed)}"
    if not host:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return "the URL carries credentials"
    if _UNSAFE_CHARACTER.search(url):
        return "the URL holds spaces or control characters"
    literal: IPAddress | None = None
    if ":" in host:
        try:
            literal = ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return "not a valid IPv6 address"
    elif _DOTTED_QUAD.fullmatch(host):
        literal = ipaddress.IPv4Address(host)
    elif _inet_aton(host.rstrip(".")):
        return "a numeric host must be written as a plain dotted quad"
    if literal is not None and not allow_private:
        reason = forbidden_reason(literal)
        if reason:
            return f"the host is {reason}"
    return None


def find_forbidden(error: BaseException, depth: int = 6) -> ForbiddenAddressError | None:
    """The guard's refusal behind an HTTP client's connection error, if that is what it was.

    Looks through causes, contexts, wrapped OS errors and exception groups, a few levels deep.
    """
    if isinstance(error, ForbiddenAddressError):
        return error
    if depth == 0:
        return None
    inner: list[BaseException | None] = [error.__cause__, error.__context__, getattr(error, "os_error", None)]
    inner.extend(getattr(error, "exceptions", ()))
    for candidate in inner:
        if isinstance(candidate, BaseException):
            found = find_forbidden(candidate, depth - 1)
            if found is not None:
                return found
    return None


SocketFactory = Callable[[tuple[Any, ...]], socket.socket]
"""Makes a socket for an ``addrinfo`` tuple ``(family, type, proto, canonname, sockaddr)``."""


def _plain_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    family, type_, proto, _, _ = addr_info
    return socket.socket(family=family, type=type_, proto=proto)


class GuardedSocketFactory:
    """A socket factory for the HTTP client that refuses forbidden destinations.

    The client calls it with each resolved address just before connecting; it raises
    :class:`ForbiddenAddressError` instead of creating a socket for a refused one, so no connection
    is ever attempted there.

    Args:
        allow_private: Let every address through (a channel set ``allow_private = true``).
        inner: Makes the socket for an allowed address (tests pass one that records attempts).

    Attributes:
        refused: How many connections it refused.
    """

    def __init__(self, *, allow_private: bool = False, inner: SocketFactory = _plain_socket) -> None:
        self.allow_private = allow_private
        self.inner = inner
        self.refused = 0

    def __call__(self, addr_info: tuple[Any, ...]) -> socket.socket:
        sockaddr = addr_info[4]
        if not self.allow_private:
            reason = forbidden_reason(str(sockaddr[0]))
            if reason:
                self.refused += 1
                raise ForbiddenAddressError(f"refused to connect: the destination is {reason}")
        return self.inner(addr_info)
