"""Shortcuts for source tests: make a dataset, add a source and run it through the API."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from csvhub.datasets.models import Dataset
from csvhub.datasets.services import dataset_create
from tests.accounts.actors import World

CSV_V1 = b"id,name\n1,ada\n2,bob\n"
CSV_V2 = b"id,name\n3,cy\n4,dee\n5,eve\n"


def dataset_make(world: World, name: str = "feed") -> Dataset:
    return dataset_create(organization=world.acme, name=name)


def source_add(api: APIClient, dataset: Dataset, **data: Any) -> dict[str, Any]:
    body = {"every_seconds": 3600, **data}
    response = api.post(f"/api/v1/datasets/{dataset.slug}/sources/", body, format="json")
    assert response.status_code == 201, response.content
    created: dict[str, Any] = response.json()
    return created


def source_run(api: APIClient, dataset: Dataset, source: dict[str, Any]) -> dict[str, Any]:
    """Run now; with the inline task runner the run has finished when this returns."""
    response = api.post(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/run")
    assert response.status_code == 202, response.content
    run: dict[str, Any] = response.json()
    return run


def rows_of(dataset: Dataset) -> int:
    dataset.refresh_from_db()
    return dataset.row_count
