"""What the end-to-end tests drive: a live server whose ingestion runs on background threads,
signed-in pages of the session's one Chromium (the `browser` fixture of tests/browser.py), and
the helpers the tests share. The fixtures are registered once, in tests/web/conftest.py.
With CSVHUB_SCREENSHOTS=1 the tests also save a screenshot of each page under docs/screenshots/.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from csvhub.datasets.models import Upload, UploadState
from tests.accounts.actors import PASSWORD, World
from tests.datasets.pipeline import upload

SCREENSHOTS = os.environ.get("CSVHUB_SCREENSHOTS") == "1"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
THREAD_TASKS = {
    "default": {
        "BACKEND": "csvhub.jobs.backends.ThreadBackend",
        "OPTIONS": {"threads": 2, "broker_url": ""},
    }
}
INLINE_TASKS = {"default": {"BACKEND": "csvhub.jobs.backends.InlineBackend"}}
WAIT_MS = 30_000

DASH = "\u2013"  # the en dash the pages put in ranges of rows


@pytest.fixture
def server(live_server, settings, world: World) -> Iterator[str]:
    """The live server's URL, with ingestion on background threads as in production."""
    settings.TASKS = THREAD_TASKS
    settings.ROOT_URLCONF = "tests.web.urls"
    yield live_server.url
    _wait_for_jobs()  # let background ingestion finish before the database is flushed


def _wait_for_jobs(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    busy = (UploadState.QUEUED, UploadState.RUNNING)
    while Upload.objects.filter(state__in=busy).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def signed_in(browser, server: str) -> Iterator[Callable[..., object]]:
    """signed_in(username, width=1280) → a page of a fresh browser context, signed in."""
    contexts = []

    def open_page(username: str, width: int = 1280, height: int = 900) -> object:
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=server, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Anything the Content-Security-Policy blocks is a page that half works.
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and errors.append(message.text)
            ),
        )
        page.js_errors = errors
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/")
        return page

    yield open_page
    for context in contexts:
        for page in context.pages:
            assert not getattr(page, "js_errors", []), page.js_errors
        context.close()


def _shot(page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=full_page)


def _expect():
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    return expect


def _sales_csv(rows: int = 60) -> str:
    regions = ["north", "south", "east", "west", ""]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "sold_at", "amount", "region", "client"])
    for i in range(1, rows + 1):
        writer.writerow(
            [
                i,
                f"2024-{1 + i % 6:02d}-{1 + i % 27:02d} {i % 24:02d}:15:00",
                f"{(i * 37) % 500 + 0.25:.2f}",
                regions[i % 5],
                f"Client, {i % 7}",
            ]
        )
    return out.getvalue()


def _ingested(organization, name: str, content: str, dataset: str | None = None) -> Upload:
    with override_settings(TASKS=INLINE_TASKS):
        created = upload(organization, name, content, dataset=dataset)
    created.refresh_from_db()
    assert created.state == UploadState.SUCCEEDED, created.error
    return created


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _table_rows(page) -> list[list[str]]:
    # The first cell is the row's number (its button opens the row): not a column.
    cells = "rows => rows.map(r => [...r.cells].slice(1).map(c => c.textContent))"
    return page.eval_on_selector_all("#rows-table tbody tr", cells)
