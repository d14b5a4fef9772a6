"""One headless Chromium for the whole test session (Debian's `chromium`, driven by Playwright
for Python), shared by every browser test: tests/web and tests/sso. A pytest plugin (see
tests/conftest.py), so that all modules share one instance: Playwright's sync API runs one
event loop per thread, and a second one would refuse to start.

Skips with a message when Playwright or Chromium is missing, and fails under CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import IN_CI

CHROMIUM = os.environ.get("CSVHUB_CHROMIUM", "/usr/bin/chromium")
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


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed; `pip install -e '.[test]'` to run the browser tests")
    if not Path(CHROMIUM).exists():
        _missing(
            f"no Chromium at {CHROMIUM}; `apt-get install chromium` or set CSVHUB_CHROMIUM "
            "to run the browser tests"
        )
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's async-safety guard would refuse them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
