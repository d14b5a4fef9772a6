"""The Clean page in headless Chromium: pick a column, see its clusters, edit the canonical
value and accept (a map step in the recipe), reject another (never suggested again); and the
upload page's reading-rule fields reach the dataset's rules.

The browser, the live server and the signed-in pages are tests.web.chromium's fixtures.
"""

from __future__ import annotations

import pytest

from csvhub.cleaning.models import RecipeVersion, RejectedPair
from csvhub.cleaning.reading import dataset_rules
from csvhub.datasets.models import Dataset
from tests.accounts.actors import World
from tests.web.chromium import _expect, _ingested

pytestmark = pytest.mark.django_db(transaction=True)

FIRMS = "company,amount\n" + "".join(
    f'"{name}",{n}\n'
    for n, name in enumerate(
        ["Acme Inc"] * 3 + ["ACME inc", "acme, inc.", "Nova Media", "nova media", "Orion"]
    )
)


def test_clean_page_accepts_an_edited_canonical_and_rejects_a_cluster(
    signed_in, world: World
) -> None:
    expect = _expect()
    job = _ingested(world.acme, "firms.csv", FIRMS)
    page = signed_in("carol")
    page.goto(f"/datasets/{job.dataset.slug}/")
    page.get_by_role("link", name="Clean…").click()
    expect(page.locator("#clean-status")).to_contain_text("2 clusters among 6 values")
    clusters = page.locator("li.cluster")
    expect(clusters).to_have_count(2)
    first = clusters.nth(0)
    expect(first.locator("tbody")).to_contain_text("acme, inc.")
    first.get_by_label("Canonical value").fill("ACME Inc.")
    first.get_by_role("button", name="Accept").click()
    expect(first.locator(".cluster-result")).to_contain_text("Added to the recipe (version 1)")
    expect(first.locator(".cluster-result")).to_contain_text("stored rows changed.")
    second = clusters.nth(1)
    second.get_by_role("button", name="Not the same").click()
    expect(second.locator(".cluster-result")).to_contain_text("Not suggested again.")

    (version,) = RecipeVersion.objects.filter(recipe__dataset=job.dataset)
    assert version.steps[0]["values"] == {
        "Acme Inc": "ACME Inc.",
        "ACME inc": "ACME Inc.",
        "acme, inc.": "ACME Inc.",
    }
    assert RejectedPair.objects.filter(dataset=job.dataset).count() == 1
    page.get_by_role("button", name="Find clusters").click()
    # The accepted values are one in the stored rows now; the rejected pair is not suggested.
    expect(page.locator("#clean-status")).to_contain_text("No clusters among 4 values")


def test_upload_page_sends_the_reading_rules(signed_in, world: World, tmp_path) -> None:
    expect = _expect()
    path = tmp_path / "temps.csv"
    path.write_text("day,temperature\n05/01/2024,3.5\n06/01/2024,?\n")
    page = signed_in("carol")
    page.goto("/upload/")
    page.locator("#reading-rules > summary").click()
    page.get_by_label("Null tokens (comma-separated)").fill("?")
    page.get_by_label("Dates like 05/01/2024").select_option("true")
    page.locator("#file-input").set_input_files(str(path))
    expect(page.locator(".upload-item .upload-status")).to_contain_text("Succeeded", timeout=30_000)

    dataset = Dataset.objects.get(slug="temps")
    rules = dataset_rules(dataset).reading
    assert (rules.null_tokens, rules.day_first) == (("?",), True)
    assert {c.name: c.type.value for c in dataset.schema} == {
        "day": "date",
        "temperature": "decimal",
    }
