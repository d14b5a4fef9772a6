"""A failed first upload leaves a dataset shown as failed, with its reason, 0 rows loaded and a
one-click discard; discarding never removes a dataset that holds rows or is loading."""

from __future__ import annotations

import re

import pytest

from csvhub.datasets.models import Dataset, Upload, UploadState
from csvhub.warehouse.tables import table_exists
from tests.accounts.actors import World
from tests.web.conftest import SALES

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + bytes(64)


def _upload_cells(html: str, upload: Upload) -> str:
    """The table row of one upload."""
    match = re.search(rf'<tr class="upload-row" data-upload-id="{upload.id}".*?</tr>', html, re.S)
    assert match, f"no row for {upload.original_name}"
    return match.group(0)


def _rows_loaded_cell(row: str) -> str:
    match = re.search(r'data-field="rows_loaded">([^<]*)</td>', row)
    assert match
    return match.group(1)


def test_a_failed_first_upload_shows_failed_with_a_discard_button(
    world: World, client_as, uploaded
) -> None:
    job = uploaded(world.acme, "not_a_csv.png", PNG)
    assert job.state == UploadState.FAILED

    html = client_as("carol").get("/").content.decode()
    row = _upload_cells(html, job)
    assert "Failed" in row
    assert _rows_loaded_cell(row) == "0"
    assert 'action="/datasets/not_a_csvpng/discard/"' in html
    viewer = client_as("bob").get("/").content.decode()
    assert "/discard/" not in viewer
    page = client_as("carol").get("/datasets/not_a_csvpng/").content.decode()
    assert 'action="/datasets/not_a_csvpng/discard/"' in page


def test_discard_removes_the_dataset_its_table_and_files_in_one_click(
    world: World, client_as, uploaded
) -> None:
    job = uploaded(world.acme, "not_a_csv.png", PNG)
    dataset = job.dataset
    storage, name = job.file.storage, job.file.name

    response = client_as("carol").post("/datasets/not_a_csvpng/discard/", {"next": "/?q=x"})

    assert (response.status_code, response["Location"]) == (302, "/?q=x")
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Upload.objects.filter(pk=job.pk).exists()
    assert not storage.exists(name)
    assert not table_exists(table_name=dataset.table_name)


def test_discard_from_the_refreshed_table_returns_to_the_files_page(
    world: World, client_as, uploaded
) -> None:
    # The files page swaps in /files/table/ while uploads run; its Discard must not send the
    # browser back to that bare fragment.
    uploaded(world.acme, "not_a_csv.png", PNG)

    fragment = client_as("carol").get("/files/table/", {"q": "not"}).content.decode()

    match = re.search(
        r'action="/datasets/not_a_csvpng/discard/".*?name="next" value="([^"]*)"', fragment, re.S
    )
    assert match
    assert match.group(1).replace("&amp;", "&") == "/?sort=-updated&q=not"


def test_discard_refuses_a_dataset_with_rows_or_a_live_upload(
    world: World, client_as, uploaded
) -> None:
    good = uploaded(world.acme, "sales.csv", SALES)
    uploaded(world.acme, "sales.png", PNG, dataset="sales")  # a failed append: rows remain
    carol = client_as("carol")

    response = carol.post("/datasets/sales/discard/", follow=True)

    assert Dataset.objects.filter(pk=good.dataset_id).exists()
    assert "only a dataset whose uploads all failed can be discarded" in response.content.decode()
    html = carol.get("/").content.decode()
    assert "/datasets/sales/discard/" not in html

    failed = uploaded(world.acme, "again.png", PNG)
    Upload.objects.create(dataset=failed.dataset, original_name="late.csv")  # queued now
    carol.post(f"/datasets/{failed.dataset.slug}/discard/")
    assert Dataset.objects.filter(pk=failed.dataset_id).exists()


def test_viewer_cannot_discard(world: World, client_as, uploaded) -> None:
    job = uploaded(world.acme, "not_a_csv.png", PNG)
    assert client_as("bob").post("/datasets/not_a_csvpng/discard/").status_code == 403
    assert client_as("mallory").post("/datasets/not_a_csvpng/discard/").status_code == 404
    assert Dataset.objects.filter(pk=job.dataset_id).exists()


def test_a_failed_upload_shows_0_rows_loaded_whatever_its_progress_said(
    world: World, client_as, uploaded
) -> None:
    good = uploaded(world.acme, "sales.csv", SALES)
    # A failure recorded before rows_loaded was reset on failure: its staged rows' count.
    stale = Upload.objects.create(
        dataset=good.dataset, original_name="old.csv", state=UploadState.FAILED, rows_loaded=43
    )
    bob = client_as("bob")
    for page in ("/", "/datasets/sales/"):
        html = bob.get(page).content.decode()
        assert _rows_loaded_cell(_upload_cells(html, stale)) == "0"
        assert _rows_loaded_cell(_upload_cells(html, good)) == "3"
