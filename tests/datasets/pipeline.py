"""Helpers for ingestion tests: an organization, an API client in it, and upload shortcuts."""

from __future__ import annotations

import gzip

from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from csvhub.accounts.models import Membership, Organization
from csvhub.datasets import services
from csvhub.datasets.models import Dataset, Upload
from csvhub.schema import ColumnType
from csvhub.warehouse.engine import get_dialect, get_engine
from csvhub.warehouse.tables import table_exists, table_row_count


def make_org(slug: str = "acme") -> Organization:
    return Organization.objects.create(slug=slug, name=slug.title())


def api_client_for(organization: Organization, role: str = "editor") -> APIClient:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(f"{role}-{organization.slug}", password="x")
    Membership.objects.create(user=user, organization=organization, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(
    organization: Organization, name: str, content: str | bytes, dataset: str | None = None
) -> Upload:
    """Upload through the service; with the inline runner it is ingested before this returns."""
    data = content.encode() if isinstance(content, str) else content
    if name.endswith(".gz"):
        data = gzip.compress(data)
    (created,) = services.uploads_create(
        organization=organization, files=[ContentFile(data, name=name)], dataset_slug=dataset
    )
    created.refresh_from_db()
    return created


def warehouse_rows(dataset: Dataset) -> list[tuple]:
    """Every stored row in ingestion order, as the warehouse returns it (no hidden id);
    decimals with a scale as the Decimal their stored form stands for."""
    from sqlalchemy import text

    quote = get_engine().dialect.identifier_preparer.quote_identifier
    names = ", ".join(quote(column["name"]) for column in dataset.columns)
    with get_engine().connect() as connection:
        found = connection.execute(
            text(f"SELECT {names} FROM {quote(dataset.table_name)} ORDER BY _row_id")
        )
        readers = [_stored_reader(column) for column in dataset.columns]
        return [tuple(read(v) for read, v in zip(readers, row, strict=True)) for row in found]


def _stored_reader(column: dict):
    if column["type"] != "decimal" or column.get("scale") is None:
        return lambda value: value
    dialect = get_dialect()

    def read(value):
        return (
            None
            if value is None
            else dialect.number_value(value, ColumnType.DECIMAL, column["scale"])
        )

    return read


def column_types(dataset: Dataset) -> dict[str, str]:
    dataset.refresh_from_db()
    return {column["name"]: column["type"] for column in dataset.columns}


__all__ = [
    "api_client_for",
    "column_types",
    "make_org",
    "table_exists",
    "table_row_count",
    "upload",
    "warehouse_rows",
]
