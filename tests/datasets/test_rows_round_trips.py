"""Round trips to a PostgreSQL warehouse per rows request, counted where they happen: in the
driver's protocol trace (libpq's PQtrace), which sees BEGIN and ROLLBACK too, where a
statement listener sees only the statements SQLAlchemy runs (and makes every page take its
path). And the statement timeout a read leaves on its connection reaches no other use."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client
from sqlalchemy import event, text

from csvhub.datasets.models import Dataset
from csvhub.warehouse.engine import get_engine, read_connection
from tests.accounts.actors import World
from tests.datasets.pipeline import upload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("warehouse", ["postgres"], indirect=True),
]

CSV = "id,name\n" + "".join(f"{i},name {i % 7}\n" for i in range(1, 301))


@pytest.fixture
def people(world: World, warehouse: str) -> Dataset:
    created = upload(world.acme, "people.csv", CSV)
    assert created.state == "succeeded", created.error
    return Dataset.objects.get(pk=created.dataset_id)


@contextmanager
def round_trips() -> Iterator[list[str]]:
    """The requests the block's warehouse connections send and wait on: one line per simple
    Query or per Sync (which ends an extended-protocol exchange)."""
    import psycopg.pq

    traced: list[Any] = []
    with tempfile.TemporaryFile("w+") as trace:

        def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            if dbapi_connection not in traced:
                dbapi_connection.pgconn.trace(trace.fileno())
                dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
                traced.append(dbapi_connection)

        engine = get_engine()
        event.listen(engine, "checkout", on_checkout)
        found: list[str] = []
        try:
            yield found
        finally:
            event.remove(engine, "checkout", on_checkout)
            for connection in traced:
                connection.pgconn.untrace()  # flushes
            os.lseek(trace.fileno(), 0, os.SEEK_SET)
            for line in trace.read().splitlines():
                fields = line.split("\t")
                if fields[0] == "F" and len(fields) > 2 and fields[2] in ("Query", "Sync"):
                    found.append(line)


def _get(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    page: dict[str, Any] = response.json()
    return page


@pytest.mark.parametrize(
    "query",
    ["limit=10", "id=gte:100&sort=id&limit=10&count=none", "limit=1", "name=name 3&limit=10"],
)
def test_a_postgres_page_of_one_statement_is_one_round_trip(
    world: World, people: Dataset, query: str
) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.token_text['viewer']}")
    url = f"/api/v1/datasets/{people.slug}/rows/?{query}"
    for _ in range(8):  # the statement built, the timeout set, psycopg's own preparation done
        page = _get(client, url)
    following = page["next"]

    with round_trips() as sent:
        for _ in range(5):
            _get(client, url)
        if following:
            _get(client, following)

    # The page's SELECT alone: no set_config, and no BEGIN or ROLLBACK around it. ("name=name
    # 3" has a count of its own, a second statement.)
    statements = 2 if query.startswith("name=") else 1
    assert len(sent) == statements * (6 if following else 5), sent


def _timeout(connection: Any) -> str:
    return str(connection.execute(text("SHOW statement_timeout")).scalar_one())


def test_the_read_timeout_applies_to_reads_and_to_nothing_else(
    world: World, people: Dataset, settings: Any
) -> None:
    settings.CSVHUB_QUERY_TIMEOUT_SECONDS = 7
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.token_text['viewer']}")
    engine = get_engine()
    with engine.connect() as connection:
        default = _timeout(connection)
    _get(client, f"/api/v1/datasets/{people.slug}/rows/?limit=2")

    with read_connection(engine) as connection:
        assert _timeout(connection) == "7s"
    with read_connection(engine, seconds=2.5) as connection:
        assert _timeout(connection) == "2500ms"
    # Loads, index builds and the rest check the same connections out: the server's default.
    with engine.connect() as connection:
        assert _timeout(connection) == default
    with read_connection(engine, seconds=2.5) as connection:
        assert _timeout(connection) == "2500ms"
    with read_connection(engine, seconds=0) as connection:
        assert _timeout(connection) == default
    with engine.begin() as connection:
        assert _timeout(connection) == default


def test_a_read_in_an_open_transaction_keeps_it(world: World, people: Dataset) -> None:
    """A read begun as a transaction (a page of two statements, such as a sort on a column
    with empty cells, reads that way) keeps it: the driver is left as SQLAlchemy began it."""
    engine = get_engine()
    with read_connection(engine, seconds=3) as connection:
        connection.execute(text("SELECT 1"))
        driver = connection.connection.dbapi_connection
        assert driver is not None and not driver.autocommit
        assert _timeout(connection) == "3s"
