"""End-to-end tests of the web UI in a real headless Chromium (Debian's `chromium`, driven by
Playwright for Python) against a live server whose ingestion runs on background threads.

They skip with a message when Playwright or Chromium is missing, and fail under CI=true.
With CSVHUB_SCREENSHOTS=1 they also save a screenshot of each page under docs/screenshots/.
"""

# Fixtures are registered in conftest.py (from tests.web.chromium) and named as test parameters.

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from csvhub.accounts.models import ApiToken, Membership, Role
from csvhub.csvread import ColumnType
from csvhub.datasets.models import Dataset, Upload, UploadState
from csvhub.grammar.filters import FILTER_OPERATORS
from tests.accounts.actors import World
from tests.web.chromium import (
    DASH,
    WAIT_MS,
    _expect,
    _ingested,
    _rows,
    _sales_csv,
    _shot,
    _table_rows,
)

pytestmark = pytest.mark.django_db(transaction=True)


# -- files and uploads ---------------------------------------------------------------------------


def test_upload_two_files_and_watch_them_succeed_without_reload(
    signed_in, tmp_path: Path, world: World
) -> None:
    expect = _expect()
    files_page = signed_in("carol")
    files_page.evaluate("window.__notReloaded = true")
    expect(files_page.locator("td.empty")).to_contain_text("No files yet")

    sales = tmp_path / "sales.csv"
    sales.write_text(_sales_csv(20_000))
    clients = tmp_path / "clients.csv"
    clients.write_text("client,country\nAcme,FR\nGlobex,US\n")
    upload_page = files_page.context.new_page()
    upload_page.set_default_timeout(WAIT_MS)
    upload_page.goto("/upload/")
    upload_page.evaluate("window.__notReloaded = true")
    upload_page.set_input_files("#file-input", [str(sales), str(clients)])

    items = upload_page.locator(".upload-item")
    expect(items).to_have_count(2)
    expect(upload_page.locator('.upload-item[data-state="succeeded"]')).to_have_count(2)
    expect(items.nth(0)).to_contain_text("20,000 rows loaded into sales")
    expect(items.nth(1)).to_contain_text("2 rows loaded into clients")
    expect(upload_page.locator("#upload-done")).to_contain_text("Both files loaded.")
    assert upload_page.evaluate("window.__notReloaded") is True
    _shot(upload_page, "upload")

    # The files page, opened before the upload, shows both without being reloaded.
    table = files_page.locator("#files-table")
    expect(table.locator("tbody.dataset")).to_have_count(2)
    expect(table.locator('tr.upload-row[data-state="succeeded"]')).to_have_count(2)
    expect(table.locator('tbody[data-slug="sales"] .dataset-row')).to_contain_text("20,000")
    assert files_page.evaluate("window.__notReloaded") is True
    assert set(Dataset.objects.values_list("slug", flat=True)) == {"sales", "clients"}


def test_files_page_shows_live_progress_of_a_loading_upload(signed_in, world: World) -> None:
    expect = _expect()
    dataset = Dataset.objects.create(organization=world.acme, name="big", slug="big")
    job = Upload.objects.create(
        dataset=dataset, original_name="big.csv", size=1000, state=UploadState.RUNNING
    )
    page = signed_in("bob")
    row = page.locator(f'tr[data-upload-id="{job.id}"]')
    expect(row.locator('[data-field="state"]')).to_have_text("Loading")
    Upload.objects.filter(pk=job.pk).update(bytes_read=400, rows_loaded=1234)
    expect(row.locator('[data-field="progress"]')).to_contain_text("1,234 rows")
    assert row.locator("progress").evaluate("bar => bar.value") == 400
    _shot(page, "files-loading")
    Upload.objects.filter(pk=job.pk).update(
        state=UploadState.FAILED, error="The file is empty. Upload a CSV file with a header line."
    )
    expect(row.locator(".badge")).to_have_text("Failed")
    expect(row).to_contain_text("The file is empty.")


