"""The same file loaded into a SQLite and a PostgreSQL warehouse answers every analysis alike,
down to the JSON: same types, same numbers, same UTC bucket boundaries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csvhub.datasets import selectors, services
from tests.datasets.analysis_data import analysis, generated_csv, summary
from tests.datasets.pipeline import api_client_for, make_org, upload
from tests.services import POSTGRES_URL, require

pytestmark = pytest.mark.django_db(transaction=True)

# Around a month's end and a daylight-saving change, with offsets: buckets must not care.
TEXT = generated_csv(seed=11, rows=600, start=datetime(2024, 3, 20, tzinfo=UTC), days=20)

QUERIES = [
    "type=row_count",
    "type=row_count&category=in:north,south&qty=lt:20",
    "type=time_span",
    "type=time_span&flag=false",
    "type=time_span&column=day&category=startswith:mid",
    "type=aggregate&group_by=category,flag&metrics=count,count:amount,sum:amount,avg:amount,"
    "min:amount,max:amount,sum:qty,avg:qty,min:at,max:at,min:day,max:category",
    "type=aggregate&group_by=at&metrics=count&limit=50&sort=at:desc",
    "type=aggregate&group_by=amount&metrics=count&sort=count:desc,amount&limit=20",
    "type=aggregate&group_by=day&metrics=total=sum:amount&sort=total:desc&limit=10",
    "type=aggregate&metrics=sum:amount,avg:amount&amount=gt:-100&amount=lte:250.5",
    "type=timeseries&bucket=month",
    "type=timeseries&bucket=week&metric=avg:amount",
    "type=timeseries&bucket=day&metric=max:at",
    "type=timeseries&bucket=hour&metric=min:amount&category=west",
    "type=timeseries&bucket=minute&at=gte:2024-03-31T22:00:00Z&at=lt:2024-04-01T02:00:00Z",
    "type=timeseries&column=day&bucket=week&metric=sum:qty",
    "type=histogram&column=amount&bins=13",
    "type=histogram&column=qty&bins=7",
    "type=histogram&column=amount&bins=20&flag=true",
]


def _answers(name: str, url: str, settings) -> dict:
    settings.CSVHUB_WAREHOUSE_URL = url
    organization = make_org(name)
    api = api_client_for(organization)
    created = upload(organization, "sales.csv", TEXT)
    assert created.state == "succeeded", created.error
    slug = created.dataset.slug
    try:
        found = {query: analysis(api, slug, query) for query in QUERIES}
        found["summary"] = summary(api, slug)
    finally:
        services.dataset_delete(dataset=selectors.dataset_get(organization=organization, slug=slug))
    return found


def test_every_analysis_answers_alike_on_both_warehouses(settings, tmp_path):
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    on_sqlite = _answers("lite", f"sqlite:///{tmp_path / 'warehouse.sqlite3'}", settings)
    on_postgres = _answers("pg", POSTGRES_URL, settings)
    for query in QUERIES:
        assert on_sqlite[query] == on_postgres[query], query
    assert on_sqlite["summary"] == on_postgres["summary"]
