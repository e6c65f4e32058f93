"""Hostile targets for the SSRF tests: none is ever contacted (literal ones are refused before any
lookup; names resolve only through a resolver the tests inject)."""

from __future__ import annotations

__all__ = ["HOSTILE_NAMES", "HOSTILE_URLS"]

HOSTILE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://127.0.0.1/",
    "http://127.255.255.254:8080/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.1/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[fc00::1]/",
    "http://[fdff:ffff::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.0.8/",
    "http://198.18.0.1/",
    "http://[2001:db8::1]/",
]
"""Literal targets, in every encoding that reaches a forbidden address."""

HOSTILE_NAMES = {
    "metadata.evil.example": "169.254.169.254",
    "loopback.evil.example": "127.0.0.1",
    "mapped.evil.example": "::ffff:127.0.0.1",
    "ten.evil.example": "10.0.0.5",
    "one-seven-two.evil.example": "172.20.1.1",
    "one-nine-two.evil.example": "192.168.0.10",
    "cgnat.evil.example": "100.100.100.200",
    "ula.evil.example": "fd12:3456::1",
    "v6-loopback.evil.example": "::1",
    "unspecified.evil.example": "0.0.0.0",
}
"""Names and the forbidden addresses the injected resolver gives them."""
