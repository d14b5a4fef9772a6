"""A stored rule as the machine's Rule, and its columns and thresholds checked against the
dataset (the one place that reads a threshold's text as the column's type)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from csvhub.alarms.errors import InvalidAlarmRule
from csvhub.alarms.machine import Duration, Measure, Rule
from csvhub.alarms.models import AlarmRule
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import InvalidRowQuery
from csvhub.schema import Column, ColumnType, DatasetSchema
from csvhub.schema import values as schema_values
from csvhub.schema.stats import NUMERIC, TEMPORAL
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse.samples import SampleQuery

THRESHOLDS = ("lower", "upper", "clear_lower", "clear_upper")


@dataclass(frozen=True)
class RuleColumns:
    value: Column
    time: Column | None
    group: Column | None


def rule_columns(schema: DatasetSchema, rule: AlarmRule) -> RuleColumns:
    """The rule's columns as the dataset has them now; a column renamed or retyped since the
    rule was written is a 400 at the next save, and makes evaluation skip the rule."""
    resolver = ColumnResolver(schema)
    try:
        value = resolver.get(rule.column, role="column")
        time = resolver.get(rule.time_column, role="time_column") if rule.time_column else None
        group = resolver.get(rule.group_by, role="group_by") if rule.group_by else None
    except InvalidRowQuery as unknown:
        raise InvalidAlarmRule(str(unknown)) from None
    if value.type not in (*NUMERIC, *TEMPORAL):
        raise InvalidAlarmRule(
            f"Column {value.name!r} is {value.type.value}: an alarm watches a numeric or "
            "temporal column (integer, decimal, date, timestamp)."
        )
    if time is not None and time.type not in TEMPORAL:
        raise InvalidAlarmRule(
            f"time_column {time.name!r} is {time.type.value}: it must be a date or timestamp."
        )
    return RuleColumns(value, time, group)


def measure_parse(column_type: ColumnType, text: str, *, field: str) -> Measure:
    """A threshold or a cell as a comparable value of the watched column's type."""
    try:
        parsed = schema_values.parse(column_type, text.strip())
    except (ValueError, ArithmeticError):
        raise InvalidAlarmRule(
            f"{field}: {text!r} is not a {column_type.value} value (the column's type)."
        ) from None
    assert not isinstance(parsed, (bool, str)), "numeric and temporal types only"
    if isinstance(parsed, Decimal) and not parsed.is_finite():
        # NaN compares false with everything: a rule with it could never fire or clear.
        raise InvalidAlarmRule(f"{field}: {text!r} is not a finite number; give a number.")
    return parsed


def rule_machine(rule: AlarmRule, value_type: ColumnType) -> Rule:
    def threshold(field: str) -> Measure | None:
        text: str = getattr(rule, field)
        return measure_parse(value_type, text, field=field) if text else None

    return Rule(
        lower=threshold("lower"),
        upper=threshold("upper"),
        clear_lower=threshold("clear_lower"),
        clear_upper=threshold("clear_upper"),
        hold=Duration(seconds=rule.for_seconds, rows=rule.for_rows),
        clear_hold=Duration(seconds=rule.clear_for_seconds, rows=rule.clear_for_rows),
        repeat_seconds=rule.repeat_every_seconds,
        notify_resolve=rule.notify_on_resolve,
        no_data_seconds=rule.no_data_seconds,
    )


def rule_check(dataset: Dataset, rule: AlarmRule) -> None:
    """Refuse a rule that could never be evaluated as written (400 saying what to change)."""
    columns = rule_columns(dataset.schema, rule)
    machine = rule_machine(rule, columns.value.type)
    if machine.lower is None and machine.upper is None and rule.no_data_seconds is None:
        raise InvalidAlarmRule("Give a lower or an upper threshold (or both), or no_data_seconds.")
    if machine.lower is not None and machine.upper is not None and machine.lower > machine.upper:  # type: ignore[operator]
        raise InvalidAlarmRule("lower is above upper: no value could ever be in range.")
    if rule.for_seconds and rule.for_rows:
        raise InvalidAlarmRule("Give for_seconds or for_rows, not both.")
    if rule.clear_for_seconds and rule.clear_for_rows:
        raise InvalidAlarmRule("Give clear_for_seconds or clear_for_rows, not both.")


def sample_query(dataset: Dataset, columns: RuleColumns) -> SampleQuery:
    return SampleQuery(
        table_name=dataset.table_name,
        fields=dataset.schema.columns,
        value=columns.value.name,
        time=columns.time.name if columns.time else None,
        group=columns.group.name if columns.group else None,
    )
