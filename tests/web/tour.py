"""A tour of every page of the web UI, with each panel of the dataset page open: what the
phone-width test (test_phone_width_e2e.py) checks and the screenshots (test_screenshots.py) show,
so that a page added to one is in the other.

    rejected = tour_world(world)           # the datasets, an alarm rule, a long-named token
    for stop in tour(rejected):            # stem (screenshot name), user, path, prepare(page)
        page.goto(stop.path); stop.prepare(page)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from csvhub.accounts.models import Role
from csvhub.accounts.services import token_create
from csvhub.alarms.services import alarm_rule_create
from csvhub.datasets.models import Upload
from csvhub.edits.selections import selection_parse
from csvhub.edits.services import edit_create
from csvhub.sources.services import source_create
from tests.accounts.actors import World
from tests.web.chromium import _expect, _ingested, _sales_csv

SALES = "/datasets/sales/"
LONG_NAME = "station_readings_2024-01_north_sea_platform"
FIRMS = "company,amount\n" + "".join(
    f'"{name}",{n}\n'
    for n, name in enumerate(
        ["Acme Inc"] * 3 + ["ACME inc", "acme, inc.", "Nova Media", "nova media", "Orion"]
    )
)


class Stop(NamedTuple):
    stem: str  # the screenshot's name: docs/screenshots/<stem>-desktop.png and -phone.png
    user: str  # "anonymous" for a signed-out browser
    path: str
    prepare: Callable[..., None]  # what to open or wait for before looking
    full_page: bool = False  # the screenshot shows the whole page, not the screen's worth


def tour_world(world: World) -> Upload:
    """The tour's data in acme; returns the upload with rejected rows (for the rejects page)."""
    sales = _ingested(world.acme, "sales.csv", _sales_csv(300))
    rule = {"column": "amount", "upper": "400", "group_by": "region", "name": "big sales"}
    alarm_rule_create(dataset=sales.dataset, data=rule, user=None)
    # A source and an edit, so that their tables show a row with its actions.
    feed = {"kind": "s3", "bucket": "north-sea-platform-exports", "prefix": "readings/2024/"}
    source_create(dataset=sales.dataset, data={**feed, "every_seconds": 3600})
    edit_create(
        dataset=sales.dataset,
        user=None,
        selection=selection_parse(params=[("amount", "gte:490"), ("sold_at", "gte:2024-03-01")]),
        action={"set": {"region": "north"}},
    )
    _ingested(world.acme, "firms.csv", FIRMS)
    clients = "client,country\n" + "".join(f"client {i},FR\n" for i in range(40)) + "broken\n"
    rejected = _ingested(world.acme, "clients.csv", clients)
    # A long name without spaces, and a load that widened a column ("with a warning").
    _ingested(world.acme, f"{LONG_NAME}.csv", "level\n1\n2\n")
    _ingested(world.acme, "more.csv", "level\n2.5\n", dataset=LONG_NAME)
    token_create(
        organization=world.acme,
        user=world.alice,
        name="a rather long nightly import token name",
        role=Role.EDITOR,
    )
    return rejected


def _to_top(page, selector: str) -> None:
    """Scrolls the page so that the section's top is the screen's (what a screenshot shows)."""
    page.locator(selector).evaluate("section => section.scrollIntoView()")


def _settled(page) -> None:
    page.wait_for_load_state("networkidle")


def _dataset_ready(page) -> None:
    _expect()(page.locator("#result-summary")).to_contain_text("Rows")


def _more_filters(page) -> None:
    _dataset_ready(page)
    page.locator("#add-filter").click()
    page.locator("#add-sort").click()
    _expect()(page.locator("#filter-list li")).to_have_count(3)
    _to_top(page, "#query-form")


def _facets(page) -> None:
    _dataset_ready(page)
    _expect()(page.locator("#facet-list section.facet")).to_have_count(2)
    _to_top(page, "#facets")


def _summarize(page) -> None:
    _dataset_ready(page)
    _expect()(page.locator("#summarize-status")).to_contain_text("groups")
    _to_top(page, "#summarize")


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
    _to_top(page, "#columns")


