"""The threaded COPY writer against a real PostgreSQL: every write arrives, in order, and a
rejected value surfaces as the server's error with the connection left usable."""

import psycopg
import pytest

from csvhub.warehouse.load import _SendingThread
from tests.services import POSTGRES_URL, require

pytestmark = pytest.mark.postgres


@pytest.fixture
def connection():
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    with psycopg.connect(POSTGRES_URL) as connection:
        connection.execute("CREATE TEMPORARY TABLE copy_sender_t (n bigint, label text)")
        connection.commit()  # the table outlives the rollbacks below
        yield connection
        connection.rollback()


def _copy(connection, batches: list[str]) -> None:
    with connection.cursor() as cursor:
        statement = "COPY copy_sender_t FROM STDIN (FORMAT text, NULL '')"
        with cursor.copy(statement, writer=_SendingThread(cursor)) as copy:
            for batch in batches:
                copy.write(batch)


def test_every_batch_arrives_in_order(connection) -> None:
    batches = [
        "".join(f"{n}\trow {n}\n" for n in range(k, k + 1000)) for k in range(0, 20_000, 1000)
    ]
    _copy(connection, batches)
    rows = connection.execute("SELECT n, label FROM copy_sender_t").fetchall()
    assert [n for n, _ in rows] == list(range(20_000))
    assert rows[-1] == (19_999, "row 19999")


def test_a_rejected_value_raises_the_server_error_and_the_connection_recovers(connection) -> None:
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="not-a-number"):
        _copy(connection, ["1\tone\n", "not-a-number\ttwo\n", "3\tthree\n"])
    connection.rollback()
    assert connection.execute("SELECT 1").fetchone() == (1,)


def test_an_error_in_the_loader_abandons_the_copy(connection) -> None:
    cursor = connection.cursor()
    statement = "COPY copy_sender_t FROM STDIN"
    with (
        pytest.raises(RuntimeError, match="loader failed"),
        cursor.copy(statement, writer=_SendingThread(cursor)) as copy,
    ):
        copy.write("1\tone\n")
        raise RuntimeError("loader failed")
    connection.rollback()
    assert connection.execute("SELECT count(*) FROM copy_sender_t").fetchone() == (0,)
