"""DuckDB stores decimals narrow (18 digits) until a value needs the 19th: a value written with
an exponent (`1e18`, canonical csvhub text) must widen the column too, or DuckDB's cast to
DECIMAL(18, s) fails the load (found by review; it loaded before narrow storage)."""

from __future__ import annotations

import pytest

from tests.accounts.actors import World
from tests.datasets.pipeline import upload

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_an_exponent_decimal_needing_nineteen_digits_loads(world: World, warehouse: str) -> None:
    created = upload(world.acme, "e.csv", "id,v\n1,1\n2,1e18\n3,-2.5E17\n4,9.5e16\n")
    assert created.state == "succeeded", created.error
    assert created.dataset.row_count == 4