def test_dataset_page_follows_its_loading_files(signed_in, world: World) -> None:
    expect = _expect()
    dataset = Dataset.objects.create(organization=world.acme, name="big", slug="big")
    job = Upload.objects.create(
        dataset=dataset, original_name="big.csv", size=1000, state=UploadState.QUEUED
    )
    page = signed_in("bob")
    page.goto("/datasets/big/")
    row = page.locator(f'#uploads tr[data-upload-id="{job.id}"]')
    expect(row.locator('[data-field="state"]')).to_have_text("Queued")
    Upload.objects.filter(pk=job.pk).update(state=UploadState.RUNNING, rows_loaded=77)
    expect(row.locator('[data-field="progress"]')).to_contain_text("77 rows")
    Upload.objects.filter(pk=job.pk).update(state=UploadState.SUCCEEDED, rows_loaded=99)
    expect(page.locator("#uploads-note")).to_contain_text("Every file has finished loading.")
    expect(row.locator('[data-field="rows_loaded"]')).to_have_text("99")


def test_upload_errors_are_said_plainly_next_to_the_file(
    signed_in, tmp_path: Path, world: World, settings
) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(5))
    settings.CSVHUB_MAX_UPLOAD_BYTES = 2_000
    page = signed_in("carol")
    page.goto("/upload/?dataset=sales")
    wrong = tmp_path / "wrong-columns.csv"
    wrong.write_text("id,colour\n1,red\n")
    big = tmp_path / "big.csv"
    big.write_text(_sales_csv(200))
    page.set_input_files("#file-input", [str(wrong), str(big)])

    items = page.locator(".upload-item")
    expect(page.locator('.upload-item[data-state="failed"]')).to_have_count(2)
    expect(items.nth(0).locator(".upload-error")).to_contain_text(
        "This file's columns are not the same as the dataset's"
    )
    expect(items.nth(0).locator(".upload-error")).to_contain_text("Missing from the file: sold_at")
    expect(items.nth(1).locator(".upload-error")).to_contain_text("the largest file csvhub accepts")
    expect(page.locator("#upload-done")).to_contain_text(
        "Neither file loaded (see the reasons above)."
    )
    _shot(page, "upload-errors")


def test_files_table_sorts_by_size(signed_in, world: World) -> None:
    expect = _expect()
    for name, size in {"small": 10, "large": 90_000, "medium": 500}.items():
        dataset = Dataset.objects.create(organization=world.acme, name=name, slug=name)
        Upload.objects.create(
            dataset=dataset, original_name=f"{name}.csv", size=size, state=UploadState.SUCCEEDED
        )
    page = signed_in("bob")
    slugs = page.locator("tbody.dataset")

    page.get_by_role("link", name="Size").click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?sort=-size")
    expect(slugs.first).to_have_attribute("data-slug", "large")
    assert [s.get_attribute("data-slug") for s in slugs.all()] == ["large", "medium", "small"]
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Size")

    page.get_by_role("link", name="Size").click()
    expect(slugs.first).to_have_attribute("data-slug", "small")
    assert [s.get_attribute("data-slug") for s in slugs.all()] == ["small", "medium", "large"]
    assert page.url.endswith("?sort=size")
    _shot(page, "files")


def test_delete_asks_for_confirmation(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(5))
    _ingested(world.acme, "keep.csv", "a\n1\n")
    page = signed_in("carol")
    dialog = page.locator("#delete-dialog")

    page.get_by_role("link", name="Delete sales").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete sales?")
    _shot(page, "delete-confirmation", full_page=False)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Dataset.objects.filter(slug="sales").exists()

    page.get_by_role("link", name="Delete sales").click()
    dialog.get_by_role("button", name="Delete dataset").click()
    expect(page.locator(".messages")).to_contain_text("Deleted sales.")
    expect(page.locator("tbody.dataset")).to_have_count(1)
    assert list(Dataset.objects.values_list("slug", flat=True)) == ["keep"]


def test_rejected_rows_are_listed(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(30) + "broken,row\n")
    page = signed_in("bob")
    page.get_by_role("link", name="1 rejected rows of sales.csv").click()
    expect(page.locator("h1")).to_have_text("Rejected rows of sales.csv")
    expect(page.locator("table.rejects")).to_contain_text("broken,row")
    _shot(page, "rejects")


