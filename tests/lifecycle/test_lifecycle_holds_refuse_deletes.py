"""A legal hold refuses deletions asked for by people, through the API and the UI: 409 naming
the hold and how to release it, nothing deleted; once released, the deletion goes through."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from csvhub.datasets import services
from csvhub.datasets.models import Dataset
from csvhub.lifecycle.errors import DatasetBeingDeleted, HeldByLegalHold
from csvhub.lifecycle.models import LegalHold
from csvhub.lifecycle.policies import hold_create
from csvhub.warehouse.tables import table_row_count
from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

CSV = "n,name\n1,a\n2,b\n3,c\n"


@pytest.fixture
def acme():
    return make_org()


@pytest.fixture
def alice(acme):
    """An editor, through the API."""
    return api_client_for(acme, role="editor")


def _refused(answer, hold: LegalHold) -> str:
    assert answer.status_code == 409, answer.content
    message = answer.json()["detail"]
    assert f"legal hold {hold.pk} (matter 12)" in message
    assert f"DELETE /api/v1/holds/{hold.pk}/" in message
    assert "nothing was deleted" in message
    return message


def _rows(dataset: Dataset) -> int:
    dataset.refresh_from_db()
    assert dataset.row_count == table_row_count(table_name=dataset.table_name)
    return dataset.row_count


def test_a_held_dataset_is_not_deleted_until_its_hold_is_released(warehouse, acme, alice):
    dataset = upload(acme, "held.csv", CSV).dataset
    hold = hold_create(organization=acme, dataset=dataset, reason="matter 12")

    message = _refused(alice.delete(f"/api/v1/datasets/{dataset.slug}/"), hold)

    assert f"The dataset {dataset.name} is on legal hold" in message
    assert "it cannot be deleted" in message
    assert _rows(dataset) == 3
    admin = api_client_for(acme, role="admin")
    assert admin.delete(f"/api/v1/holds/{hold.pk}/").status_code == 204
    assert alice.delete(f"/api/v1/datasets/{dataset.slug}/").status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


def test_a_held_upload_keeps_its_rows_and_its_dataset(warehouse, acme, alice):
    first = upload(acme, "held.csv", CSV)
    second = upload(acme, "held.csv", "n,name\n4,d\n", dataset=first.dataset.slug)
    hold = hold_create(organization=acme, upload=second, reason="matter 12")

    taken = _refused(alice.delete(f"/api/v1/uploads/{second.id}/rows"), hold)
    deleted = _refused(alice.delete(f"/api/v1/datasets/{first.dataset.slug}/"), hold)

    assert "its rows cannot be taken back" in taken
    assert f"The upload held.csv ({second.id})" in deleted
    assert "the dataset cannot be deleted" in deleted
    assert _rows(first.dataset) == 4
    # The other upload is not held: its rows can be taken back.
    assert alice.delete(f"/api/v1/uploads/{first.id}/rows").status_code == 201
    assert _rows(first.dataset) == 1


def test_bulk_deletes_are_refused_on_a_held_dataset_and_updates_are_not(warehouse, acme, alice):
    dataset = upload(acme, "held.csv", CSV).dataset
    hold = hold_create(organization=acme, dataset=dataset, reason="matter 12")
    edits = f"/api/v1/datasets/{dataset.slug}/edits/"

    deleting = alice.post(edits, {"filter": "n=gt:1", "action": {"delete": True}}, format="json")

    assert f"rows of {dataset.name} cannot be deleted" in _refused(deleting, hold)
    assert _rows(dataset) == 3
    updating = {"filter": "n=1", "action": {"set": {"name": "z"}}}
    assert alice.post(edits, updating, format="json").status_code == 201


def test_a_bulk_delete_is_refused_when_one_upload_of_the_dataset_is_held(warehouse, acme, alice):
    first = upload(acme, "held.csv", CSV)
    second = upload(acme, "held.csv", "n,name\n4,d\n", dataset=first.dataset.slug)
    hold = hold_create(organization=acme, upload=second, reason="matter 12")
    edits = f"/api/v1/datasets/{first.dataset.slug}/edits/"

    deleting = alice.post(edits, {"action": {"delete": True}}, format="json")

    assert f"The upload held.csv ({second.id})" in _refused(deleting, hold)
    assert _rows(first.dataset) == 4


def test_a_replace_upload_is_refused_on_a_held_dataset(warehouse, acme, alice):
    if warehouse == "mysql":
        pytest.skip("MariaDB/MySQL warehouses refuse mode=replace (no atomic swap)")
    dataset = upload(acme, "held.csv", CSV).dataset
    hold = hold_create(organization=acme, dataset=dataset, reason="matter 12")
    replacing = {
        "file": _file("held.csv", "n,name\n9,z\n"),
        "mode": "replace",
        "dataset": dataset.slug,
    }

    answer = alice.post("/api/v1/uploads/", replacing, format="multipart")

    assert f"the rows of {dataset.name} cannot be replaced" in _refused(answer, hold)
    assert _rows(dataset) == 3
    assert dataset.uploads.count() == 1


def _file(name: str, content: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_the_pages_refuse_deleting_a_held_dataset(warehouse, acme):
    dataset = upload(acme, "held.csv", CSV).dataset
    other = upload(acme, "free.csv", CSV).dataset
    hold_create(organization=acme, dataset=dataset, reason="matter 12")
    api_client_for(acme, role="editor")
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="editor-acme"))

    page = browser.post(f"/datasets/{dataset.slug}/delete/")
    chosen = browser.post("/files/delete/", {"dataset": [other.slug, dataset.slug]}, follow=True)

    assert page.status_code == 409
    assert "legal hold" in page.content.decode() and "matter 12" in page.content.decode()
    assert "matter 12" in chosen.content.decode()
    # All or none: the dataset chosen with the held one is kept too.
    assert Dataset.objects.filter(pk__in=[dataset.pk, other.pk]).count() == 2


def test_no_hold_is_placed_once_a_deletion_passed_the_hold_check(warehouse, acme):
    """The check and the deletion are two steps (the table and files go after the check): a
    hold asked for in between is refused, so it never looks kept while its data goes."""
    dataset = upload(acme, "going.csv", CSV).dataset
    upload_of_it = dataset.uploads.get()
    services.dataset_delete_check(dataset=dataset)

    for target in ({"dataset": dataset}, {"upload": upload_of_it}):
        with pytest.raises(DatasetBeingDeleted, match="is being deleted"):
            hold_create(organization=acme, reason="matter 12", **target)

    assert not LegalHold.objects.exists()
    services.dataset_delete(dataset=dataset)
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


def test_a_refused_bulk_delete_leaves_every_dataset_holdable(warehouse, acme):
    free = upload(acme, "free.csv", CSV).dataset
    held = upload(acme, "held.csv", CSV).dataset
    hold_create(organization=acme, dataset=held, reason="matter 12")

    with pytest.raises(HeldByLegalHold):
        services.datasets_delete(datasets=[free, held])

    # The free dataset's claim went with the refusal: it is kept, and can still be held.
    assert Dataset.objects.filter(pk__in=[free.pk, held.pk]).count() == 2
    assert _rows(free) == 3
    hold_create(organization=acme, dataset=free, reason="matter 13")
