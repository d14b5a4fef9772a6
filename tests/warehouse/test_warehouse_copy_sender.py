"""The threaded COPY writer against a real PostgreSQL: every write arrives, in order, and a
rejected value surfaces as the server's error with the connection left usable."""

import signal
import time

import psycopg
import pytest

from csvhub.warehouse.dialects.postgresql_load import _SendingThread, copy_text
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


class _BreaksOnSecondWrite(psycopg.copy.LibpqWriter):
    """A real writer whose second send fails, as a dropped network link would."""

    writes = 0

    def write(self, data) -> None:
        self.writes += 1
        if self.writes == 2:
            raise OSError("network is unreachable")
        super().write(data)


def test_a_failed_send_raises_and_leaves_the_connection_usable(connection) -> None:
    cursor = connection.cursor()
    sender = _SendingThread(cursor)
    sender._sender = _BreaksOnSecondWrite(cursor)
    with (
        pytest.raises(OSError, match="network is unreachable"),
        cursor.copy("COPY copy_sender_t FROM STDIN", writer=sender) as copy,
    ):
        for n in range(5):
            copy.write(f"{n}\trow\n")
    connection.rollback()
    assert connection.execute("SELECT count(*) FROM copy_sender_t").fetchone() == (0,)


def _stop(signum, frame) -> None:
    raise SystemExit(-241)  # as billiard's TERM handler ends a Celery pool process


class _CountingWriter(psycopg.copy.LibpqWriter):
    """A real writer that counts the batches it was given to send."""

    writes = 0

    def write(self, data) -> None:
        self.writes += 1
        super().write(data)


@pytest.mark.parametrize("stop_lands", ["while the copy ends", "while a write waits"])
def test_a_stop_leaves_no_thread_writing_to_the_connection(stop_lands) -> None:
    """The caller closes the connection after a stop; libpq allows no second thread on it. The
    stop does not wait for a busy server either: the COPY is cancelled, and what was still
    queued is dropped, not sent."""
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    connection = psycopg.connect(POSTGRES_URL)
    connection.execute("CREATE TEMPORARY TABLE copy_sender_paused (n bigint, label text)")
    # The server pauses at the first row, so the sends wait on full socket buffers.
    connection.execute(
        "CREATE FUNCTION pg_temp.pause_at_first_row() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN IF NEW.n = 0 THEN PERFORM pg_sleep(60); END IF; RETURN NEW; END $$"
    )
    connection.execute(
        "CREATE TRIGGER pause BEFORE INSERT ON copy_sender_paused"
        " FOR EACH ROW EXECUTE FUNCTION pg_temp.pause_at_first_row()"
    )
    batch = "".join(f"{n}\t{'x' * 1000}\n" for n in range(4000))  # 4 MB
    cursor = connection.cursor()
    sender = _SendingThread(cursor)
    sender._sender = counting = _CountingWriter(cursor)
    previous = signal.signal(signal.SIGALRM, _stop)
    try:
        with (
            pytest.raises(SystemExit) as stopped,
            cursor.copy("COPY copy_sender_paused FROM STDIN", writer=sender) as copy,
        ):
            for _ in range(1 + _SendingThread.QUEUED_WRITES):  # one sending, the rest queued
                copy.write(batch)
            thread = sender._thread
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            waited_from = time.monotonic()
            if stop_lands == "while a write waits":
                copy.write(batch)  # the queue is full: this write waits for the thread
            # else the stop lands while the end of the COPY waits for the thread
        assert time.monotonic() - waited_from < 30  # not the server's 60 s pause
        assert thread is not None
        assert not thread.is_alive()
        assert counting.writes == 1  # the batch in flight; the queued ones were dropped
        where = {entry.name for entry in stopped.traceback}
        assert ("_stop_thread" in where) == (stop_lands == "while the copy ends")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        connection.close()


@pytest.mark.parametrize(
    "value",
    ["back\\slash", "tab\there", "line\nfeed", "carriage\rreturn", "\\N", "\\.", "plain", ""],
)
def test_copy_text_round_trips_every_character_copy_treats_specially(connection, value) -> None:
    _copy(connection, [copy_text([["1", "2"], [value, "x"]])])
    rows = connection.execute("SELECT n, label FROM copy_sender_t ORDER BY n").fetchall()
    assert rows == [(1, value or None), (2, "x")]
