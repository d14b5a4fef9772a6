"""Cleaning on the server-rendered pages: the dataset page says how an upload widened a
column, with the way back; the Clean page is for editors, and lists the text columns."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from csvhub.cleaning.services import reading_rules_set
from csvhub.datasets import services
from tests.accounts.actors import World

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(world: World, text: str, dataset: str | None = None):
    (job,) = services.uploads_create(
        organization=world.acme,
        files=[ContentFile(text.encode(), name="t.csv")],
        dataset_slug=dataset,
    )
    job.refresh_from_db()
    return job


def test_dataset_page_says_which_value_widened_a_column(world: World, client_as) -> None:
    first = _upload(world, "city,temperature\nOslo,3.5\n")
    reading_rules_set(dataset=first.dataset, changes={"null_tokens": []})
    _upload(world, "city,temperature\nRome,n/a\n", dataset=first.dataset.slug)

    html = client_as("bob").get(f"/datasets/{first.dataset.slug}/").content.decode()
    assert "temperature changed from decimal to text because of line 2: &#x27;n/a&#x27;." in html
    assert "take this upload back, set a reading rule" in html


def test_clean_page_is_for_editors_and_lists_text_columns(world: World, client_as) -> None:
    job = _upload(world, "city,temperature\nOslo,3.5\n")
    url = f"/datasets/{job.dataset.slug}/clean/"
    assert "needs the editor role" in client_as("bob").get(url).content.decode()
    html = client_as("carol").get(url).content.decode()
    assert '<option value="city">city</option>' in html
    assert '<option value="temperature">' not in html
