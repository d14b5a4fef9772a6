"""PostgreSQL warehouse connections: no ping round trip on a busy pool, and a connection the
server dropped while it sat idle is replaced before anyone uses it."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from csvhub.warehouse.dialects import postgresql
from tests.services import POSTGRES_URL


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    return postgres_engine


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    other = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
    with other.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(engine, monkeypatch) -> None:
    dropped = _backend(engine)
    _terminate(dropped)
    monkeypatch.setattr(postgresql, "IDLE_PING_SECONDS", 0.0)

    assert _backend(engine) != dropped


def test_a_busy_pool_is_not_pinged(engine, monkeypatch) -> None:
    dropped = _backend(engine)
    _terminate(dropped)
    monkeypatch.setattr(postgresql, "IDLE_PING_SECONDS", 3600.0)

    # No ping on checkout: the dead connection is found by the request that uses it ...
    with pytest.raises(sqlalchemy.exc.OperationalError):
        _backend(engine)
    # ... and the pool has let it go for the next one.
    assert _backend(engine) != dropped
