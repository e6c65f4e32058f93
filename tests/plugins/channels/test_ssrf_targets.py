"""Hostile webhook targets shared by the webhook tests (at least twenty; none is ever contacted)."""

from __future__ import annotations

from tests.channels.test_ssrf import HOSTILE_URLS

__all__ = ["HOSTILE_NAMES", "HOSTILE_URLS"]

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
