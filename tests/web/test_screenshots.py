"""Screenshots of every page at desktop (1280 x 800) and phone (390 x 844) size, for docs/ui.md.

Not a test of behaviour: it runs only with CSVHUB_SCREENSHOTS=1 and writes
docs/screenshots/<page>-desktop.png and <page>-phone.png with the end-to-end tests' Chromium:

    CSVHUB_SCREENSHOTS=1 .venv/bin/pytest tests/web/test_screenshots.py
"""

# The browser's fixtures are registered in conftest.py (from tests.web.chromium).

from __future__ import annotations

from collections.abc import Callable

import pytest

from csvhub.datasets.models import Upload
from tests.accounts.actors import World
from tests.web.chromium import (
    SCREENSHOT_DIR,
    SCREENSHOTS,
    _expect,
    _ingested,
    _sales_csv,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SCREENSHOTS, reason="screenshots only with CSVHUB_SCREENSHOTS=1"),
]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
SALES = "/datasets/sales/"


def _ready_dataset(page) -> None:
    _expect()(page.locator("#result-summary")).to_contain_text("Rows")


def _open_row(page) -> None:
    _ready_dataset(page)
    page.locator("#rows-table tbody tr").first.locator("td").nth(1).click()
    _expect()(page.locator("#row-dialog")).to_be_visible()


def _open_chooser(page) -> None:
    _ready_dataset(page)
    page.get_by_role("button", name="Columns shown…").click()


def _settled(page) -> None:
    page.wait_for_load_state("networkidle")


def _facets(page) -> None:
    _ready_dataset(page)
    _expect()(page.locator("#facet-list section.facet")).to_have_count(2)


def _summarized(page) -> None:
    _ready_dataset(page)
    _expect()(page.locator("#summarize-status")).to_contain_text("groups")
    page.locator("#summarize").scroll_into_view_if_needed()


def _split_chart(page) -> None:
    _ready_dataset(page)
    page.get_by_label("Split by").select_option("region")
    _expect()(page.locator("#timeseries-chart .legend li")).to_have_count(5)
    page.locator("#charts").scroll_into_view_if_needed()


def _pages(rejected: Upload) -> list[tuple[str, str, str, Callable[..., None]]]:
    """(file stem, user, path, what to wait for or do before the picture)."""
    return [
        ("files", "carol", "/", _settled),
        ("upload", "carol", "/upload/", _settled),
        ("dataset", "carol", "/datasets/sales/?amount=gte:100&sort=amount:desc", _ready_dataset),
        ("dataset-search", "carol", "/datasets/sales/?q=client%2C%203", _ready_dataset),
        ("dataset-row", "carol", "/datasets/sales/", _open_row),
        (
            "dataset-facets",
            "carol",
            "/datasets/sales/?amount=gte:100#facets=region,client",
            _facets,
        ),
        (
            "dataset-summarize",
            "carol",
            "/datasets/sales/#sum=avg:amount&by=region,client",
            _summarized,
        ),
        ("dataset-chart-split", "carol", "/datasets/sales/", _split_chart),
        ("dataset-columns-chooser", "carol", "/datasets/sales/", _open_chooser),
        ("dataset-delete", "carol", "/datasets/sales/delete/", _settled),
        ("rejects", "carol", f"/uploads/{rejected.id}/rejects/", _settled),
        ("tokens", "alice", "/tokens/", _settled),
        ("members", "alice", "/members/", _settled),
        ("invitations", "alice", "/invitations/", _settled),
        ("not-found", "carol", "/datasets/no-such-dataset/", _settled),
        ("forbidden", "carol", "/members/", _settled),
    ]


def test_every_page_at_desktop_and_phone_size(signed_in, browser, server, world: World) -> None:
    _ingested(world.acme, "sales.csv", _sales_csv(300))
    clients = "client,country\n" + "".join(f"client {i},FR\n" for i in range(40)) + "broken\n"
    rejected = _ingested(world.acme, "clients.csv", clients)
    # A load that widened a column, for the files page's "Succeeded with a warning".
    _ingested(world.acme, "station_readings_2024-01.csv", "level\n1\n2\n")
    _ingested(world.acme, "more.csv", "level\n2.5\n", dataset="station_readings_2024-01")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        pages = {user: signed_in(user, width=width, height=height) for user in ("alice", "carol")}
        for stem, user, path, prepare in _pages(rejected):
            page = pages[user]
            page.goto(path)
            prepare(page)
            page.screenshot(path=str(SCREENSHOT_DIR / f"{stem}-{size}.png"))
            page.keyboard.press("Escape")
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=server)
        anonymous = context.new_page()
        anonymous.goto("/login/")
        anonymous.screenshot(path=str(SCREENSHOT_DIR / f"sign-in-{size}.png"))
        context.close()
