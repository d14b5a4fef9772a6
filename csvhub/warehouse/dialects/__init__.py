"""The warehouse engines as strategies: one `WarehouseDialect` subclass per engine.

The dialect is chosen once, from the warehouse URL's backend, and kept with the engine:
`dialect_of(engine)` gives it back. No other module of the warehouse names an engine.
"""

from __future__ import annotations

import functools

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from csvhub.warehouse.dialects.base import Loader, ServerCsv, WarehouseDialect
from csvhub.warehouse.dialects.duckdb import DuckDBDialect
from csvhub.warehouse.dialects.mysql import MySQLDialect
from csvhub.warehouse.dialects.postgresql import PostgreSQLDialect
from csvhub.warehouse.dialects.sqlite import SQLiteDialect

# SQLAlchemy backend name -> the dialect serving it. A new engine is one more entry.
DIALECTS: dict[str, WarehouseDialect] = {
    dialect.name: dialect
    for dialect in (SQLiteDialect(), PostgreSQLDialect(), MySQLDialect(), DuckDBDialect())
}
# mariadb:// URLs are served by the MySQL dialect (its engines speak to either server).
DIALECTS["mariadb"] = DIALECTS["mysql"]


def dialect_for_url(url: str) -> WarehouseDialect:
    """The dialect of a warehouse URL; ValueError naming the supported schemes otherwise."""
    backend = make_url(url).get_backend_name()
    try:
        return DIALECTS[backend]
    except KeyError:
        schemes = " or ".join(f"{name}://" for name in DIALECTS)
        raise ValueError(
            f"CSVHUB_WAREHOUSE_URL={url!r}: csvhub's warehouse runs on {schemes}"
        ) from None


def check_processes(url: str, *, task_runner: str, web_workers: int = 1) -> None:
    """ValueError, saying what to change, when the warehouse of `url` is opened by one process
    only (DuckDB) and the configuration runs jobs or requests in several."""
    try:
        dialect = DIALECTS.get(make_url(url).get_backend_name())
    except ArgumentError:
        return  # an unparsable URL is refused with its own message when first used
    if dialect is None or not dialect.single_process:
        return
    if task_runner == "celery":
        raise ValueError(
            f"CSVHUB_WAREHOUSE_URL={url!r} is a {dialect.name} warehouse, which only one process "
            "may open: it cannot be written by Celery workers. Set CSVHUB_TASK_RUNNER=thread "
            "(jobs run in the web process), or use PostgreSQL or MariaDB with Celery."
        )
    if web_workers > 1:
        raise ValueError(
            f"CSVHUB_WAREHOUSE_URL={url!r} is a {dialect.name} warehouse, which only one process "
            f"may open: run one web worker process (WEB_CONCURRENCY=1, threads serve requests "
            f"side by side), not {web_workers}."
        )


@functools.cache
def dialect_of(engine: Engine) -> WarehouseDialect:
    """The dialect an engine was made by (see engine.get_engine)."""
    return DIALECTS[engine.dialect.name]


__all__ = [
    "DIALECTS",
    "Loader",
    "ServerCsv",
    "WarehouseDialect",
    "check_processes",
    "dialect_for_url",
    "dialect_of",
]
