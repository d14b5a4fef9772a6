"""End-to-end tests of the web UI's second round (issue 19) in headless Chromium: rows first,
the column chooser, a row's detail view, pages by number, readable values, charts that never
draw a superseded answer, styled error pages and visible refusals.

The browser, the live server and the signed-in pages are tests.web.chromium's fixtures.
"""

# The browser's fixtures are registered in conftest.py (from tests.web.chromium).

from __future__ import annotations

import contextlib
import re
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest

from csvhub.datasets.models import Dataset
from tests.accounts.actors import World
from tests.web.chromium import (
    DASH,
    _expect,
    _ingested,
    _sales_csv,
    _shot,
    _table_rows,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(page) -> list[str]:
    return page.eval_on_selector_all(
        "#rows-table thead button[data-column]", "buttons => buttons.map(b => b.dataset.column)"
    )


def test_rows_are_the_first_thing_below_the_title(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    expect(page.locator("#result-summary")).to_contain_text("of 60.")
    order = page.eval_on_selector_all(
        "main > section, main > details", "nodes => nodes.map(n => n.id)"
    )
    assert order[:2] == ["explorer", "columns"], order
    assert page.locator("#columns").get_attribute("open") is None  # the summary waits, folded
    # The filter and sort controls sit right above the grid, and the grid starts on screen.
    grid_top = page.locator("#rows-table").bounding_box()["y"]
    assert grid_top < 800, grid_top
    # One scroll area: the page's. The grid's box never scrolls up and down by itself.
    overflow = page.eval_on_selector(".explorer-wrap", "n => getComputedStyle(n).overflowY")
    assert overflow in ("visible", "hidden", "auto") and page.eval_on_selector(
        ".explorer-wrap", "n => n.scrollHeight <= n.clientHeight + 1"
    )
    page.locator("#columns > summary").click()
    expect(page.locator("table.columns")).to_be_visible()
    expect(page.locator("table.columns")).to_contain_text("decimal")
    assert "decimal number" not in page.locator("table.columns").inner_text()


def test_column_chooser_keeps_the_columns_shown_in_the_url(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(30))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    expect(page.locator("#result-summary")).to_contain_text("of 30.")
    page.get_by_role("button", name="Columns shown…").click()
    dialog = page.locator("#fields-dialog")
    expect(dialog).to_be_visible()
    for name in ("sold_at", "region", "client"):
        dialog.get_by_label(name, exact=True).uncheck()
    dialog.get_by_role("button", name="Move amount up").click()  # above sold_at
    dialog.get_by_role("button", name="Move amount up").click()  # above id
    _shot(page, "dataset-columns-chooser", full_page=False)
    dialog.get_by_role("button", name="Show these columns").click()

    expect(page).to_have_url(f"{page.url.split('?')[0]}?fields=amount,id")
    expect(page.locator("#rows-table thead button[data-column]")).to_have_count(2)
    assert _headers(page) == ["amount", "id"]
    # Shared or reloaded, the link shows the same view.
    other = signed_in("carol")
    other.goto(page.url.replace(page.url.split("/datasets")[0], ""))
    expect(other.locator("#rows-table thead button[data-column]")).to_have_count(2)
    assert _headers(other) == ["amount", "id"]

    page.get_by_role("button", name="Columns shown…").click()
    dialog.get_by_role("button", name="Show all").click()
    expect(page.locator("#rows-table thead button[data-column]")).to_have_count(5)
    assert "fields=" not in page.url


def test_a_row_opens_with_all_its_fields_and_a_permalink(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(40))
    page = signed_in("bob")
    page.goto("/datasets/sales/?region=south&sort=amount:desc")
    expect(page.locator("#result-summary")).to_contain_text("matching")
    third = _table_rows(page)[2]
    page.locator("#rows-table tbody tr").nth(2).locator("td").nth(2).click()
    dialog = page.locator("#row-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Row 3")
    values = dialog.locator("dd").all_inner_texts()
    assert values[0] == third[0] and values[3] == "south"
    _shot(page, "dataset-row", full_page=False)
    link = dialog.get_by_role("link", name="Link to this row").get_attribute("href")
    query = parse_qs(urlsplit(link).query)
    assert query["limit"] == ["2,1"] and query["region"] == ["south"]
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    other = signed_in("carol")
    other.goto(link)
    expect(other.locator("#row-dialog")).to_be_visible()
    assert other.locator("#row-dialog dd").all_inner_texts() == values
    # The row's button opens it from the keyboard as well.
    other.locator("#row-close").click()
    other.locator(".row-button").first.focus()
    other.keyboard.press("Enter")
    expect(other.locator("#row-dialog")).to_be_visible()


def test_pages_by_number_last_page_and_jump_to_a_row(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/?limit=25")
    summary = page.locator("#result-summary")
    expect(summary).to_have_text(f"Rows 1{DASH}25 of 60.")
    page.get_by_role("button", name="Last »").click()
    expect(summary).to_have_text(f"Rows 51{DASH}60 of 60.")
    assert [r[0] for r in _table_rows(page)] == [str(i) for i in range(51, 61)]
    expect(page.get_by_role("button", name="Next →")).to_be_disabled()
    page.get_by_role("button", name="← Previous").click()
    expect(summary).to_have_text(f"Rows 26{DASH}50 of 60.")

    page.fill("#jump-row", "33")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(summary).to_have_text(f"Rows 33{DASH}57 of 60.")
    assert _table_rows(page)[0][0] == "33"
    assert "limit=32,25" in page.url
    page.reload()
    expect(summary).to_have_text(f"Rows 33{DASH}57 of 60.")
    page.get_by_role("button", name="« First").click()
    expect(summary).to_have_text(f"Rows 1{DASH}25 of 60.")


def _give_scale(dataset: Dataset, name: str, scale: int) -> None:
    """The decimal column's scale, as the typed schema keeps it (set by ingestion once exact
    decimals land in the warehouse)."""
    dataset.columns = [
        {**column, "scale": scale} if column["name"] == name else column
        for column in dataset.columns
    ]
    dataset.save(update_fields=["columns"])


def test_values_are_readable_in_the_grid_and_raw_in_exports(signed_in, world: World) -> None:
    expect = _expect()
    content = "id,amount,seen_at,note\n1234567,7899.5,2024-03-01 09:30:00,\n2,-1234.25,,x\n"
    _ingested(world.acme, "money.csv", content)
    _give_scale(Dataset.objects.get(slug="money"), "amount", 2)
    page = signed_in("bob")
    page.goto("/datasets/money/")
    expect(page.locator("#result-summary")).to_contain_text("of 2.")
    rows = _table_rows(page)
    assert rows[0][0] == "1,234,567"
    assert rows[0][1] == "7,899.50"  # the column's scale, not the shortest form
    assert rows[1][1] == "-1,234.25"
    assert rows[0][2] == "2024-03-01 09:30:00"
    assert rows[0][3] == "empty" and rows[1][2] == "empty"
    assert page.locator("td.num").first.evaluate("n => getComputedStyle(n).textAlign") == "right"
    # The zone is said once, in the header, not in every cell.
    expect(page.locator('#rows-table thead button[data-column="seen_at"]')).to_contain_text("UTC")
    answer = page.request.get("/api/v1/datasets/money/rows/").json()
    assert answer["rows"][0]["id"] == 1234567  # the API keeps raw values
    page.locator("#columns > summary").click()
    amount = page.locator("table.columns tr", has_text="amount")
    assert amount.locator("td").all_inner_texts()[2:4] == ["-1234.25", "7899.50"]


def test_a_superseded_chart_request_is_never_drawn(signed_in, world: World) -> None:
    """Choosing "month" while a slow weekly chart loads: the week answer must not be drawn
    under the month title (it was, 2 times in 7, before requests were cancelled)."""
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(200))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    series = page.locator("#timeseries-chart svg")
    expect(series).to_be_visible()

    held: list = []

    def hold_weeks(route) -> None:
        if "bucket=week" in route.request.url:
            held.append(route)  # answered only after the month chart is drawn
        else:
            route.continue_()

    page.route("**/analysis/**", hold_weeks)
    page.locator("#ts-bucket").select_option("week")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the weekly request was never sent"
    page.locator("#ts-bucket").select_option("month")
    expect(series.locator(".axis-title").first).to_have_text("sold_at (UTC), per month")
    expect(series.locator("circle.dot")).to_have_count(6)
    # The stale answer arrives late, if the browser still wants it (aborted: what we want).
    with contextlib.suppress(Exception):
        held[0].continue_()
    page.wait_for_timeout(500)
    expect(series.locator(".axis-title").first).to_have_text("sold_at (UTC), per month")
    expect(series.locator("circle.dot")).to_have_count(6)


def test_time_chart_is_a_line_with_its_partial_ends_marked(signed_in, world: World) -> None:
    """The sales start on 1 January at 06:15 and end on 27 June: both months are partial."""
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(200))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    series = page.locator("#timeseries-chart svg")
    page.locator("#ts-bucket").select_option("month")
    expect(series.locator(".axis-title").first).to_have_text("sold_at (UTC), per month")
    expect(series.locator("path.line")).to_have_count(1)
    expect(series.locator(".partial")).to_have_count(2)
    titles = series.locator("circle title").all_text_contents()
    assert "partial" in titles[0] and "partial" in titles[-1]
    assert not any("partial" in title for title in titles[1:-1])
    dot = series.locator("circle.dot").nth(2)
    assert dot.evaluate("d => getComputedStyle(d).opacity") == "0"  # points show on hover
    dot.hover()
    expect(dot).to_have_css("opacity", "1")


def test_chart_defaults_to_rows_per_bucket_and_offers_only_fitting_buckets(
    signed_in, world: World
) -> None:
    expect = _expect()
    _ingested(world.acme, "visits.csv", "day,visitors\n2024-01-01,5\n2024-01-02,7\n")
    page = signed_in("bob")
    page.goto("/datasets/visits/")
    expect(page.locator("#timeseries-chart svg")).to_be_visible()
    assert page.locator("#ts-metric").input_value() == "count"
    buckets = page.eval_on_selector_all("#ts-bucket option", "os => os.map(o => o.value)")
    assert "minute" not in buckets and "hour" not in buckets and "day" in buckets
    expect(page.locator("#timeseries-chart circle.dot")).to_have_count(2)
    expect(page.locator("#timeseries-chart .partial")).to_have_count(0)  # whole days


def test_error_pages_are_inside_the_layout(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("bob")
    answer = page.goto("/datasets/no-such-thing/")
    assert answer.status == 404
    expect(page.locator("h1")).to_have_text("This page does not exist")
    expect(page.locator(".topbar")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_visible()
    _shot(page, "not-found", full_page=False)
    answer = page.goto("/members/")
    assert answer.status == 403
    expect(page.locator(".topbar")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("needs the admin role")
    # The top bar says who is refused, with the role that is refused.
    expect(page.locator("#whoami .role-badge")).to_have_text("viewer")
    _shot(page, "forbidden", full_page=False)


def test_a_refused_role_change_is_a_visible_alert(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("alice")
    page.goto("/members/")
    page.get_by_label("Role of alice").select_option("viewer")
    status = page.locator("#member-status")
    expect(status).to_contain_text("keeps at least one admin")
    expect(status).to_have_class("live-note alert alert-error")
    assert status.get_attribute("role") == "alert"


def test_top_bar_names_the_user_and_role(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("carol")
    expect(page.locator("#whoami")).to_have_text("Signed in as carol, editor")
    # Also on pages outside the organization's (the password page), with the role's menu.
    admin = signed_in("alice")
    admin.goto("/account/password/")
    expect(admin.locator("#whoami")).to_have_text("Signed in as alice, admin")
    expect(admin.get_by_role("link", name="Members")).to_be_visible()


def test_sort_rows_keep_their_remove_button_on_their_line(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(5))
    for width in (1280, 390):
        page = signed_in("bob", width=width, height=844)
        page.goto("/datasets/sales/?sort=client:desc&sold_at=gt:2024-01-01")
        expect(page.locator(".sort-row")).to_have_count(1)
        for row in (page.locator(".sort-row"), page.locator(".filter-row")):
            button = row.locator("button.icon").bounding_box()
            select = row.locator(".pick-column").bounding_box()
            middle = button["y"] + button["height"] / 2
            assert abs(middle - select["y"] - select["height"] / 2) < 4, (width, button, select)


def test_date_and_timestamp_filters_use_a_date_picker(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/?sold_at=gte:2024-05-01%2000:00:00")
    expect(page.locator("#result-summary")).to_contain_text("matching")
    value = page.locator(".filter-row .filter-value")
    assert value.get_attribute("type") == "datetime-local"
    assert value.input_value().startswith("2024-05-01T00:00")
    value.fill("2024-06-01T00:00:00")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"sold_at=gte:2024-06-01%2000:00"))
    expect(page.locator("#query-error")).to_be_hidden()
    # A text operator on the same column is typed as text again.
    page.locator(".filter-row .pick-op").select_option("in")
    assert value.get_attribute("type") == "text"


def test_tokens_and_members_are_cards_on_a_phone(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("alice", width=390, height=844)
    page.goto("/tokens/")
    page.fill("#token-name", "a rather long nightly import token name")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#token-secret")).to_be_visible()
    for path, table in [("/tokens/", "#token-table"), ("/members/", "#member-table")]:
        page.goto(path)
        expect(page.locator(f"{table} tbody tr td.card-title").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        first_row = "t => getComputedStyle(t.tBodies[0].rows[0]).display"
        display = page.eval_on_selector(table, first_row)
        assert display == "flex", path
        for action in page.locator(f"{table} td.actions button").all():
            box = action.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, path


def test_files_chosen_together_download_as_one_zip_and_delete_after_one_question(
    signed_in, world: World
) -> None:
    expect = _expect()
    for name in ("alpha", "beta", "gamma", "delta"):
        _ingested(world.acme, f"{name}.csv", f"{name}\n1\n")
    page = signed_in("carol")
    page.goto("/?sort=name")
    boxes = page.locator('.pick-box[data-kind="dataset"]')
    expect(boxes).to_have_count(4)
    boxes.nth(0).click()  # alpha
    boxes.nth(2).click(modifiers=["Shift"])  # through delta: alpha, beta, delta
    expect(page.locator("#selection-count")).to_contain_text("3 chosen")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download originals as ZIP").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.namelist() == ["alpha/alpha.csv", "beta/beta.csv", "delta/delta.csv"]

    # The keyboard ticks and unticks as well.
    boxes.nth(1).focus()
    page.keyboard.press("Space")  # beta off
    expect(page.locator("#selection-count")).to_contain_text("2 chosen")
    page.get_by_role("button", name="Delete selected datasets…").click()
    dialog = page.locator("#delete-many-dialog")
    expect(dialog).to_be_visible()
    assert dialog.locator("li").all_inner_texts() == ["alpha", "delta"]
    _shot(page, "files-delete-several", full_page=False)
    dialog.get_by_role("button", name="Delete them").click()
    expect(page.locator(".messages")).to_contain_text("Deleted alpha, delta.")
    assert sorted(Dataset.objects.values_list("slug", flat=True)) == ["beta", "gamma"]


def test_an_editor_renames_and_describes_a_dataset_and_its_columns(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(10))
    page = signed_in("carol")
    page.goto("/datasets/sales/")
    page.get_by_role("link", name="Describe…").click()
    page.fill("#dataset-name", "Sales of 2024")
    page.fill("#dataset-description", "Every sale of the shops, one row per sale.")
    page.get_by_label("Description of amount").fill("Paid, taxes included")
    page.get_by_label("Unit of amount").fill("EUR")
    _shot(page, "dataset-describe", full_page=False)
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".messages")).to_contain_text("Saved the description.")
    expect(page.locator("h1")).to_contain_text("Sales of 2024")
    expect(page.locator("#dataset-description")).to_have_text(
        "Every sale of the shops, one row per sale."
    )
    header = page.locator('#rows-table thead button[data-column="amount"]')
    expect(header).to_contain_text("(EUR)")
    assert header.get_attribute("title") == "Paid, taxes included"
    assert page.url.endswith("/datasets/sales/")  # the API name stays
    sales = Dataset.objects.get(slug="sales")
    assert (sales.name, sales.schema.column("amount").unit) == ("Sales of 2024", "EUR")

    viewer = signed_in("bob")
    viewer.goto("/datasets/sales/")
    expect(viewer.get_by_role("link", name="Describe…")).to_have_count(0)
    assert viewer.goto("/datasets/sales/edit/").status == 403