def _split_chart(page) -> None:
    _dataset_ready(page)
    page.get_by_label("Split by").select_option("region")
    try:
        _expect()(page.locator("#timeseries-chart .legend li")).to_have_count(5)
    except AssertionError as error:  # the chart's note says why it drew nothing
        raise AssertionError(f"{error}\n{_chart_state(page)}") from None


def _chart_state(page) -> str:
    try:
        note = page.locator("#timeseries-note").text_content(timeout=1000)
        busy = page.locator("#timeseries-chart").get_attribute("aria-busy", timeout=1000)
    except Exception as error:  # the page went away: the assertion's own message stands
        return f"the chart's state could not be read: {error}"
    return f"chart note: {note!r}, aria-busy: {busy!r}"
    _to_top(page, "#charts")


def _edit_preview(page) -> None:
    _dataset_ready(page)
    page.locator("#edit-action").select_option("replace")
    page.locator("#edit-column").select_option("client")
    page.locator("#edit-value").fill("Client")
    page.locator("#edit-to").fill("Customer")
    page.locator("#edit-preview").click()
    _expect()(page.locator("#edit-preview-box")).to_be_visible()
    _to_top(page, "#edits")


def _alarms_form(page) -> None:
    _dataset_ready(page)
    _expect()(page.locator("#alarms-table")).to_contain_text("big sales")
    page.locator("#alarm-add > summary").click()
    _to_top(page, "#alarms")


def _sources_form(page) -> None:
    _dataset_ready(page)
    page.locator("#source-add > summary").click()
    page.get_by_label("S3 bucket").check()
    _to_top(page, "#sources")


def _clusters(page) -> None:
    _expect()(page.locator("#clean-status")).to_contain_text("clusters among")
    _settled(page)


def _reading_rules(page) -> None:
    page.locator("#reading-rules > summary").click()


def _account_menu(page) -> None:
    page.locator(".account-menu > summary").click()


def tour(rejected: Upload) -> list[Stop]:
    return [
        Stop("files", "carol", "/", _settled, full_page=True),
        Stop("account-menu", "carol", "/", _account_menu),
        Stop("upload", "carol", "/upload/", _reading_rules),
        Stop("dataset", "carol", f"{SALES}?amount=gte:100&sort=amount:desc", _dataset_ready),
        Stop(
            "dataset-search",
            "carol",
            f"{SALES}?q=client%2C%203&amount=gte:100&sold_at=gte:2024-02-01%2000:00:00",
            _more_filters,
        ),
        Stop("dataset-facets", "carol", f"{SALES}?amount=gte:100#facets=region,client", _facets),
        Stop("dataset-summarize", "carol", f"{SALES}#sum=avg:amount&by=region,client", _summarize),
        Stop("dataset-columns-chooser", "carol", SALES, _columns_chooser),
        Stop("dataset-row", "carol", SALES, _row),
        Stop("dataset-columns", "carol", SALES, _curl_and_columns),
        Stop("dataset-chart-split", "carol", SALES, _split_chart),
        Stop("dataset-edit", "carol", SALES, _edit_preview),
        Stop("dataset-alarms", "carol", SALES, _alarms_form),
        Stop("dataset-sources", "carol", SALES, _sources_form),
        Stop("dataset-viewer", "bob", SALES, _dataset_ready),
        Stop("clean", "carol", "/datasets/firms/clean/", _clusters),
        Stop("describe", "carol", f"{SALES}edit/", _settled),
        Stop("dataset-delete", "carol", f"{SALES}delete/", _settled),
        Stop("rejects", "carol", f"/uploads/{rejected.id}/rejects/", _settled, full_page=True),
        Stop("tokens", "alice", "/tokens/", _settled, full_page=True),
        Stop("members", "alice", "/members/", _settled, full_page=True),
        Stop("invitations", "alice", "/invitations/", _settled),
        Stop("retention", "alice", "/settings/retention/", _settled),
        Stop("password", "alice", "/account/password/", _settled),
        Stop("not-found", "carol", "/datasets/no-such-dataset/", _settled),
        Stop("forbidden", "carol", "/members/", _settled),
        Stop("server-error", "carol", "/test-server-error/", _settled),
        Stop("sign-in", "anonymous", "/login/", _settled),
    ]