# -- dataset page --------------------------------------------------------------------------------


def _choose(row, column: str, op: str | None = None, value: str | None = None) -> None:
    row.locator(".pick-column").select_option(column)
    if op:
        row.locator(".pick-op").select_option(op)
    if value is not None:
        row.locator(".filter-value").fill(value)


def test_explorer_filters_sorts_pages_and_keeps_the_query_in_the_url(
    signed_in, world: World
) -> None:
    expect = _expect()
    source = _rows(_sales_csv(60))
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 1{DASH}60 of 60.")

    page.click("#add-filter")
    _choose(page.locator(".filter-row").last, "amount", "gte", "100")
    page.click("#add-sort")
    page.locator(".sort-row").last.locator(".pick-column").select_option("region")
    page.click("#add-sort")
    sort_row = page.locator(".sort-row").last
    sort_row.locator(".pick-column").select_option("amount")
    sort_row.locator(".pick-direction").select_option("desc")
    page.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(f"{page.url.split('?')[0]}?amount=gte:100&sort=region,amount:desc")
    matching = [r for r in source[1:] if Decimal(r[2]) >= 100]
    expected = sorted(matching, key=lambda r: Decimal(r[2]), reverse=True)
    expected = sorted(expected, key=lambda r: (r[3] == "", r[3]))  # stable: empty region last
    expect(page.locator("#result-summary")).to_contain_text(f"of {len(matching)} matching")
    shown = _table_rows(page)
    assert [r[0] for r in shown] == [r[0] for r in expected]
    assert (
        page.locator("#curl-text")
        .text_content()
        .endswith("/api/v1/datasets/sales/rows/?amount=gte:100&sort=region,amount:desc'")
    )

    # A header click sorts by that column; the URL follows and a reload shows the same view.
    page.locator('#rows-table button[data-column="id"]').click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?amount=gte:100&sort=id")
    expect(page.locator("#rows-table tbody tr").first.locator("td").nth(1)).to_have_text(
        min((r[0] for r in matching), key=int)
    )
    page.locator('#rows-table button[data-column="id"]').click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?amount=gte:100&sort=id:desc")
    page.reload()
    expect(page.locator("#result-summary")).to_contain_text(f"of {len(matching)} matching")
    assert [r[0] for r in _table_rows(page)] == sorted((r[0] for r in matching), key=int)[::-1]
    assert page.locator(".filter-row .filter-value").input_value() == "100"

    # Pages of 25 follow the API's cursors.
    page.locator("#page-size").select_option("25")
    page.locator(".filter-row button").click()  # remove the filter: all 60 rows
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 1{DASH}25 of 60.")
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 26{DASH}50 of 60.")
    assert "cursor=" in page.url
    assert _table_rows(page)[0][0] == "35"  # 60 down to 36 on page 1, sorted by id desc
    page.get_by_role("button", name="← Previous").click()
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 1{DASH}25 of 60.")
    page.go_back()
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 26{DASH}50 of 60.")


def test_explorer_reads_the_url_with_the_api_grammar_and_its_operator_table(
    signed_in, world: World
) -> None:
    """The page's filters come from the grammar table the API parses with: a name the API finds
    ambiguous, or an operator it does not read (`GT:`), is the API's 400 on the page too."""
    expect = _expect()
    _ingested(world.acme, "people.csv", "Name,name,Unit Price\nAda,ada,1.50\nBob,bob,2.00\n")
    page = signed_in("bob")

    page.goto("/datasets/people/?NAME=like:a")
    expect(page.locator("#query-error")).to_contain_text("matches several columns (name, name_2)")
    assert page.locator(".filter-row .pick-column").input_value() == "NAME"

    page.goto("/datasets/people/?Unit%20Price=GT:1")
    expect(page.locator("#query-error")).to_contain_text("Unknown operator 'GT'")

    page.goto("/datasets/people/?unit%20PRICE=gt:1.75")
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 1{DASH}1 of 1 matching.")
    assert page.locator(".filter-row .pick-column").input_value() == "unit_price"
    menu = page.eval_on_selector_all(
        ".filter-row .pick-op option", "options => options.map(o => [o.value, o.title, o.text])"
    )
    declared = [
        [op.name.value, op.description, op.words]
        for op in FILTER_OPERATORS
        if ColumnType.DECIMAL in op.column_types
    ]
    assert menu == declared
    assert page.locator(".filter-row .pick-op").input_value() == "gt"


