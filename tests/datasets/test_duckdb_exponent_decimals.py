"""Reproduction (review revB): a decimal written with an exponent whose value needs the 19th
digit is not seen by the narrow-decimal check (duckdb_load._needs_wide looks for runs of
digits), so DuckDB's cast to DECIMAL(18, s) fails the load. Before 407e29a it loaded."""

from __future__ import annotations

import pytest

from tests.accounts.actors import World
from tests.datasets.pipeline import upload

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_an_exponent_decimal_needing_nineteen_digits_loads(world: World, warehouse: str) -> None:
    created = upload(world.acme, "e.csv", "id,v\n1,1\n2,1e18\n3,-2.5e17\n")
    assert created.state == "succeeded", created.error
