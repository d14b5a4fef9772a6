"""Every page of the web UI at phone size (390 x 844) in headless Chromium: the page never
scrolls sideways, and no visible control or text sticks out past the screen's edges. A wide table
may scroll inside its own container (the data grid, the files of a dataset); the container itself
must fit, and what it holds is reached by scrolling it.

The dataset page is looked at with each of its panels open (filters, sort, search, facets,
Summarize, the column chooser, a row, the column summary, the chart split by a category, the
edit preview, the alarms form, the sources form) and so are the clean, describe, delete,
rejects, tokens, members, invitations, retention and usage, password, sign-in, 404 and 403 pages.
"""

from __future__ import annotations

import pytest

from tests.accounts.actors import World
from tests.web.chromium import _expect, _ingested, _sales_csv
from tests.web.tour import tour, tour_world

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

# What sticks out of the screen, as "what: left..right" lines. A control inside a sideways
# scroll area counts only if the area itself sticks out: its content is reached by scrolling it.
OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width) {
    found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px wide`);
  }
  const scrolls = (el) => {
    const style = getComputedStyle(el);
    return ["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth;
  };
  const name = (el) => {
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim();
    return `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}> ${text.slice(0, 40)}`;
  };
  const controls = [
    "a, button, input, select, textarea, summary, label",
    "h1, h2, h3, p, span, th, td, li, dt, dd, legend, code",
  ].join(", ");
  for (const el of document.querySelectorAll(controls)) {
    // Hidden on purpose (the skip link shows when focused), or kept for screen readers.
    if (el.closest(".visually-hidden, .offscreen, .file-input, .skip-link")) continue;
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    let area = el.parentElement;
    while (area && !scrolls(area)) area = area.parentElement;
    const outer = area ? area.getBoundingClientRect() : box;
    if (outer.left < -1 || outer.right > width + 1) {
      const what = area ? `${name(el)} (in a scroll area)` : name(el);
      found.push(`${what}: ${Math.round(outer.left)}..${Math.round(outer.right)}`);
    }
  }
  return [...new Set(found)];
}"""


def _overflows(page, where: str) -> list[str]:
    return [f"{where}: {line}" for line in page.evaluate(OVERFLOW_JS)]


def test_no_page_scrolls_sideways_at_phone_width(signed_in, browser, server, world: World) -> None:
    rejected = tour_world(world)
    pages = {user: signed_in(user, **PHONE) for user in ("alice", "bob", "carol")}
    anonymous = browser.new_context(viewport=PHONE, base_url=server)
    pages["anonymous"] = anonymous.new_page()
    found: list[str] = []
    for stop in tour(rejected):
        page = pages[stop.user]
        page.goto(stop.path)
        stop.prepare(page)
        found += _overflows(page, f"{stop.stem} ({stop.user} {stop.path})")
        page.keyboard.press("Escape")
    anonymous.close()
    assert not found, "\n".join(found)


def test_the_automatic_time_bucket_fits_the_chart_width(signed_in, world: World) -> None:
    """Half a year of rows: per day on a desktop, per week on a phone (180 points on a phone's
    300 pixels drew as spikes)."""
    _ingested(world.acme, "sales.csv", _sales_csv(300))
    for width, bucket in ((1280, "day"), (390, "week")):
        page = signed_in("bob", width=width, height=844)
        page.goto("/datasets/sales/")
        title = page.locator("#timeseries-chart svg .axis-title").first
        _expect()(title).to_have_text(f"sold_at (UTC), per {bucket}")
