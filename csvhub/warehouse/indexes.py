"""Indexes on dataset tables: build them without blocking loads or reads, list them with status.

The warehouse is the record of which indexes exist (no Django model): listing reflects them.
Each index ends with the hidden `_row_id`, the tiebreaker of every row order, so one index on
(a, b) serves `sort=a,b` and its keyset pages as a single range scan. Text columns are indexed
in the code point collation that row queries compare with (query.TEXT_COLLATION).

On PostgreSQL an index is built with CREATE INDEX CONCURRENTLY outside a transaction: loads and
reads go on while it builds. Until it is finished the catalog marks it invalid; a build that
failed stays invalid and is dropped and rebuilt when asked for again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, Index, collate, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, DropIndex

from csvhub.schema import Column, ColumnType
from csvhub.warehouse.engine import get_engine, is_postgres
from csvhub.warehouse.query import TEXT_COLLATION
from csvhub.warehouse.schema import ROW_ID, check_column_name, check_table_name, dataset_table

MAX_INDEX_COLUMNS = 8


class IndexStatus(StrEnum):
    READY = "ready"
    BUILDING = "building"
    FAILED = "failed"


@dataclass(frozen=True)
class IndexInfo:
    name: str
    columns: tuple[str, ...]  # without the trailing _row_id
    status: IndexStatus


def index_name(table_name: str, columns: Sequence[str]) -> str:
    """A stable name per (table, columns): asking twice for the same index finds the first."""
    digest = hashlib.sha256(",".join(columns).encode()).hexdigest()[:10]
    return f"ix_{check_table_name(table_name).removeprefix('ds_')}_{digest}"


def index_list(*, table_name: str, engine: Engine | None = None) -> list[IndexInfo]:
    engine = engine or get_engine()
    with engine.connect() as connection:
        return _indexes(connection, check_table_name(table_name))


def index_find(
    *, table_name: str, columns: Sequence[str], engine: Engine | None = None
) -> IndexInfo | None:
    name = index_name(table_name, columns)
    found = [i for i in index_list(table_name=table_name, engine=engine) if i.name == name]
    return found[0] if found else None


def index_create(
    *, table_name: str, fields: Sequence[Column], engine: Engine | None = None
) -> IndexInfo:
    """Build the index on `fields` (in order) and return it; a no-op when it exists already."""
    engine = engine or get_engine()
    if not 1 <= len(fields) <= MAX_INDEX_COLUMNS:
        raise ValueError(f"an index has 1 to {MAX_INDEX_COLUMNS} columns")
    index = _index(table_name, fields, postgres=is_postgres(engine))
    if is_postgres(engine):
        _create_concurrently(engine, index)
    else:
        with engine.begin() as connection:
            connection.execute(CreateIndex(index, if_not_exists=True))
    found = index_find(table_name=table_name, columns=[f.name for f in fields], engine=engine)
    assert found is not None, f"index {index.name} missing right after its creation"
    return found


def _index(table_name: str, fields: Sequence[Column], *, postgres: bool) -> Index:
    # A Table of its own: Index() attaches itself to the table it is given, and the one
    # query_table returns is shared (cached).
    dialect = "postgresql" if postgres else "sqlite"
    table = dataset_table(table_name, [(f.name, f.type) for f in fields], dialect)
    parts = [
        collate(table.c[f.name], TEXT_COLLATION)
        if postgres and f.type is ColumnType.TEXT
        else table.c[check_column_name(f.name)]
        for f in fields
    ]
    return Index(
        index_name(table_name, [f.name for f in fields]),
        *parts,
        table.c[ROW_ID],
        postgresql_concurrently=True,
    )


def _create_concurrently(engine: Engine, index: Index) -> None:
    # CONCURRENTLY cannot run inside a transaction block, hence AUTOCOMMIT.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        table_name = index.table.name
        current = {i.name: i for i in _indexes(connection, table_name)}.get(index.name)
        if current is not None and current.status is IndexStatus.FAILED:
            connection.execute(DropIndex(index, if_exists=True))
        connection.execute(CreateIndex(index, if_not_exists=True))


def _indexes(connection: Connection, table_name: str) -> list[IndexInfo]:
    inspector = inspect(connection)
    if not inspector.has_table(table_name):
        return []
    building = _building(connection, table_name) if connection.dialect.name == "postgresql" else ()
    found = []
    for reflected in inspector.get_indexes(table_name):
        columns = tuple(c for c in reflected["column_names"] if c and c != ROW_ID)
        invalid = reflected.get("dialect_options", {}).get("postgresql_invalid", False)
        status = IndexStatus.READY
        if invalid:
            status = IndexStatus.BUILDING if reflected["name"] in building else IndexStatus.FAILED
        found.append(IndexInfo(reflected["name"], columns, status))
    return sorted(found, key=lambda info: info.name)


def _building(connection: Connection, table_name: str) -> set[str]:
    """Names of the indexes on the table that a CREATE INDEX is building right now."""
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_stat_progress_create_index p "
            "JOIN pg_class c ON c.oid = p.index_relid WHERE p.relid = to_regclass(:table_name)"
        ),
        {"table_name": table_name},
    )
    return set(rows.scalars())


def indexes_set_aside(connection: Connection, table_name: str) -> list[str]:
    """Drop a SQLite table's indexes and return the SQL that re-creates them.

    SQLite cannot drop a column an index names, and a retype (load.LoadSession) replaces the
    column: it sets the indexes aside, converts, and calls `indexes_restore` with this list.
    """
    rows = connection.execute(
        text(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = :table_name AND sql IS NOT NULL"
        ),
        {"table_name": check_table_name(table_name)},
    ).all()
    quote = connection.dialect.identifier_preparer.quote_identifier
    for name, _ in rows:
        connection.exec_driver_sql(f"DROP INDEX {quote(check_column_name(name))}")
    return [sql for _, sql in rows]


def indexes_restore(connection: Connection, statements: list[str]) -> None:
    """Re-create indexes set aside by `indexes_set_aside` (their own stored CREATE INDEX)."""
    for statement in statements:
        connection.exec_driver_sql(statement)
