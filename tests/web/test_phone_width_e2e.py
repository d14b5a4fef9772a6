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

from collections.abc import Callable

import pytest

from csvhub.alarms.services import alarm_rule_create
from csvhub.datasets.models import Upload
from tests.accounts.actors import World
from tests.web.chromium import _expect, _ingested, _sales_csv

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
SALES = "/datasets/sales/"

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
    "h1, h2, h3, p, th, td, li, dt, dd, legend, code",
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


def _dataset_ready(page) -> None:
    _expect()(page.locator("#result-summary")).to_contain_text("Rows")


def _settled(page) -> None:
    page.wait_for_load_state("networkidle")


def _filters_sort_search(page) -> None:
    _dataset_ready(page)
    page.locator("#add-filter").click()
    page.locator("#add-sort").click()
    _expect()(page.locator("#filter-list li")).to_have_count(2)


def _facets(page) -> None:
    _dataset_ready(page)
    _expect()(page.locator("#facet-list section.facet")).to_have_count(2)


def _summarize(page) -> None:
    _dataset_ready(page)
    _expect()(page.locator("#summarize-status")).to_contain_text("groups")


def _columns_chooser(page) -> None:
    _dataset_ready(page)
    page.get_by_role("button", name="Columns shown…").click()
    _expect()(page.locator("#fields-dialog")).to_be_visible()


def _row(page) -> None:
    _dataset_ready(page)
    page.locator("#rows-table tbody tr").first.locator("td").nth(1).click()
    _expect()(page.locator("#row-dialog")).to_be_visible()


def _curl_and_columns(page) -> None:
    _dataset_ready(page)
    page.locator("#show-curl").click()
    page.locator("#columns > summary").click()


def _split_chart(page) -> None:
    _dataset_ready(page)
    page.get_by_label("Split by").select_option("region")
    _expect()(page.locator("#timeseries-chart .legend li")).to_have_count(5)


def _edit_preview(page) -> None:
    _dataset_ready(page)
    page.locator("#edit-action").select_option("replace")
    page.locator("#edit-column").select_option("client")
    page.locator("#edit-value").fill("Client")
    page.locator("#edit-to").fill("Customer")
    page.locator("#edit-preview").click()
    _expect()(page.locator("#edit-preview-box")).to_be_visible()


def _alarms_form(page) -> None:
    _dataset_ready(page)
    _expect()(page.locator("#alarms-table")).to_contain_text("amount")
    page.locator("#alarm-add > summary").click()


def _sources_form(page) -> None:
    _dataset_ready(page)
    page.locator("#source-add > summary").click()
    page.get_by_label("S3 bucket").check()


def _clean(page) -> None:
    _expect()(page.locator("#clean-status")).not_to_be_empty()
    _settled(page)


def _upload_rules(page) -> None:
    page.locator("#reading-rules > summary").click()


def _account_menu(page) -> None:
    page.locator(".account-menu > summary").click()


def _pages(rejected: Upload) -> list[tuple[str, str, Callable[..., None]]]:
    """(user, path, what to open or wait for before looking)."""
    return [
        ("carol", "/", _settled),
        ("carol", "/", _account_menu),
        ("carol", "/upload/", _upload_rules),
        ("carol", f"{SALES}?amount=gte:100&sort=amount:desc&q=client", _filters_sort_search),
        ("carol", f"{SALES}?amount=gte:100#facets=region,client", _facets),
        ("carol", f"{SALES}#sum=avg:amount&by=region,client", _summarize),
        ("carol", SALES, _columns_chooser),
        ("carol", SALES, _row),
        ("carol", SALES, _curl_and_columns),
        ("carol", SALES, _split_chart),
        ("carol", SALES, _edit_preview),
        ("carol", SALES, _alarms_form),
        ("carol", SALES, _sources_form),
        ("carol", f"{SALES}clean/", _clean),
        ("carol", f"{SALES}edit/", _settled),
        ("carol", f"{SALES}delete/", _settled),
        ("carol", f"/uploads/{rejected.id}/rejects/", _settled),
        ("bob", SALES, _dataset_ready),
        ("alice", "/tokens/", _settled),
        ("alice", "/members/", _settled),
        ("alice", "/invitations/", _settled),
        ("alice", "/settings/retention/", _settled),
        ("alice", "/account/password/", _settled),
        ("carol", "/datasets/no-such-dataset/", _settled),
        ("carol", "/members/", _settled),
    ]


def _world_with_data(world: World) -> Upload:
    sales = _ingested(world.acme, "sales.csv", _sales_csv(300))
    data = {"column": "amount", "upper": "400", "group_by": "region", "name": "big sales"}
    alarm_rule_create(dataset=sales.dataset, data=data, user=None)
    clients = "client,country\n" + "".join(f"client {i},FR\n" for i in range(40)) + "broken\n"
    rejected = _ingested(world.acme, "clients.csv", clients)
    # A long name without spaces, and a load that widened a column ("with a warning").
    _ingested(world.acme, "station_readings_2024-01_north_sea_platform.csv", "level\n1\n2\n")
    _ingested(
        world.acme,
        "more.csv",
        "level\n2.5\n",
        dataset="station_readings_2024-01_north_sea_platform",
    )
    return rejected


def test_no_page_scrolls_sideways_at_phone_width(signed_in, browser, server, world: World) -> None:
    rejected = _world_with_data(world)
    pages = {user: signed_in(user, **PHONE) for user in ("alice", "bob", "carol")}
    overflows: list[str] = []
    for user, path, prepare in _pages(rejected):
        page = pages[user]
        page.goto(path)
        prepare(page)
        overflows += [
            f"{user} {path} {prepare.__name__}: {line}" for line in page.evaluate(OVERFLOW_JS)
        ]
        page.keyboard.press("Escape")
    context = browser.new_context(viewport=PHONE, base_url=server)
    anonymous = context.new_page()
    anonymous.goto("/login/")
    overflows += [f"anonymous /login/: {line}" for line in anonymous.evaluate(OVERFLOW_JS)]
    context.close()
    assert not overflows, "\n".join(overflows)
