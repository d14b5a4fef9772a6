"""Screenshots of every page at desktop (1280 x 800) and phone (390 x 844) size, for docs/ui.md.

Not a test of behaviour: it runs only with CSVHUB_SCREENSHOTS=1 and writes
docs/screenshots/<page>-desktop.png and <page>-phone.png with the end-to-end tests' Chromium:

    CSVHUB_SCREENSHOTS=1 .venv/bin/pytest tests/web/test_screenshots.py

The pages, and what is opened on each, are tests/web/tour.py's tour: the same ones the
phone-width test checks.
"""

# The browser's fixtures are registered in conftest.py (from tests.web.chromium).

from __future__ import annotations

import pytest

from tests.accounts.actors import World
from tests.web.chromium import SCREENSHOT_DIR, SCREENSHOTS
from tests.web.tour import tour, tour_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SCREENSHOTS, reason="screenshots only with CSVHUB_SCREENSHOTS=1"),
]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def test_every_page_at_desktop_and_phone_size(signed_in, browser, server, world: World) -> None:
    rejected = tour_world(world)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        pages = {
            user: signed_in(user, width=width, height=height) for user in ("alice", "bob", "carol")
        }
        viewport = {"width": width, "height": height}
        anonymous = browser.new_context(viewport=viewport, base_url=server)
        pages["anonymous"] = anonymous.new_page()
        for stop in tour(rejected):
            page = pages[stop.user]
            page.goto(stop.path)
            stop.prepare(page)
            page.screenshot(
                path=str(SCREENSHOT_DIR / f"{stop.stem}-{size}.png"), full_page=stop.full_page
            )
            page.keyboard.press("Escape")
        anonymous.close()
