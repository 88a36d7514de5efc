"""Fixtures for tests that drive a real Chromium (``make test-browser``).

The browser is Debian's ``chromium`` (``apt-get install chromium``), driven by the Python
``playwright`` package.  Playwright never downloads a browser here: we always pass
``executable_path``.  Screenshots go to ``artifacts/browser/<test name>/`` (ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

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


def _artifact_folder(node: pytest.Item) -> Path:
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name)


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A fresh folder for this test's screenshots: ``artifacts/browser/<test name>/``."""
    folder = _artifact_folder(request.node)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


# What a page may load: files, inline data, and the JupyterLab server on loopback.
LOCAL = ("file://", "data:", "blob:", "http://127.0.0.1:")
# The only other hosts a page may try (and be refused): in JupyterLab, the Binder and Colab
# badges under each chapter's title are images on those services.  The static book may try
# none (test_book_pages.py): it draws its badges, formulas and widgets' stills itself.
BADGE_HOSTS = frozenset({"mybinder.org", "colab.research.google.com"})
# The console error Chromium logs for a request that we refuse (route.abort()).
FAILED_LOAD = r"^Failed to load resource: net::ERR_FAILED$"


class ConsoleLog:
    """Every console message, uncaught exception and refused request of one page."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.refused: list[str] = []  # URLs outside LOCAL: no internet in CI

    def errors(self, allow: tuple[str, ...] = ()) -> list[str]:
        """Console errors and page errors, minus those matching a regex in ``allow``."""
        return [
            text
            for kind, text in self.messages
            if kind in ("error", "pageerror") and not any(re.search(a, text) for a in allow)
        ]

    def assert_clean(self, external_hosts: set[str] = frozenset()) -> None:
        """No JavaScript error, except one failed load per refused request to an allowed host.

        ``external_hosts``: hosts the page may try to reach (:data:`BADGE_HOSTS` in
        JupyterLab); any other outside request, or any other console error, fails.
        """
        hosts = {urlsplit(url).hostname for url in self.refused}
        assert hosts <= set(external_hosts), f"unexpected requests: {self.refused}"
        failed = [text for kind, text in self.messages if re.match(FAILED_LOAD, text)]
        assert len(failed) == len(self.refused), (failed, self.refused)
        assert self.errors(allow=(FAILED_LOAD,)) == []


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator:
    """A new page (1400x1000) in its own context; ``page.console`` is its ``ConsoleLog``.

    Requests outside ``LOCAL`` are refused and listed in ``page.console.refused``.  If the
    test fails, a screenshot of the page is saved as ``artifacts/browser/<test>/failed.png``.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    log = ConsoleLog()

    def route(r) -> None:
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            log.refused.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("console", lambda m: log.messages.append((m.type, m.text)))
    pg.on("pageerror", lambda e: log.messages.append(("pageerror", str(e))))
    pg.console = log
    try:
        yield pg
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            folder = _artifact_folder(request.node)
            folder.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=folder / "failed.png")
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item (``item.rep_call``) for the fixtures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_configure(config: pytest.Config) -> None:
    """Turn SIGTERM (a CI time-out, ``kill``) into an exception, so fixtures still stop
    JupyterLab and Chromium instead of leaving them running."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
