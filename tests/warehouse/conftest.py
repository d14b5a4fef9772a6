"""Fixtures of the warehouse tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from csvhub.warehouse.dialects import postgresql
from tests.services import POSTGRES_URL, require


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A PostgreSQL warehouse engine of its own (its pool apart from the project's)."""
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    made = postgresql.PostgreSQLDialect().create_engine(make_url(POSTGRES_URL))
    yield made
    made.dispose()
