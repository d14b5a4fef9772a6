"""Helpers shared by the csvread tests (imported by module name: pytest puts this folder on
sys.path, since the folder is not a package)."""

import io
from dataclasses import dataclass

from csvhub.csvread import (
    BadRow,
    Batch,
    ColumnType,
    CsvReader,
    ReadLimits,
    TypeTracker,
    open_csv,
)
from csvhub.csvread.errors import ReadAgain


@dataclass
class Read:
    reader: CsvReader
    batches: list[Batch]

    @property
    def rows(self) -> list[list[str]]:
        return [row for batch in self.batches for row in batch.rows]

    @property
    def bad_rows(self) -> list[BadRow]:
        return [bad for batch in self.batches for bad in batch.bad_rows]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.reader.columns]


def read(
    data: bytes,
    *,
    size: int = 20_000,
    filename: str | None = None,
    limits: ReadLimits | None = None,
) -> Read:
    reader = open_csv(io.BytesIO(data), filename=filename, limits=limits)
    return Read(reader, list(reader.batches(size)))


def read_as(data: bytes, again: ReadAgain, *, size: int = 20_000) -> Read:
    """`data` read again in the encoding a first reading asked for."""
    reader = open_csv(io.BytesIO(data), encoding=again.encoding, encoding_reason=again.reason)
    return Read(reader, list(reader.batches(size)))


def infer(*batches: list[str]) -> TypeTracker:
    """A one-column tracker fed each batch of cells in turn."""
    tracker = TypeTracker(1)
    for cells in batches:
        tracker.observe([[cell] for cell in cells])
    return tracker


def infer_type(*batches: list[str]) -> ColumnType | None:
    return infer(*batches).types[0]


class BreaksAfter(io.RawIOBase):
    """A stored file whose reads fail once `after` bytes were read, as a dropped S3 connection
    or a disk's read error does."""

    def __init__(self, data: bytes, after: int) -> None:
        self._data = io.BytesIO(data)
        self._after = after

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        left = self._after - self._data.tell()
        if left <= 0:
            raise OSError("connection reset by peer")
        return self._data.read(left if size < 0 else min(size, left))
