"""The SSRF policy: non-global addresses and odd numeric encodings are refused before any connection."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cssc_core.channels import ssrf
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


# --- the verdict kept per scheme and authority -----------------------------------------------------

# Characters that make urlsplit's reading of a URL tricky: delimiters, credentials, brackets, a
# backslash, escapes, ports, upper case, and non-ASCII ones (U+2100 becomes "a/c" under NFKC).
_TRICKY = "hHtTpPsS:/?#@\\[]%.:0127aAfe-+vé\u2100\uff0f"
_FLAGS = [(True, False), (False, False), (False, True), (True, True)]
_urls = st.text(alphabet=_TRICKY, max_size=30)
_schemes = st.sampled_from(["http", "https", "HTTPS", "Http", "ftp", "h+t.p-1", "1http", ""])
_hosts = st.sampled_from(
    [
        "hooks.example.org",
        "HOOKS.Example.ORG:8443",
        "127.0.0.1",
        "127.0.0.1:8080",
        "8.8.8.8",
        "2130706433",
        "0x7f.1",
        "[::1]",
        "[::ffff:127.0.0.1]:80",
        "[2001:4860:4860::8888]",
        "[fe80::1%25eth0]",
        "[v1.x]",
        "[127.0.0.1]",
        "[::1",
        "::1]",
        "user:pw@hooks.example.org",
        "@hooks.example.org",
        "hooks.example.org@127.0.0.1",
        "127.0.0.1\\@hooks.example.org",
        "hooks.example.org:99999",
        "hooks.example.org:x",
        "h%6Foks.example.org",
        "café.example",
        "a\u2100b.example",
        "",
    ]
)
_tails = st.text(alphabet=_TRICKY, max_size=12).map(
    lambda tail: tail if tail[:1] in ("", "/", "?", "#") else "/" + tail
)
_structured = st.builds(
    lambda scheme, slashes, host: f"{scheme}{slashes}{host}",
    _schemes,
    st.sampled_from(["://", ":", ":/", "//", ""]),
    _hosts,
)


def _full(url: str) -> list[str | None]:
    return [ssrf._full_problem(url, https, private) for https, private in _FLAGS]


def _fast(url: str) -> list[str | None]:
    return [ssrf._url_problem(url, https, private) for https, private in _FLAGS]


@given(st.one_of(_urls, st.builds(str.__add__, _structured, _tails)))
@example("HTTP://Hooks.Example.org/x")
@example("http://127.0.0.1\\@hooks.example.org/")
@example("http://hooks.example.org#@127.0.0.1/")
@example("http://hooks.example.org?@127.0.0.1/")
@example("http:/\\127.0.0.1/")
@example("//127.0.0.1/x")
def test_the_quick_reading_of_scheme_and_authority_agrees_with_urlsplit(url: str) -> None:
    start = ssrf.scheme_and_authority(url)
    assert url.startswith(start)
    try:
        parts = urlsplit(url)
    except ValueError:
        assert not ssrf.splits_alike(url, start)
        return
    assert ssrf.splits_alike(url, start), (parts.scheme, parts.netloc, start)


@given(_structured, _tails, _tails)
@example("http://127.0.0.1:8080", "/hook/c-1", "/hook/c-2")
@example("https://hooks.example.org", "/a", "/a b")
@example("https://hooks.example.org", "?x#y", "#")
def test_a_url_whose_authority_was_checked_gets_the_full_checks_verdict(
    authority: str, first: str, second: str
) -> None:
    ssrf._verdicts.clear()
    assert _fast(authority + first) == _full(authority + first)
    assert _fast(authority + second) == _full(authority + second)  # the verdict kept, if any
    assert _fast(authority + first) == _full(authority + first)


@given(_urls, _urls)
def test_any_two_urls_checked_in_turn_get_the_full_checks_verdicts(first: str, second: str) -> None:
    ssrf._verdicts.clear()
    for url in (first, second, first):
        assert _fast(url) == _full(url)


@pytest.mark.parametrize("tail", ["/a b", "/a\tb", "/\x00", "/x\x7f", "?q=\n"])
def test_a_space_or_control_character_is_refused_after_its_authority_passed(tail: str) -> None:
    check_url("https://hooks.example.org/ok", require_https=True, allow_private=False)
    with pytest.raises(ForbiddenAddressError, match="spaces or control"):
        check_url(f"https://hooks.example.org{tail}", require_https=True, allow_private=False)


def test_every_contacts_url_on_a_refused_host_is_refused_alike() -> None:
    for contact in range(3):
        with pytest.raises(ForbiddenAddressError, match="loopback"):
            check_url(f"http://127.0.0.1:8080/hook/c-{contact}", require_https=False, allow_private=False)
        check_url(f"http://127.0.0.1:8080/hook/c-{contact}", require_https=False, allow_private=True)
        with pytest.raises(ForbiddenAddressError, match="scheme must be https"):
            check_url(f"http://127.0.0.1:8080/hook/c-{contact}", require_https=True, allow_private=True)


def test_verdicts_kept_are_bounded() -> None:
    ssrf._verdicts.clear()
    for number in range(ssrf._VERDICTS_KEPT + 10):
        check_url(f"https://h{number}.example.org/", require_https=True, allow_private=False)
    assert len(ssrf._verdicts) <= ssrf._VERDICTS_KEPT
