"""Fixtures for tests that drive a real Chromium (``make test-browser``).

The browser is Debian's ``chromium`` (``apt-get install chromium``), driven by the Python
``playwright`` package.  Playwright never downloads a browser here: we always pass
``executable_path``.  Screenshots go to ``artifacts/browser/<test name>/`` (ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"

# Flags for a headless Chromium in a container with no outside network: without the
# background-networking ones it keeps trying to reach Google's servers.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def chromium_path() -> str:
    """Path of the Chromium binary: ``$CONVBOOK_CHROMIUM``, else ``chromium`` on PATH."""
    path = os.environ.get("CONVBOOK_CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError(
            "Chromium not found: install Debian's package (sudo apt-get install chromium) "
            "or set CONVBOOK_CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole session, closed in every outcome."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A fresh folder for this test's screenshots: ``artifacts/browser/<test name>/``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = ARTIFACTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class ConsoleLog:
    """Every console message and uncaught exception of one page, kept for assertions."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def errors(self, allow: tuple[str, ...] = ()) -> list[str]:
        """Console errors and page errors, minus those matching a regex in ``allow``."""
        return [
            text
            for kind, text in self.messages
            if kind in ("error", "pageerror") and not any(re.search(a, text) for a in allow)
        ]


@pytest.fixture
def page(browser) -> Iterator:
    """A new page (1400x1000) in its own context; ``page.console`` is its ``ConsoleLog``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    log = ConsoleLog()
    pg.on("console", lambda m: log.messages.append((m.type, m.text)))
    pg.on("pageerror", lambda e: log.messages.append(("pageerror", str(e))))
    pg.console = log
    try:
        yield pg
    finally:
        context.close()
