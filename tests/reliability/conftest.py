"""Prints the reliability table at the end of a session that ran reliability tests.

With ``CSSC_RELIABILITY_REPORT=PATH`` the counters are also written to PATH as JSON (``nox -s
reliability`` does so and prints the table).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest

from tests.reliability.tally import TALLY, table


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Adds the table to pytest's summary."""
    if not TALLY.any_counted():
        return
    terminalreporter.write_line("")
    for line in table(TALLY).splitlines():
        terminalreporter.write_line(line)
    report = os.environ.get("CSSC_RELIABILITY_REPORT")
    if report:
        Path(report).write_text(json.dumps(attrs.asdict(TALLY), indent=2) + "\n", "utf-8")
