"""What the TypeTracker learned about one batch, handed to the Converter to spare it a pass."""

from collections.abc import Sized
from dataclasses import dataclass

from csvhub.schema.types import ColumnType


@dataclass(frozen=True)
class BatchColumn:
    """One column of one batch, as inference saw it."""

    type: ColumnType | None  # the grammar every cell matched (None: all cells empty)
    canonical: bool  # every cell is '' or already the canonical text of `type`
    # Canonical text computed for the stats of a date/timestamp column, reused by the Converter.
    canonical_text: list[str] | None = None

    def fits_canonically(self, stored: ColumnType) -> bool:
        """Whether storing this column as `stored` needs no conversion at all."""
        if stored is ColumnType.TEXT:
            return True
        if not self.canonical:
            return False
        # Integers written canonically are canonical decimals too.
        return self.type in (None, stored) or (
            self.type is ColumnType.INTEGER and stored is ColumnType.DECIMAL
        )


@dataclass(frozen=True)
class Observation:
    """`TypeTracker.last_observation`: valid only for the rows (or Columns) it was made from."""

    columns: tuple[BatchColumn, ...]
    rows_id: int
    row_count: int

    def check(self, batch: Sized, column_count: int) -> None:
        # A cheap guard against passing the observation of another batch.
        if id(batch) != self.rows_id or len(batch) != self.row_count:
            raise ValueError("this observation was made for another batch of rows")
        if len(self.columns) != column_count:
            raise ValueError(f"observed {len(self.columns)} columns, expected {column_count}")
