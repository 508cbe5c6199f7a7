"""Fixtures of the browser tests: a real stack of their own, and headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright; never a browser Playwright downloads) that may only reach the
stack on 127.0.0.1. Without /usr/bin/chromium every test here skips, saying how to install it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from infra.stack import HOST, REPO_ROOT, Stack, StackConfig
from tests.support.api import Api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACT_DIR = REPO_ROOT / "var" / "test-artifacts"
PAGE_TIMEOUT_MS = 20_000  # any one click, wait or assertion in the page
NAVIGATION_TIMEOUT_MS = 30_000  # any one page load

expect.set_options(timeout=PAGE_TIMEOUT_MS)  # Playwright's own default is 5 s: short on a busy machine


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("browser-stack"))
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[Api]:
    with Api.for_stack(stack) as client:
        yield client


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path),
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=NAVIGATION_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page whose requests to anywhere but 127.0.0.1 are aborted, not sent."""
    context: BrowserContext = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    context.route(lambda url: not url.startswith(f"http://{HOST}:"), _abort)
    try:
        yield context.new_page()
    finally:
        context.close()


def _abort(route: Route) -> None:
    route.abort("blockedbyclient")


@pytest.fixture(scope="session")
def artifact_dir() -> Path:
    """var/test-artifacts of the repository (var/ is gitignored): screenshots kept after the run."""
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACT_DIR
