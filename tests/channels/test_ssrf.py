"""The SSRF policy: non-global addresses and odd numeric encodings are refused before any connection."""

from __future__ import annotations

import pytest

from cssc_core.channels.ssrf import ForbiddenAddressError, GuardedSocketFactory, check_url, forbidden_reason
from tests.channels.targets import HOSTILE_URLS


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_literal_targets_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(ForbiddenAddressError):
        check_url(url, require_https=False, allow_private=False)


def test_there_are_at_least_twenty_of_them() -> None:
    assert len(HOSTILE_URLS) >= 20


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.org/cssc",
        "https://8.8.8.8/x",
        "https://[2001:4860:4860::8888]/x",
        "https://cafe.example/",
    ],
)
def test_global_targets_pass(url: str) -> None:
    check_url(url, require_https=True, allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.org/", "scheme must be https"),
        ("ftp://hooks.example.org/", "scheme must be"),
        ("https://user:pw@hooks.example.org/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.org:99999/", "not a valid URL"),
        ("https://hooks.example.org/a b", "spaces or control"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ForbiddenAddressError, match=message):
        check_url(url, require_https=True, allow_private=False)


def test_allow_private_lets_loopback_through_but_not_odd_encodings() -> None:
    check_url("http://127.0.0.1:8080/", require_https=False, allow_private=True)
    with pytest.raises(ForbiddenAddressError):
        check_url("http://2130706433/", require_https=False, allow_private=True)


def test_the_socket_guard_refuses_before_creating_a_socket() -> None:
    made: list[object] = []
    guard = GuardedSocketFactory(inner=lambda info: made.append(info))  # type: ignore[arg-type,func-returns-value]
    for address in ("169.254.169.254", "::ffff:127.0.0.1", "10.1.2.3", "fe80::1%2"):
        with pytest.raises(ForbiddenAddressError):
            guard((2, 1, 6, "", (address, 80)))
    assert made == []
    assert guard.refused == 4
    guard((2, 1, 6, "", ("93.184.216.34", 443)))
    assert len(made) == 1


def test_reasons_name_the_range() -> None:
    assert "link-local" in (forbidden_reason("169.254.169.254") or "")
    assert "loopback" in (forbidden_reason("::ffff:127.0.0.1") or "")
    assert forbidden_reason("not-an-ip") == "not an IP address"
    assert forbidden_reason("1.1.1.1") is None
