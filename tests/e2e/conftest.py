"""Browser tests: Debian's chromium driven by Playwright, against real gateway and worker processes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import need_service
from tests.integration.conftest import config_file, sink, start_gateway, start_worker  # noqa: F401

#: The flags the machine's own probe uses: no sandbox as root, and no background calls to Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module (``make test`` installs Debian's package where it can). Not per
    session: Playwright's sync API keeps an event loop running while it is open, which the async
    tests of later modules would trip over."""
    executable = chromium_path()
    if executable is None:
        need_service("no chromium on PATH (Debian: apt-get install chromium; make test does it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        need_service(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()