def test_export_of_the_current_view_matches_the_source(signed_in, world: World) -> None:
    expect = _expect()
    text = _sales_csv(60)
    source = _rows(text)
    _ingested(world.acme, "sales.csv", text)
    page = signed_in("bob")

    with page.expect_download() as everything:
        page.get_by_role("link", name="Download sales as CSV").click()
    assert Path(everything.value.path()).read_text() == text

    page.goto("/datasets/sales/?region=north&sort=amount:desc")
    expect(page.locator("#result-summary")).to_contain_text("of 12 matching")
    with page.expect_download() as view:
        page.get_by_role("link", name="Export this view as CSV").click()
    exported = _rows(Path(view.value.path()).read_text())
    north = [r for r in source[1:] if r[3] == "north"]
    assert exported[0] == source[0]
    assert exported[1:] == sorted(north, key=lambda r: Decimal(r[2]), reverse=True)
    _shot(page, "dataset")


def test_csv_downloads_of_the_ui_are_spreadsheet_safe(signed_in, world: World) -> None:
    expect = _expect()
    formula = '=HYPERLINK("http://evil.example/","Click me")'
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["name", "note"], ["ada", formula]])
    _ingested(world.acme, "notes.csv", out.getvalue())
    page = signed_in("bob")

    page.goto("/datasets/notes/")
    expect(page.locator("#result-summary")).to_contain_text(f"Rows 1{DASH}1 of 1.")
    for link in ("Download all as CSV", "Export this view as CSV"):
        with page.expect_download() as download:
            page.get_by_role("link", name=link).click()
        assert _rows(Path(download.value.path()).read_text()) == [
            ["name", "note"],
            ["ada", "'" + formula],
        ]


def test_charts_draw_a_time_series_and_a_histogram(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(200))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    series = page.locator("#timeseries-chart svg")
    expect(series).to_be_visible()
    expect(series.locator(".axis-title").first).to_have_text("sold_at (UTC), per day")
    assert series.locator("circle.dot").count() > 10
    bars = page.locator("#histogram-chart svg rect.bar")
    expect(bars.first).to_be_visible()
    total = sum(
        int(t.split(": ")[1].split(" ")[0].replace(",", ""))
        for t in bars.locator("title").all_text_contents()
    )
    assert total == 200

    page.locator("#ts-metric").select_option("count")
    page.locator("#ts-bucket").select_option("month")
    expect(series.locator(".axis-title").first).to_have_text("sold_at (UTC), per month")
    expect(series.locator("circle.dot")).to_have_count(6)
    counts = [int(t.split(": ")[1]) for t in series.locator("circle title").all_text_contents()]
    assert sum(counts) == 200
    page.locator("#charts").scroll_into_view_if_needed()
    _shot(page, "dataset-charts", full_page=False)


# -- organizations, tokens, members --------------------------------------------------------------


def test_another_organization_sees_nothing(signed_in, world: World) -> None:
    expect = _expect()
    sales = _ingested(world.acme, "sales.csv", _sales_csv(5))
    page = signed_in("mallory")
    expect(page.locator("td.empty")).to_contain_text("No files yet")
    assert "sales" not in page.content()
    assert page.goto("/datasets/sales/").status == 404
    assert page.goto(f"/uploads/{sales.id}/rejects/").status == 404
    assert page.request.get("/api/v1/datasets/sales/rows/").status == 404
    assert page.request.get(f"/api/v1/uploads/{sales.id}/file").status == 404


