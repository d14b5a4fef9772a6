"""Typed writes into a load session: batches of cells in, the table's types widened to hold them.

Shared by CSV ingestion (csvhub.datasets.ingest, batches read from a file) and JSON appends
(csvhub.appends, one batch made from a request body), so both read values by the same rules:
the TypeTracker infers each batch column's type as CSV inference does, a stored column widens
when a batch needs it (csvhub.schema.types.widen), and the Converter writes canonical cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction
from django.db.models import F

from csvhub.csvread import Columns, Converter, Observation, TypeTracker, widen
from csvhub.datasets.models import Dataset
from csvhub.datasets.signals import send_rows_committed
from csvhub.schema import Column, ColumnType, DatasetSchema, LoadResult, TypeChange
from csvhub.schema.types import decimal_fits
from csvhub.warehouse.load import LoadSession


class TypedWriter:
    """Writes batches whose columns are `names` (in that order) into `load`.

    A table that does not exist yet is made by `create_table` from the types observed so far;
    columns still empty then are provisional text until `settle_provisional_types`.
    """

    def __init__(self, load: LoadSession, names: list[str]) -> None:
        self.load = load
        self.names = names
        self.types_before = dict(load.columns or {})
        self.tracker = self._new_tracker()
        self.provisional: set[str] = set()  # created as text while still empty
        # Types a reading rule decides whatever the values (csvhub.cleaning), by column index.
        self.held_types: dict[int, ColumnType] = {}
        # Why a column widened: the line and value of the first cell that did not fit.
        self.widen_causes: dict[str, tuple[int | None, str | None]] = {}

    def observe(self, columns: Columns) -> list[ColumnType | None]:
        """Widen the inferred types with a batch (before writing it)."""
        return self.tracker.observe_columns(columns)

    def create_table(self) -> None:
        types: list[ColumnType | None] = list(self.tracker.types)
        for index, kind in self.held_types.items():
            types[index] = kind
        self.provisional = {n for n, t in zip(self.names, types, strict=True) if t is None}
        scales = [  # a decimal held by a rule may have seen no value with a point yet
            (scale or 0) if t is ColumnType.DECIMAL else scale
            for t, scale in zip(types, self.tracker.scales, strict=True)
        ]
        self.load.create(
            [(n, t or ColumnType.TEXT) for n, t in zip(self.names, types, strict=True)],
            scales=dict(zip(self.names, scales, strict=True)),
        )
        self.load.set_write_order(self.names)

    def widen_to(
        self,
        types: list[ColumnType | None],
        cause: Callable[[int, ColumnType], tuple[int | None, str | None]] | None = None,
    ) -> None:
        """Widen the stored columns to hold the batch just observed (`types`); `cause` tells
        the line and value that made a column (by index) leave its stored type."""
        assert self.load.columns is not None
        for index, name, wider, scale in self._widenings(types):
            stored = self.load.columns[name]
            if wider is not stored and cause is not None and name not in self.widen_causes:
                self.widen_causes[name] = cause(index, stored)
            self.load.retype(name, wider, scale)

    def widens(self, types: list[ColumnType | None]) -> bool:
        """Whether widen_to(types) would change a stored column's type or scale."""
        return bool(self._widenings(types))

    def _widenings(
        self, types: list[ColumnType | None]
    ) -> list[tuple[int, str, ColumnType, int | None]]:
        """(index, name, type, scale) of each stored column the observed `types` widen."""
        assert self.load.columns is not None
        found = []
        for index, (name, seen) in enumerate(zip(self.names, types, strict=True)):
            stored = self.load.columns[name]
            if name in self.provisional or seen is None:
                continue
            wider = widen(stored, seen)
            assert wider is not None
            scale = self._scale(index, wider)
            if wider is ColumnType.DECIMAL and scale is None and not self._unscaled(name):
                wider = ColumnType.TEXT  # these values at the stored scale: too many digits
            if wider is not stored or scale != self.load.scales.get(name):
                found.append((index, name, wider, scale))
        return found

    def forget_observations(self) -> None:
        """Start inferring again from no value (the rows observed so far were taken back)."""
        self.tracker = self._new_tracker()

    def _new_tracker(self) -> TypeTracker:
        """A tracker that counts the stored text columns' values as text (csvread.inference)."""
        stored = self.types_before
        text = [i for i, name in enumerate(self.names) if stored.get(name) is ColumnType.TEXT]
        return TypeTracker(len(self.names), text_columns=text)

    def _scale(self, index: int, column_type: ColumnType) -> int | None:
        """A decimal column's scale holding the stored values' and the new ones (the stored
        ones are checked by the load session); None when the new ones do not fit it."""
        if column_type is not ColumnType.DECIMAL or self._unscaled(self.names[index]):
            return None
        stored = self.load.scales.get(self.names[index]) or 0
        scale = max(stored, self.tracker.scales[index] or 0)
        stats = self.tracker.stats[index]
        return scale if decimal_fits(stats.min_value, stats.max_value, scale) else None

    def _unscaled(self, name: str) -> bool:
        """A decimal column of a table made before exact decimals (REAL on SQLite, NUMERIC
        without a scale on PostgreSQL): appends keep it so, since its stored values have no
        known scale to convert them at."""
        assert self.load.columns is not None
        stored = self.load.columns[name]
        return stored is ColumnType.DECIMAL and self.load.scales.get(name) is None

    def write(self, columns: Columns, observed: Observation | None = None) -> None:
        """Append a batch; `observed` is the tracker's observation of this very batch."""
        assert self.load.columns is not None
        # Provisional columns are still text in the table but hold canonical values of the
        # type inferred so far, so that settle_provisional_types can convert them in place.
        effective = [
            (self.tracker.types[i] or ColumnType.TEXT)
            if name in self.provisional
            else self.load.columns[name]
            for i, name in enumerate(self.names)
        ]
        changes = Converter(effective).column_changes(columns, observed)
        # PostgreSQL gets the canonical cells in binary (it then parses no text): the batch's
        # own joined columns where they are canonical already, the converted ones joined (no
        # converted cell holds a line break: they are numbers, dates, timestamps, booleans).
        if self.load.sends_binary:
            parts = [
                part if new is None else "\n".join(new)
                for part, new in zip(columns.wire_parts(), changes, strict=True)
            ]
            if self.load.write_joined(parts, columns.row_count):
                return
        self.load.write_columns(
            [columns.values[i] if new is None else new for i, new in enumerate(changes)]
        )

    def settle_provisional_types(self) -> None:
        for index, name in enumerate(self.names):
            inferred = self.tracker.types[index]
            if name in self.provisional and inferred not in (None, ColumnType.TEXT):
                self.load.retype(name, inferred, self.tracker.scales[index])

    def loaded_columns(self, labels: Mapping[str, str]) -> tuple[Column, ...]:
        """The columns as loaded (types after widening), with this load's nullability;
        decimal columns carry their scale (the table declares it)."""
        assert self.load.columns is not None
        stats = self.tracker.stats
        return tuple(
            self._column_result(name, labels.get(name, ""), nullable=stats[index].nulls > 0)
            for index, name in enumerate(self.names)
        )

    def _column_result(self, name: str, label: str, *, nullable: bool) -> Column:
        assert self.load.columns is not None
        column_type = self.load.columns[name]
        scale = self.load.scales.get(name) if column_type is ColumnType.DECIMAL else None
        return Column(name, column_type, label, nullable=nullable, scale=scale)

    def type_changes(self) -> tuple[TypeChange, ...]:
        """The columns that existed before this load and were widened by it."""
        assert self.load.columns is not None
        stored = self.load.columns
        return tuple(
            TypeChange(name, before, stored[name], *self.widen_causes.get(name, (None, None)))
            for name, before in self.types_before.items()
            if stored[name] is not before
        )

    def result(
        self,
        labels: Mapping[str, str],
        *,
        rows_rejected: int = 0,
        encoding: str = "",
        encoding_reason: str = "",
        delimiter: str = "",
    ) -> LoadResult:
        """The LoadResult of what was written; the file's facts for an upload."""
        return LoadResult(
            rows_loaded=self.load.rows_written,
            rows_rejected=rows_rejected,
            encoding=encoding,
            encoding_reason=encoding_reason,
            delimiter=delimiter,
            columns=self.loaded_columns(labels),
            type_changes=self.type_changes(),
            stats=dict(zip(self.names, self.tracker.stats, strict=True)),
            row_id_range=self.load.row_id_range(),
        )


