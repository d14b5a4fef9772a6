"""The plans SQLite picks for csvhub's queries: a deep keyset page reads what page 1 reads.

Measured in SQLite virtual machine steps (a progress handler's calls), which count the work a
statement does whatever the machine's speed: no timings.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.conf import settings
from sqlalchemy.engine import make_url

from tests.datasets.pipeline import api_client_for, make_org, upload
from tests.warehouse.statements import warehouse_statements

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 4_000
STEPS_PER_CALL = 100


@pytest.fixture
def api():
    organization = make_org()
    client = api_client_for(organization)
    csv = "n,name\n" + "".join(f"{i},name {i}\n" for i in range(1, ROWS + 1))
    loaded = upload(organization, "numbers.csv", csv)
    assert loaded.state == "succeeded", loaded.error
    built = client.post("/api/v1/datasets/numbers/indexes/", {"columns": ["n"]}, format="json")
    assert built.status_code == 201, built.content
    return client


def steps(statement: str, parameters: tuple) -> int:
    """Progress handler calls (every STEPS_PER_CALL virtual machine steps) to run `statement`."""
    path = make_url(settings.CSVHUB_WAREHOUSE_URL).database
    assert path is not None
    calls = 0

    def count() -> int:
        nonlocal calls
        calls += 1
        return 0

    connection = sqlite3.connect(Path(path))
    try:
        connection.set_progress_handler(count, STEPS_PER_CALL)
        connection.execute(statement, parameters).fetchall()
    finally:
        connection.close()
    return calls


def page_statement(api, url: str) -> tuple[str, tuple]:
    with warehouse_statements() as caught:
        response = api.get(url)
    assert response.status_code == 200, response.content
    pages = [(sql, params) for sql, params in caught if sql.lstrip().upper().startswith("SELECT")]
    return pages[-1]


def test_a_deep_cursor_page_reads_what_page_one_reads(api) -> None:
    query = "n=gte:10&sort=n&count=none&limit=100"
    rows_url = "/api/v1/datasets/numbers/rows/"
    deep = api.get(f"{rows_url}?{query}&offset={ROWS - 500}").json()["next"]

    first = steps(*page_statement(api, f"{rows_url}?{query}"))
    far = steps(*page_statement(api, deep))

    assert far <= 2 * first + 5, (first, far)


def query_plan(statement: str, parameters: tuple) -> str:
    path = make_url(settings.CSVHUB_WAREHOUSE_URL).database
    assert path is not None
    connection = sqlite3.connect(Path(path))
    try:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    finally:
        connection.close()
    return "\n".join(row[-1] for row in rows)


def test_a_full_table_group_by_on_an_indexed_column_scans_the_table(api) -> None:
    url = "/api/v1/datasets/numbers/analysis/?type=aggregate&group_by=n&metrics=count,max:name"

    plan = query_plan(*page_statement(api, url))

    # Not "SCAN ... USING INDEX": walking the index fetches every row at random.
    assert "SCAN ds_" in plan and "USING INDEX" not in plan, plan


def test_a_load_leaves_no_wal_behind(settings) -> None:
    organization = make_org()
    csv = "n,name\n" + "".join(f"{i},a name long enough to fill pages {i}\n" for i in range(30_000))

    loaded = upload(organization, "big.csv", csv)

    assert loaded.state == "succeeded", loaded.error
    wal = Path(str(make_url(settings.CSVHUB_WAREHOUSE_URL).database) + "-wal")
    database = wal.with_name(wal.name.removesuffix("-wal"))
    assert database.stat().st_size > 1_000_000
    assert not wal.exists() or wal.stat().st_size < 100_000, wal.stat().st_size
