"""End-to-end tests (headless Chromium) of the files table's reading aids and the upload page's
two phases (issue 19, "Files")."""

# The browser's fixtures are registered in conftest.py (from tests.web.chromium).

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings

from tests.accounts.actors import World
from tests.datasets.pipeline import upload
from tests.web.chromium import INLINE_TASKS, _expect, _ingested, _sales_csv, _shot

pytestmark = pytest.mark.django_db(transaction=True)

NOT_CSV = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
LONG_NAME = "readings_2024-01_station-north_final.csv"


def test_files_table_is_compact_and_says_warnings_and_failures(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, LONG_NAME, "level\n1\n2\n")
    _ingested(
        world.acme, "more.csv", "level\n1.25\n", dataset="readings_2024-01_station-north_final"
    )
    with override_settings(TASKS=INLINE_TASKS):
        failed = upload(world.acme, "photo.png", NOT_CSV)
    failed.refresh_from_db()
    assert failed.state == "failed"
    page = signed_in("carol")
    page.goto("/?sort=name")
    table = page.locator("#files-table")
    # Relative times, the exact time on hover.
    created = table.locator("tbody.dataset .dataset-row td.created time").first
    expect(created).to_have_text("just now")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", created.get_attribute("title"))
    # A widened column: a success worth a look.
    widened = table.locator('tr.upload-row[data-upload-id] >> text="Succeeded with a warning"')
    expect(widened).to_have_count(1)
    expect(table).to_contain_text("Widened level (integer → decimal)")
    # A failure is one line; its whole message opens on demand.
    failure = table.locator("details.failure")
    expect(failure).to_have_count(1)
    assert failure.evaluate("d => d.querySelector('summary').getBoundingClientRect().height") < 30
    expect(failure.locator("p.error")).to_be_hidden()
    failure.locator("summary").click()
    expect(failure.locator("p.error")).to_be_visible()
    # Long names break at their parts, never mid-word.
    name = table.locator("th.name a", has_text="readings")
    assert name.evaluate("a => a.querySelectorAll('wbr').length") >= 4
    assert name.inner_text().replace("\n", "") == "readings_2024-01_station-north_final"
    # Sizes as the scripts write them: bytes, then KB with one decimal under 10.
    sizes = table.locator('td[data-label="Size"]').all_inner_texts()
    assert all(re.fullmatch(r"\d+ bytes|\d\.\d KB|\d+ KB", s) for s in sizes), sizes
    _shot(page, "files-compact", full_page=False)


def test_shift_space_selects_a_range_from_the_keyboard(signed_in, world: World) -> None:
    expect = _expect()
    for name in ("alpha", "beta", "gamma", "delta"):
        _ingested(world.acme, f"{name}.csv", f"{name}\n1\n")
    page = signed_in("carol")
    page.goto("/?sort=name")
    boxes = page.locator('.pick-box[data-kind="dataset"]')
    boxes.nth(0).focus()
    page.keyboard.press("Space")
    boxes.nth(3).focus()
    page.keyboard.press("Shift+Space")
    expect(page.locator("#selection-count")).to_contain_text("4 chosen")


def test_upload_sends_then_loads_in_two_bars(signed_in, tmp_path: Path, world: World) -> None:
    expect = _expect()
    page = signed_in("carol")
    page.goto("/upload/")
    sales = tmp_path / "sales.csv"
    sales.write_text(_sales_csv(2_000))
    # Every value the bars take, in order: the sending bar never goes back once full.
    page.evaluate(
        """() => {
        window.__bars = [];
        new MutationObserver(() => {
          const item = document.querySelector('.upload-item');
          if (!item) return;
          const s = item.querySelector('.sending-bar').value;
          const l = item.querySelector('.loading-bar').value;
          window.__bars.push([s, l]);
        }).observe(document.getElementById('upload-list') || document.body,
                   {subtree: true, attributes: true, childList: true, characterData: true});
      }"""
    )
    page.set_input_files("#file-input", [str(sales)])
    item = page.locator(".upload-item")
    expect(item).to_have_attribute("data-state", "succeeded")
    phases = item.locator(".upload-phases li")
    expect(phases).to_have_count(2)
    expect(phases.nth(0)).to_contain_text("1. Sending the file")
    expect(phases.nth(1)).to_contain_text("2. Loading its rows")
    assert item.locator(".sending-bar").evaluate("b => b.value") == 100
    assert item.locator(".loading-bar").evaluate("b => b.value") == 100
    seen = page.evaluate("window.__bars")
    full = [i for i, (s, _) in enumerate(seen) if s == 100]
    assert full and all(s == 100 for s, _ in seen[full[0] :]), seen
    assert all(load == 0 for s, load in seen if s < 100), seen
    expect(item).to_contain_text(re.compile(r"\d+(\.\d)? KB"))
