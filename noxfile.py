"""Development sessions: tests, lint, typing, docs and benchmarks.

``nox -s tests`` runs the whole test suite on the Python that runs nox; ``nox -s tests_all`` runs it on
every Python the package supports (read from pyproject.toml) that is installed here; ``nox -s
reliability`` runs the reliability suite with more examples and prints its table.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)

LINTED = ("src", "tests", "benchmarks", "scripts", "examples", "noxfile.py")

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typing"]


def _install(session: nox.Session, *extras: str) -> None:
    session.install("-e", f".[{','.join(extras)}]" if extras else ".")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (every example, property and contract test)."""
    _install(session, "cli", "test")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHONS)
def tests_all(session: nox.Session) -> None:
    """The test suite on every supported Python found on this machine."""
    _install(session, "cli", "test")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session
def typing(session: nox.Session) -> None:
    """mypy in strict mode on the package (the testing kit needs the test extra's libraries)."""
    _install(session, "cli", "test")
    session.install("mypy")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Builds the documentation site with warnings as errors."""
    _install(session, "cli", "docs")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def reliability(session: nox.Session) -> None:
    """The reliability suite (tests/reliability) with ten times its default examples; prints its table.

    Hostile inputs to every reader and command, erasure scanned on disk, crashes and injected faults:
    the table at the end counts what was tried, and the columns marked "must be 0" are guarantees
    (each test also asserts them, so the ordinary suite fails on a regression too).
    """
    _install(session, "cli", "test")
    scale = os.environ.get("CSSC_RELIABILITY_SCALE", "10")
    session.run(
        "pytest",
        "tests/reliability",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"CSSC_RELIABILITY_SCALE": scale},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Runs every benchmark and prints each figure with its ratio to the reference."""
    _install(session, "cli", "bench")
    session.run("python", "-m", "benchmarks", *session.posargs)
