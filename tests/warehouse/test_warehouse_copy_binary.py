"""Binary COPY data (csvhub.warehouse._copybinary) against a real PostgreSQL: the values stored
are exactly those the same cells give through COPY's text format, and cells the encoder does
not take for canonical are refused, never guessed."""

import os
import random

import psycopg
import pytest

from csvhub.warehouse.dialects import postgresql_load as load
from csvhub.warehouse.dialects.postgresql_load import copy_text
from tests.services import POSTGRES_URL, require

pytestmark = pytest.mark.postgres

COLUMNS = "n bigint, d numeric, day date, at timestamptz, yes boolean, label text"
TYPES = "indtbs"

INTEGERS = ["0", "-0", "7", "-42", "+5", "9223372036854775807", "-9223372036854775808", ""]
DECIMALS = ["0", "0.0", "-0.00", "1.50", "0.00005", "-12345678901234567890.123456789", ".5"]
DECIMALS += ["5.", "10000", "100000000", "0.0001", "99999999.99990000", "-1", ""]
DATES = ["0001-01-01", "1999-12-31", "2000-01-01", "2000-03-01", "2024-02-29", "9999-12-31"]
DATES += ["1970-01-01", ""]
TIMESTAMPS = ["2000-01-01 00:00:00", "1969-07-20 20:17:40", "2024-02-29 23:59:59.999999"]
TIMESTAMPS += ["2024-06-01 12:00:00.5", "0001-01-01 00:00:00", "9999-12-31 23:59:59.12", ""]
BOOLEANS = ["true", "false", ""]
TEXTS = ["plain", "tab\there", "back\\slash", "new\nline", "caf\u00e9", "\u4e2d\U0001f600", " ", ""]


@pytest.fixture
def connection():
    if load._copybinary is None and not os.environ.get("CI"):
        pytest.skip("the C extension is not built (pip install -e . with a C compiler)")
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    with psycopg.connect(POSTGRES_URL) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        for name in ("by_text", "by_binary"):
            connection.execute(f"CREATE TEMPORARY TABLE {name} (row_id bigint, {COLUMNS})")
        yield connection
        connection.rollback()


POOLS = [INTEGERS, DECIMALS, DATES, TIMESTAMPS, BOOLEANS, TEXTS]


def test_the_encoder_is_built(connection) -> None:
    assert load._copybinary is not None  # under CI the fixture does not skip


def _rows(count: int, texts: list[str] = TEXTS) -> list[list[str]]:
    generator = random.Random(5)
    pools = [*POOLS[:-1], texts]
    return [[generator.choice(pool) for pool in pools] for _ in range(count)]


def _by_binary(connection, rows: list[list[str]], first_id: int) -> bytes | None:
    columns = ["\n".join(column) for column in zip(*rows, strict=True)]
    if any("\n" in cell for row in rows for cell in row):  # the encoder takes one line per cell
        return None
    return load._copybinary.encode(columns, TYPES, first_id, True)


def _copy(connection, table: str, options: str, data: bytes) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN ({options})") as copy:
        copy.write(data)


def _stored(connection, table: str) -> list[tuple]:
    # As text, so that a numeric's scale (1.50 against 1.5) counts too.
    return connection.execute(
        f"SELECT row_id, n::text, d::text, day::text, at::text, yes::text, label FROM {table} "
        "ORDER BY row_id"
    ).fetchall()


# The text column in each width of str the encoder reads differently: all ASCII (copied as
# it is), one byte a character (Latin-1), and up to four.
ASCII_TEXTS = [text for text in TEXTS if text.isascii()]
LATIN1_TEXTS = [*ASCII_TEXTS, "caf\u00e9", "\u00ff"]


@pytest.mark.parametrize(
    "texts", [TEXTS, ASCII_TEXTS, LATIN1_TEXTS], ids=["any", "ascii", "latin1"]
)
def test_binary_rows_store_what_text_rows_store(connection, texts: list[str]) -> None:
    rows = [row for row in _rows(200, texts) if "\n" not in row[5]]
    data = _by_binary(connection, rows, 41)
    assert data is not None
    _copy(connection, "by_binary", "FORMAT binary", data + load._copybinary.TRAILER)
    ids = [str(41 + i) for i in range(len(rows))]
    text = copy_text([ids, *zip(*rows, strict=True)]).encode()
    _copy(connection, "by_text", "FORMAT text, NULL ''", text)

    by_binary = _stored(connection, "by_binary")
    assert by_binary == _stored(connection, "by_text")
    assert len(by_binary) == len(rows)
    for index, pool in enumerate([*POOLS[:-1], texts]):  # every value was tried
        assert {row[index] for row in rows} >= set(pool) - {"new\nline"}


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        (0, "12a"),
        (0, "9223372036854775808"),  # past int64
        (1, "1e5"),  # exponents are left to the text path
        (1, "1.2.3"),
        (2, "2023-02-29"),
        (2, "2024-13-01"),
        (3, "2024-01-01 24:00:00"),  # PostgreSQL rolls these over: its call, not ours
        (3, "2024-01-01 10:00:60"),
        (3, "2024-01-01T10:00:00"),
        (4, "yes"),
        (5, "lone \udc80 surrogate"),
    ],
)
def test_cells_not_in_canonical_form_are_refused(connection, column: int, cell: str) -> None:
    row = ["1", "1", "2024-01-01", "2024-01-01 00:00:00", "true", "x"]
    assert _by_binary(connection, [row], 1) is not None
    row[column] = cell
    assert _by_binary(connection, [row], 1) is None
