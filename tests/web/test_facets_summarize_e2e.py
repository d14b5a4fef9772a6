"""End-to-end tests (headless Chromium) of the dataset page's facets and Summarize panel, and of
the charts' split by a category (issue 19, third part)."""

# The browser's fixtures are registered in conftest.py (from tests.web.chromium).

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.accounts.actors import World
from tests.web.chromium import _expect, _ingested, _sales_csv, _shot

pytestmark = pytest.mark.django_db(transaction=True)


def _facet(page, column: str):
    return page.locator(f'#facet-list section.facet[data-column="{column}"]')


def test_facets_count_values_and_a_click_adds_the_filter(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))  # regions north..west and empty, 12 each
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    expect(page.locator("#result-summary")).to_contain_text("of 60.")
    page.get_by_label("Add a facet").select_option("region")
    region = _facet(page, "region")
    expect(region).to_contain_text("north")
    expect(region.locator("li").first).to_contain_text("12")
    assert "#facets=region" in page.url
    page.get_by_label("Add a facet").select_option("client")
    expect(_facet(page, "client")).to_contain_text("Client, 0")
    _shot(page, "dataset-facets", full_page=False)
    # A click on a value adds its filter; the counts follow the rows shown.
    region.get_by_role("button", name="north").click()
    expect(page.locator("#result-summary")).to_contain_text("of 12 matching.")
    assert "region=north" in page.url and "#facets=region,client" in page.url
    expect(_facet(page, "region").locator("li")).to_have_count(1)
    client_total = sum(
        int(text.strip("≈").replace(",", ""))
        for text in _facet(page, "client").locator(".facet-count").all_inner_texts()
    )
    assert client_total == 12
    # The search narrows them too; the empty value is a facet value that filters empty cells.
    page.get_by_role("button", name="Reset").click()
    expect(page.locator("#result-summary")).to_contain_text("of 60.")
    _facet(page, "region").locator("button.facet-value[data-null='1']").click()
    expect(page.locator("#result-summary")).to_contain_text("of 12 matching.")
    assert "region=" in page.url
    # The facets chosen are in the fragment: a shared link opens with them.
    page.goto(page.url.split("?")[0] + "#facets=client")
    expect(_facet(page, "client")).to_be_visible()
    expect(_facet(page, "region")).to_have_count(0)
    _facet(page, "client").get_by_role("button", name="Remove the client facet").click()
    expect(_facet(page, "client")).to_have_count(0)
    assert "facets=" not in page.url


def test_facets_of_a_large_table_say_they_are_approximate(
    signed_in, world: World, settings
) -> None:
    expect = _expect()
    # 100 rows of one sensor and 50 others seen once: more values than the summary keeps.
    lines = ["sensor,reading"] + [f"s-main,{i}" for i in range(100)]
    lines += [f"s-{i:02d},{i}" for i in range(50)]
    _ingested(world.acme, "sensors.csv", "\n".join(lines) + "\n")
    settings.CSVHUB_FACET_SCAN_MAX_ROWS = 10  # as if the table were large
    page = signed_in("bob")
    page.goto("/datasets/sensors/#facets=sensor,reading")
    sensor = _facet(page, "sensor")
    expect(sensor).to_contain_text("s-main")
    expect(sensor).to_contain_text("Approximate: each count may be up to")
    expect(sensor.locator(".facet-count").first).to_contain_text("≈")
    expect(_facet(page, "reading")).to_contain_text("no top values are kept")
    _shot(page, "dataset-facets-approximate", full_page=False)
    # A search narrows the rows: those are counted, exactly.
    page.get_by_label("Search the text columns").fill("main")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#result-summary")).to_contain_text("of 100 matching.")
    expect(sensor).not_to_contain_text("Approximate")
    expect(sensor.locator(".facet-count")).to_have_text(["100"])


def test_panels_whose_script_arrives_after_the_first_rows_still_work(
    signed_in, world: World
) -> None:
    # Under load the rows' answer came before summarize.js had run, which then never learned the
    # explorer's filters: its Summarize button did nothing (a CI failure). The panels' scripts
    # are held here until the rows are shown, then let through.
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    held: list = []

    def hold(route) -> None:
        held.append(route)

    page.route(re.compile(r"/csvhub/summarize\.[0-9a-f]{12}\.js$"), hold)
    page.route(re.compile(r"/csvhub/facets\.[0-9a-f]{12}\.js$"), hold)
    page.goto("/datasets/sales/#facets=region&sum=count&by=region", wait_until="commit")
    expect(page.locator("#result-summary")).to_contain_text("of 60.")
    assert len(held) == 2, "the panels' scripts were not held"
    for route in held:
        route.continue_()
    expect(_facet(page, "region")).to_contain_text("north")
    _summary_says(page, "5 groups")  # the summary the address names, opened late
    panel = page.locator("#summarize")
    expect(panel.get_by_label("Measure")).not_to_have_text("")  # its script has run
    panel.get_by_label("Measure").select_option(label="Number of")
    panel.get_by_label("grouped by").select_option("client")
    panel.get_by_role("button", name="Summarize").click()
    _summary_says(page, "7 groups")  # "Client, 0" to "Client, 6"


def _summary_rows(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#summarize-table tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))",
    )


