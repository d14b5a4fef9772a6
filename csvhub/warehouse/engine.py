"""One SQLAlchemy engine per warehouse URL, tuned for SQLite or PostgreSQL."""

from __future__ import annotations

import functools

from django.conf import settings
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

SQLITE_BEGIN_OPTION = "csvhub_sqlite_begin"


def warehouse_url() -> str:
    return settings.CSVHUB_WAREHOUSE_URL


def get_engine() -> Engine:
    return _engine_for(warehouse_url())


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@functools.cache
def _engine_for(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed.set(drivername="postgresql+psycopg"))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    raise ValueError(
        f"CSVHUB_WAREHOUSE_URL={url!r}: csvhub's warehouse runs on sqlite:// or postgresql://"
    )


def _postgres_engine(url) -> Engine:
    # UTC sessions make TIMESTAMPTZ read and write as UTC whatever the server's zone is.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"options": "-c timezone=UTC -c datestyle=ISO,MDY"},
    )


def _sqlite_engine(url: str) -> Engine:
    from pathlib import Path

    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transactions into our own hands (pysqlite's implicit BEGIN defers locking), and
        # use WAL so readers keep reading while an upload loads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Loads ask for BEGIN IMMEDIATE: it takes the write lock up front, which serializes
        # concurrent uploads instead of failing one of them at its first write.
        connection.exec_driver_sql(
            connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN")
        )

    return engine
