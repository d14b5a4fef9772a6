"""What ingestion asks of cleaning for one upload: the dataset's reading rules and recipe as
csvread cell rules, the column types to hold, and strict mode (reads only; the record of what
an upload's reading decided is cleaning.services.upload_reading_record)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from csvhub.cleaning.models import ReadingRuleSet, RecipeVersion
from csvhub.cleaning.steps import Step, step_from_json
from csvhub.csvread.rules import (
    DEFAULT_NULL_TOKENS,
    BatchRewriter,
    CellRule,
    Reading,
    ReadingRules,
)
from csvhub.datasets.models import Dataset
from csvhub.schema import ColumnType


@dataclass(frozen=True)
class DatasetRules:
    """A dataset's reading rules, typed (ReadingRuleSet's JSON behind one accessor)."""

    reading: ReadingRules = field(
        default_factory=lambda: ReadingRules(null_tokens=DEFAULT_NULL_TOKENS)
    )
    column_types: Mapping[str, ColumnType] = field(default_factory=dict)
    strict: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "null_tokens": list(self.reading.null_tokens),
            "decimal_separator": self.reading.decimal_separator,
            "thousands_separator": self.reading.thousands_separator,
            "day_first": self.reading.day_first,
            "column_types": {name: kind.value for name, kind in self.column_types.items()},
            "strict": self.strict,
        }


def dataset_rules(dataset: Dataset) -> DatasetRules:
    """The dataset's reading rules: its row, or the defaults of a dataset made since reading
    rules exist (datasets from before were given a row keeping their old reading)."""
    row = ReadingRuleSet.objects.filter(dataset=dataset).first()
    return DatasetRules() if row is None else rules_of_row(row)


def rules_of_row(row: ReadingRuleSet) -> DatasetRules:
    return DatasetRules(
        reading=ReadingRules(
            null_tokens=tuple(row.null_tokens),
            decimal_separator=row.decimal_separator or None,
            thousands_separator=None
            if row.thousands_separator == "auto"
            else row.thousands_separator,
            day_first=row.day_first,
        ),
        column_types={name: ColumnType(kind) for name, kind in row.column_types.items()},
        strict=row.strict,
    )


def recipe_steps(dataset: Dataset) -> tuple[Step, ...]:
    """The steps of the dataset's current recipe version (none without a recipe)."""
    version = (
        RecipeVersion.objects.filter(recipe__dataset=dataset)
        .order_by("-number")
        .values_list("steps", flat=True)
        .first()
    )
    return tuple(step_from_json(step) for step in version or ())


@dataclass(frozen=True)
class UploadCleaning:
    """Everything ingestion applies to one upload's cells, in order: the recipe's steps, then
    the reading rules (null tokens, number and date spellings)."""

    rules: DatasetRules
    steps: tuple[Step, ...] = ()

    def rewriter(self, reading: Reading, names: Sequence[str]) -> BatchRewriter:
        table_wide = reading.cell_rules()
        per_column: dict[str, list[CellRule]] = {}
        for step in self.steps:
            per_column.setdefault(step.column, []).append(step.rule())
        return BatchRewriter([[*per_column.get(name, ()), *table_wide] for name in names])

    def held_types(self, names: Sequence[str]) -> dict[int, ColumnType]:
        """Columns whose type a rule sets, by position in the file."""
        types = self.rules.column_types
        return {index: types[name] for index, name in enumerate(names) if name in types}


def upload_cleaning(dataset: Dataset) -> UploadCleaning:
    return UploadCleaning(dataset_rules(dataset), recipe_steps(dataset))