def test_summarize_groups_sorts_charts_and_exports(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/")
    expect(page.locator("#result-summary")).to_contain_text("of 60.")
    panel = page.locator("#summarize")
    panel.get_by_label("Measure").select_option(label="Number of")
    panel.get_by_label("grouped by").select_option("region")
    panel.get_by_role("button", name="Summarize").click()
    _summary_says(page, "5 groups")
    rows = _summary_rows(page)
    assert sorted(rows) == sorted(
        [["north", "12"], ["south", "12"], ["east", "12"], ["west", "12"], ["empty", "12"]]
    )
    expect(page.locator("#summarize-chart .summary-bar")).to_have_count(5)
    assert "sum=count" in page.url and "by=region" in page.url
    # Average of a decimal by two columns; the explorer's filters apply.
    panel.get_by_label("Measure").select_option(label="Average")
    panel.get_by_label("of", exact=True).select_option("amount")
    panel.get_by_label("then by").select_option("client")
    page.get_by_label("Search the text columns").fill("north")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#result-summary")).to_contain_text("of 12 matching.")
    panel.get_by_role("button", name="Summarize").click()
    expect(page.locator("#summarize-table thead")).to_contain_text("Average amount")
    rows = _summary_rows(page)
    assert {row[0] for row in rows} == {"north"} and len(rows) > 1
    averages = [float(row[2].replace(",", "")) for row in rows]
    assert averages == sorted(averages, reverse=True)  # largest first by default
    # A header click sorts: by the measure, ascending now.
    page.locator("#summarize-table thead button[data-sort='value']").click()
    expect(page.locator("#summarize-table thead th[aria-sort='ascending']")).to_have_count(1)
    averages = [float(r[2].replace(",", "")) for r in _summary_rows(page)]
    assert averages == sorted(averages)
    assert "order=value:asc" in page.url
    _shot(page, "dataset-summarize", full_page=False)
    # The CSV holds the raw values shown, with a header line.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "region,client,Average amount"
    assert len(text.splitlines()) == len(rows) + 1
    # The address holds the summary: opened again, it is made again.
    page.goto(page.url)
    _summary_says(page, f"{len(rows)} groups")
    assert panel.get_by_label("then by").input_value() == "client"


def test_summarize_by_time_bucket(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/#sum=sum:amount&by=sold_at&per=month")
    _summary_says(page, "6 groups")
    firsts = [r[0] for r in _summary_rows(page)][:2]
    assert firsts[0].startswith("2024-01-01") and firsts[1].startswith("2024-02-01"), firsts
    expect(page.get_by_label("then by")).to_be_disabled()


def test_time_chart_splits_by_a_category_with_a_legend(signed_in, world: World) -> None:
    expect = _expect()
    # 12 sensors: the 10 commonest get a line each, the rest one "other" line.
    lines = ["at,sensor,reading"]
    for day in range(1, 11):
        for sensor in range(12):
            for _ in range(1 + (11 - sensor)):  # s00 commonest, s11 rarest
                lines.append(f"2024-03-{day:02d} 10:00:00,s{sensor:02d},{day}")
    _ingested(world.acme, "sensors.csv", "\n".join(lines) + "\n")
    page = signed_in("bob")
    page.goto("/datasets/sensors/")
    chart = page.locator("#timeseries-chart")
    expect(chart.locator("path.line")).to_have_count(1)
    page.get_by_label("Split by").select_option("sensor")
    expect(chart.locator(".legend li")).to_have_count(11)
    legend = chart.locator(".legend li").all_inner_texts()
    assert legend[0] == "s00" and legend[-1] == "other", legend
    expect(chart.locator("path.line")).to_have_count(11)
    # Points show their series, time and value on hover (s00: 12 rows a day).
    first = chart.locator("circle.dot.series-0").first
    assert first.locator("title").text_content() == "s00, 2024-03-01 10:00 UTC: 12"
    other = chart.locator("circle.dot.series-10").first
    assert other.locator("title").text_content() == "other, 2024-03-01 10:00 UTC: 3"  # 2 + 1
    expect(page.locator("#timeseries-note")).to_contain_text('"other"')
    _shot(page, "dataset-chart-split", full_page=False)
    # The explorer's search narrows every line.
    page.get_by_label("Search the text columns").fill("s03")
    page.get_by_role("button", name="Apply").click()
    expect(chart.locator(".legend li")).to_have_count(1)


def test_averages_show_the_same_digits_in_every_group(signed_in, world: World) -> None:
    """An average of a scale-2 column shows 4 digits in every group, so the points line up."""
    _ingested(world.acme, "sales.csv", _sales_csv(60))
    page = signed_in("bob")
    page.goto("/datasets/sales/#sum=avg:amount&by=region")
    _summary_says(page, "5 groups")
    averages = [row[-1] for row in _summary_rows(page)]
    assert all(len(value.split(".")[1]) == 4 for value in averages), averages


def _summary_says(page, words: str) -> None:
    """The Summarize panel's status holds `words`; if it never does, the failure says what the
    panel showed instead (its error, whether its request was still running)."""
    try:
        _expect()(page.locator("#summarize-status")).to_contain_text(words)
    except AssertionError as failed:
        error = page.locator("#summarize-error")
        shown = error.inner_text() if error.is_visible() else "(no error shown)"
        busy = page.locator("#summarize").get_attribute("aria-busy")
        raise AssertionError(f"{failed}\nSummarize error: {shown}; aria-busy: {busy}") from None
