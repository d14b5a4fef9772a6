"""The warehouse engines as strategies: one `WarehouseDialect` subclass per engine.

The dialect is chosen once, from the warehouse URL's backend, and kept with the engine:
`dialect_of(engine)` gives it back. No other module of the warehouse names an engine.
"""

from __future__ import annotations

import functools

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from csvhub.warehouse.dialects.base import Loader, ServerCsv, WarehouseDialect
from csvhub.warehouse.dialects.postgresql import PostgreSQLDialect
from csvhub.warehouse.dialects.sqlite import SQLiteDialect

# SQLAlchemy backend name -> the dialect serving it. A new engine is one more entry.
DIALECTS: dict[str, WarehouseDialect] = {
    dialect.name: dialect for dialect in (SQLiteDialect(), PostgreSQLDialect())
}


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


@functools.cache
def dialect_of(engine: Engine) -> WarehouseDialect:
    """The dialect an engine was made by (see engine.get_engine)."""
    return DIALECTS[engine.dialect.name]


__all__ = ["DIALECTS", "Loader", "ServerCsv", "WarehouseDialect", "dialect_for_url", "dialect_of"]