@dataclass(frozen=True, slots=True)
class Publication:
    """How a committed load is applied to its dataset's metadata."""

    replace: bool = False  # the dataset's contents became the load's
    origin: str = "upload"  # said by the rows_committed signal


def load_publish(*, dataset_id: UUID, result: LoadResult, how: Publication) -> None:
    """load_apply on the dataset, locked, inside the caller's transaction."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset_id)
    load_apply(dataset=dataset, result=result, how=how)


def load_apply(*, dataset: Dataset, result: LoadResult, how: Publication) -> None:
    """Apply a committed load to the dataset's metadata; `dataset` is locked by the caller's
    transaction (select_for_update), so concurrent publishes of one dataset take turns.

    Merges are order-independent (types widen, counts add, stats merge), so loads that commit
    in one order and publish in another still end in the same metadata. A replacing load
    starts the metadata over from its own result, as its table started over. Receivers of
    rows_committed hear of the rows once the caller's transaction commits.
    """
    if how.replace:  # the dataset's contents become the load's: its columns and stats too
        dataset.schema = DatasetSchema()
        dataset.first_row_id = dataset.last_row_id = None
    dataset.schema = dataset.schema.with_load(result.columns, result.stats)
    rows = result.rows_loaded
    dataset.row_count = rows if how.replace else F("row_count") + rows
    _extend_row_range(dataset, result.row_id_range)
    dataset.save()
    if result.row_id_range:
        row_id_range, pk = result.row_id_range, dataset.pk
        transaction.on_commit(
            lambda: send_rows_committed(dataset_id=pk, row_id_range=row_id_range, origin=how.origin)
        )


def _extend_row_range(dataset: Dataset, row_range: tuple[int, int] | None) -> None:
    if not row_range:
        return
    first, last = row_range
    dataset.first_row_id = (
        first if dataset.first_row_id is None else min(dataset.first_row_id, first)
    )
    dataset.last_row_id = last if dataset.last_row_id is None else max(dataset.last_row_id, last)
