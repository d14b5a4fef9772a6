"""Indexes on dataset tables: build them without blocking loads or reads, list them with status.

The warehouse is the record of which indexes exist (no Django model): listing reflects them.
Each index ends with the hidden `_row_id`, the tiebreaker of every row order, so one index on
(a, b) serves `sort=a,b` and its keyset pages as a single range scan. Text columns are indexed
in the order row queries compare with (the dialect's `compared`).

How an index is built is the dialect's (create_index): on PostgreSQL CONCURRENTLY, so loads and
reads go on while it builds; until it is finished the catalog marks it invalid, and a build that
failed stays invalid and is dropped and rebuilt when asked for again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, Index, inspect
from sqlalchemy.engine import Connection

from csvhub.schema import Column
from csvhub.warehouse.dialects import WarehouseDialect, dialect_of
from csvhub.warehouse.engine import get_engine
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
        return index_list_on(connection, check_table_name(table_name))


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
    dialect = dialect_of(engine)
    names = [f.name for f in fields]
    current = index_find(table_name=table_name, columns=names, engine=engine)
    index = _index(table_name, fields, dialect)
    dialect.create_index(engine, index, None if current is None else current.status.value)
    found = index_find(table_name=table_name, columns=names, engine=engine)
    assert found is not None, f"index {table_name} ({fields}) missing right after its creation"
    return found


def _index(table_name: str, fields: Sequence[Column], dialect: WarehouseDialect) -> Index:
    # A Table of its own: Index() attaches itself to the table it is given, and the one
    # query_table returns is shared (cached).
    shape = [(check_column_name(f.name), f.type, f.scale) for f in fields]
    table = dataset_table(table_name, shape, dialect)
    parts = [dialect.compared(table.c[f.name], f.type) for f in fields]
    return Index(index_name(table_name, [f.name for f in fields]), *parts, table.c[ROW_ID])


def indexes_rebuild_on(
    connection: Connection, table_name: str, wanted: Sequence[Sequence[Column]]
) -> None:
    """Build the indexes on `table_name` inside the connection's transaction (a table no one
    reads yet, so the build blocks nothing): a replacing load keeps the dataset's indexes."""
    dialect = dialect_of(connection.engine)
    for fields in wanted:
        _index(table_name, fields, dialect).create(connection)


def index_list_on(connection: Connection, table_name: str) -> list[IndexInfo]:
    """The table's indexes, with their status, read on an open connection."""
    inspector = inspect(connection)
    if not inspector.has_table(table_name):
        return []
    dialect = dialect_of(connection.engine)
    building = dialect.indexes_building(connection, table_name)
    found = []
    for reflected in inspector.get_indexes(table_name):
        columns = tuple(c for c in reflected["column_names"] if c and c != ROW_ID)
        status = IndexStatus.READY
        name = reflected["name"]
        if name is None:  # only an engine's own unnamed index (csvhub names every index)
            continue
        if not dialect.index_valid(reflected):
            status = IndexStatus.BUILDING if name in building else IndexStatus.FAILED
        found.append(IndexInfo(name, columns, status))
    return sorted(found, key=lambda info: info.name)
