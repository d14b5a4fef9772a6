"""The warehouse statements a block of test code runs, as SQLAlchemy sends them to the driver.

A `before_cursor_execute` listener: while it is on the engine, every statement takes
SQLAlchemy's execution (csvhub.warehouse.query reads pages directly only without listeners).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from csvhub.warehouse.engine import get_engine


@contextmanager
def warehouse_statements() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """The statements run inside the block, each with its parameters."""
    caught: list[tuple[str, tuple[Any, ...]]] = []

    def catch(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        caught.append((statement, tuple(parameters or ())))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", catch)
    try:
        yield caught
    finally:
        event.remove(engine, "before_cursor_execute", catch)
