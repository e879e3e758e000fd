"""Every check of the project: `nox -s tests lint types docs`, plus `bench`, `smoke` and `fuzz`.

`tests` runs once per supported Python (`tests-3.11`, `tests-3.12`, `tests-3.13`).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "types", "docs"]
nox.options.reuse_existing_virtualenvs = True

SOURCES = ["durable_async", "tests", "examples", "benchmarks", "conformance", "noxfile.py"]

# Every Python the package supports: `nox -s tests` runs the suite on each one found
# (`tests-3.11`, `tests-3.12`, `tests-3.13`); `nox -s tests-3.13` runs one.
PYTHONS = ["3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The replay fuzzer at full size: 10,000 random workflow programs (`FUZZ_EXAMPLES`)."""
    session.install("-e", ".[test]")
    env = {"FUZZ_EXAMPLES": "10000"}
    session.run("python", "-m", "pytest", "tests/fuzz", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


# AWS's conformance suite declares Python >= 3.14 but runs on 3.11; it is test-only.
CONFORMANCE_SUITE = (
    "--no-deps",
    "--ignore-requires-python",
    "aws-durable-execution-conformance-tests",
    "pyyaml",
    "packaging",
)


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict on the package and the conformance handlers."""
    session.install("-e", ".[dev]")
    session.install(*CONFORMANCE_SUITE)
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation, warnings as errors."""
    session.install("-e", ".[dev]")
    session.run("mkdocs", "build", "--strict", "--site-dir", f"{session.create_tmp()}/site")


@nox.session
def smoke(session: nox.Session) -> None:
    """A tiny benchmark run of our SDK only, so the harness never rots."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "benchmarks", "--smoke")


@nox.session
def conformance(session: nox.Session) -> None:
    """The AWS conformance suite on the embedded backend and the AWS local runner."""
    session.install("-e", ".[test]")
    session.install(*CONFORMANCE_SUITE)
    session.run("python", "-m", "conformance", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The full benchmark suite against the reference SDKs (writes docs/benchmarks.md)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def screenshot(session: nox.Session) -> None:
    """Regenerate docs/img/server-viewer.png: the viewer's timeline, shot in the system's
    headless Chromium (/usr/bin/chromium; Playwright downloads no browser)."""
    session.install("-e", ".[test]", "playwright")
    session.run("python", "-m", "tests.server.screenshot", "docs/img/server-viewer.png")