def test_tokens_create_copy_once_and_revoke(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("alice")
    page.get_by_role("link", name="API tokens").click()
    page.fill("#token-name", "nightly import")
    page.locator("#token-role").select_option("editor")
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("#token-secret")
    expect(secret).to_have_value(re.compile(r"^csvhub_\w+_\w+"))
    text = secret.input_value()
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("#copy-token-done")).not_to_be_empty()
    row = page.locator("#token-table tr", has_text="nightly import")
    expect(row).to_contain_text("active")
    _shot(page, "tokens")
    assert page.request.get("/api/v1/datasets/", headers={"Authorization": f"Bearer {text}"}).ok

    page.get_by_role("button", name="Done, hide it").click()
    expect(page.locator("#token-created")).to_be_hidden()
    row.get_by_role("button", name="Revoke nightly import").click()
    page.locator("dialog.confirm").get_by_role("button", name="Revoke token").click()
    expect(row).to_contain_text("revoked")
    assert ApiToken.objects.get(name="nightly import").revoked_at is not None


def test_members_invite_accept_change_role_and_remove(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("alice")
    page.get_by_role("link", name="Members").click()
    for invited in ("dave@example.com", "mallory"):
        page.fill("#invite-user", invited)
        page.locator("#invite-role").select_option("editor")
        page.get_by_role("button", name="Invite").click()
        expect(page.locator("#member-status")).to_contain_text(f"Invited {invited} as editor.")
    pending = page.locator("#invitation-table")
    expect(pending).to_contain_text("dave@example.com")
    expect(pending).to_contain_text("mallory")
    expect(page.locator("#member-table")).not_to_contain_text("mallory")
    _shot(page, "members")

    page.get_by_role("button", name="Revoke the invitation of dave@example.com").click()
    page.locator("dialog.confirm").get_by_role("button", name="Revoke invitation").click()
    expect(pending).not_to_contain_text("dave@example.com")

    invitee = signed_in("mallory")
    invitee.get_by_role("link", name="Invitations").click()
    expect(invitee.locator("#invitation-table")).to_contain_text("Acme")
    _shot(invitee, "invitations")
    invitee.get_by_role("button", name="Accept the invitation to Acme").click()
    expect(invitee.locator(".messages")).to_contain_text("You joined Acme as editor.")
    membership = Membership.objects.get(user=world.mallory, organization=world.acme)

    page.reload()
    expect(pending).to_contain_text("No invitation is waiting")
    page.get_by_label("Role of mallory").select_option("viewer")
    expect(page.locator("#member-status")).to_contain_text("is now viewer")
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER

    page.get_by_role("button", name="Remove mallory").click()
    page.locator("dialog.confirm").get_by_role("button", name="Remove member").click()
    expect(page.locator("#member-table")).not_to_contain_text("mallory")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_sign_in_page(browser, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=server)
    page = context.new_page()
    page.goto("/")
    assert page.url.startswith(f"{server}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    _expect()(page.locator("p.error")).to_be_visible()
    _shot(page, "sign-in", full_page=False)
    context.close()


def test_api_docs_render_swagger_ui_from_our_own_origin(signed_in, server: str) -> None:
    page = signed_in("bob")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs/")
    _expect()(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert requested and all(url.startswith(server) for url in requested), requested
    # Console errors from the Content-Security-Policy fail the test in `signed_in`.


def test_an_abort_while_the_answer_arrives_stays_an_abort(signed_in) -> None:
    """A newer query aborts the one under way; an abort that lands after the headers, while
    the body is read, must reach the caller as an abort (which it ignores), not as a page of
    nothing that the explorer shows as an error until the newer answer replaces it."""
    page = signed_in("carol")
    outcome = page.evaluate(
        """async () => {
          const controller = new AbortController();
          const realFetch = window.fetch;
          window.fetch = async (...args) => {
            const response = await realFetch(...args);
            controller.abort();  // the headers are in, the body is not read yet
            return response;
          };
          try {
            const data = await csvhub.api("/api/v1/datasets/", { signal: controller.signal });
            return `returned ${JSON.stringify(data)}`;
          } catch (error) {
            return error.name;
          } finally {
            window.fetch = realFetch;
          }
        }"""
    )
    assert outcome == "AbortError"
