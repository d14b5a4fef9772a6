"""Reading a dataset back in the tests of bulk edits."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from csvhub.datasets.models import Dataset


def rows_of(client: APIClient, dataset: Dataset, query: str = "") -> list[dict[str, Any]]:
    """Every row as the rows API gives it, in row id order."""
    answer = client.get(f"/api/v1/datasets/{dataset.slug}/rows/?limit=1000&{query}")
    assert answer.status_code == 200, answer.json()
    return answer.json()["rows"]


def column(client: APIClient, dataset: Dataset, name: str) -> list[Any]:
    return [row[name] for row in rows_of(client, dataset)]


def edit(client: APIClient, dataset: Dataset, body: dict[str, Any], query: str = "") -> Any:
    return client.post(f"/api/v1/datasets/{dataset.slug}/edits/?{query}", body, format="json")
