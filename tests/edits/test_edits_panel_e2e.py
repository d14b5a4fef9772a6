"""The dataset page's "Edit matching rows" panel in a real headless Chromium: on the explorer's
filter, choose a column and an action, see the preview, confirm, see the history, undo.
Reuses the browser fixtures of tests/web (skips without Chromium)."""

from __future__ import annotations

import pytest

from csvhub.datasets.models import Dataset
from tests.accounts.actors import World
from tests.web.chromium import _expect, _ingested

pytestmark = pytest.mark.django_db(transaction=True)

SALES = "id,amount,region\n1,10.50,north\n2,20.25,south\n3,30.00,east\n"


def _regions(dataset: Dataset) -> list[str]:
    from csvhub.warehouse.edits import EditTarget, edit_preview
    from csvhub.warehouse.query import RowSet

    dataset.refresh_from_db()
    rows = RowSet(dataset.table_name, dataset.schema.columns)
    found = edit_preview(EditTarget(rows), samples=10)
    return [sample.before["region"] for sample in found.samples]


def test_edit_matching_rows_then_undo(signed_in, world: World) -> None:
    expect = _expect()
    dataset = Dataset.objects.get(pk=_ingested(world.acme, "sales.csv", SALES).dataset_id)
    page = signed_in("carol")
    page.goto(f"/datasets/{dataset.slug}/?id=lte:2")
    panel = page.locator("#edits")
    expect(panel.locator("#edit-selection")).to_contain_text("id=lte:2")
    page.select_option("#edit-action", "set")
    page.select_option("#edit-column", "region")
    page.fill("#edit-value", "west")
    page.click("#edit-preview")
    expect(panel.locator("#edit-count")).to_contain_text("2 rows would change")
    expect(panel.locator("#edit-samples tbody tr")).to_have_count(2)
    expect(panel.locator("#edit-samples tbody tr").first).to_contain_text("region: west")
    assert _regions(dataset) == ["north", "south", "east"]  # the preview changed nothing
    page.click("#edit-confirm")
    expect(panel.locator("#edit-progress")).to_contain_text("Done: 2 rows")
    history = panel.locator("#edit-history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("set region")
    assert _regions(dataset) == ["west", "west", "east"]
    history.first.get_by_role("button", name="Undo").click()
    expect(panel.locator("#edit-progress")).to_contain_text("Undone: 2 rows")
    expect(history).to_have_count(2)
    assert _regions(dataset) == ["north", "south", "east"]
    assert not page.js_errors


def test_a_bad_value_is_explained_and_nothing_changes(signed_in, world: World) -> None:
    expect = _expect()
    dataset = Dataset.objects.get(pk=_ingested(world.acme, "sales.csv", SALES).dataset_id)
    page = signed_in("carol")
    page.goto(f"/datasets/{dataset.slug}/")
    page.select_option("#edit-action", "multiply")
    page.select_option("#edit-column", "amount")
    page.fill("#edit-value", "lots")
    page.click("#edit-preview")
    expect(page.locator("#edit-error")).to_contain_text("not a valid value")
    assert _regions(dataset) == ["north", "south", "east"]


def test_viewer_sees_no_edit_panel(signed_in, world: World) -> None:
    dataset = Dataset.objects.get(pk=_ingested(world.acme, "sales.csv", SALES).dataset_id)
    page = signed_in("bob")
    page.goto(f"/datasets/{dataset.slug}/")
    assert page.locator("#edits").count() == 0


def test_a_preview_of_one_row_says_row(signed_in, world: World) -> None:
    dataset = Dataset.objects.get(pk=_ingested(world.acme, "sales.csv", SALES).dataset_id)
    page = signed_in("carol")
    page.goto(f"/datasets/{dataset.slug}/?id=lte:1")
    page.select_option("#edit-action", "upper")
    page.select_option("#edit-column", "region")
    page.click("#edit-preview")
    _expect()(page.locator("#edit-count")).to_have_text("1 row would change.")
