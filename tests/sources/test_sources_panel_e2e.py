"""The dataset page's Sources panel in a real headless Chromium: add a URL source with the
schedule helper, run it now, see its state and run history; the upload page's replace choice.
Reuses the browser fixtures of tests/web/test_web_e2e.py (skips without Chromium)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from csvhub.datasets.models import Dataset
from csvhub.sources.models import Run, RunState
from tests.accounts.actors import World
from tests.sources.feeds import Feed
from tests.sources.helpers import CSV_V1
from tests.web.chromium import _expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("loopback_allowed")]


def _runs_finished(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Run.objects.filter(state=RunState.RUNNING).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_add_a_source_run_it_and_see_its_history(signed_in, feeds, world: World) -> None:
    expect = _expect()
    Dataset.objects.create(organization=world.acme, name="feed", slug="feed")
    feeds.feeds["/daily.csv"] = Feed(body=CSV_V1)
    page = signed_in("carol")
    page.goto("/datasets/feed/")
    panel = page.locator("#sources")
    expect(panel.locator("#sources-table tbody")).to_contain_text("No sources yet.")
    panel.locator("summary").click()
    page.fill('#source-form input[name="url"]', feeds.url("/daily.csv"))
    page.select_option('#source-form select[name="preset"]', "0 * * * *")
    expect(page.locator('#source-form input[name="cron"]')).to_have_value("0 * * * *")
    page.click('#source-form button[type="submit"]')
    row = panel.locator("#sources-table tbody tr").first
    expect(row).to_contain_text("Every hour")
    row.get_by_role("button", name="Run").first.click()
    expect(panel.locator("#sources-status")).to_contain_text("Run started.")
    _runs_finished()
    row.get_by_role("button", name="History").click()
    history = panel.locator("#source-runs tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("succeeded")
    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("paused")
    assert not page.js_errors


def test_viewer_sees_no_sources_panel(signed_in, world: World) -> None:
    Dataset.objects.create(organization=world.acme, name="feed", slug="feed")
    page = signed_in("bob")
    page.goto("/datasets/feed/")
    assert page.locator("#sources").count() == 0


def test_upload_page_replaces_a_dataset(signed_in, tmp_path: Path, world: World) -> None:
    from tests.datasets.pipeline import upload

    expect = _expect()
    upload(world.acme, "sales.csv", "id,amount\n1,10\n2,20\n3,30\n")
    page = signed_in("carol")
    page.goto("/upload/?dataset=sales")
    page.check('input[name="destination"][value="replace"]')
    corrected = tmp_path / "sales.csv"
    corrected.write_text("id,amount\n1,11\n")
    page.set_input_files("#file-input", [str(corrected)])
    expect(page.locator('.upload-item[data-state="succeeded"]')).to_have_count(1)
    dataset = Dataset.objects.get(slug="sales")
    assert dataset.row_count == 1 and Dataset.objects.count() == 1
