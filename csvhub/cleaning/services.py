"""Writes of cleaning: reading rules, recipe versions and schedules, accepted and rejected
clusters, the record of how an upload was read, and changes to the rows already stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from csvhub.cleaning.errors import CleaningError
from csvhub.cleaning.models import (
    ReadingRuleSet,
    Recipe,
    RecipeVersion,
    RejectedPair,
    UploadReading,
)
from csvhub.cleaning.reading import dataset_rules, recipe_steps
from csvhub.cleaning.steps import MapValues, Step, StepError, step_from_json, step_to_json
from csvhub.csvread import formats
from csvhub.csvread.rules import Reading
from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Dataset, Upload
from csvhub.edits.actions import MAX_MAP_PAIRS
from csvhub.edits.selections import Selection
from csvhub.edits.services import edit_create
from csvhub.scheduling import InvalidSchedule, cron
from csvhub.scheduling.schedules import zone_check
from csvhub.schema import ColumnType
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse.distinct import distinct_values

type Editor = User | AnonymousUser | None
MAX_STEPS = 200
MAX_NULL_TOKENS = 50
MAX_TYPED_COLUMNS = 1600  # as many as a table has columns
RULE_FIELDS = (
    "null_tokens",
    "decimal_separator",
    "thousands_separator",
    "day_first",
    "column_types",
    "strict",
)


def _user(user: Editor) -> User | None:
    return user if user is not None and user.is_authenticated else None


# -- reading rules -----------------------------------------------------------------------------


def reading_rules_check(changes: Mapping[str, Any]) -> None:
    """A CleaningError for rules that cannot be set (before anything is stored)."""
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise CleaningError(
            f"Unknown reading rules {', '.join(map(repr, unknown))}: "
            f"the rules are {', '.join(RULE_FIELDS)}."
        )
    for name, value in changes.items():
        _CHECKS[name](value)


def reading_rules_set(*, dataset: Dataset, changes: Mapping[str, Any]) -> ReadingRuleSet:
    """Change the rules named in `changes` (the others keep their values); the next uploads
    read with them. A dataset without rules starts from the defaults."""
    reading_rules_check(changes)
    with transaction.atomic():
        row = ReadingRuleSet.objects.select_for_update().filter(dataset=dataset).first()
        if row is None:
            row = _default_row(dataset)
        for name, value in changes.items():
            setattr(row, name, _CHECKS[name](value))
        if row.decimal_separator and row.thousands_separator == row.decimal_separator:
            raise CleaningError("The thousands separator must differ from the decimal one.")
        row.save()
    return row


def _default_row(dataset: Dataset) -> ReadingRuleSet:
    defaults = dataset_rules(dataset).reading
    return ReadingRuleSet(dataset=dataset, null_tokens=list(defaults.null_tokens))


def _null_tokens(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(token, str) for token in value):
        raise CleaningError('null_tokens is a list of texts, e.g. ["NA", "n/a", "-"].')
    if len(value) > MAX_NULL_TOKENS or any(len(token) > 100 for token in value):
        raise CleaningError(f"At most {MAX_NULL_TOKENS} null tokens of 100 characters each.")
    return [token for token in dict.fromkeys(value) if token]


def _decimal(value: Any) -> str:
    if value in (None, "", "auto"):
        return ""
    if value not in formats.DECIMAL_SEPARATORS:
        raise CleaningError("decimal_separator is '.', ',' or 'auto' (detected per file).")
    return str(value)


def _thousands(value: Any) -> str:
    if value in (None, "auto"):
        return "auto"
    if value not in formats.THOUSANDS_SEPARATORS:
        raise CleaningError(
            "thousands_separator is '' (none), ',', '.', ' ', \"'\" or 'auto' (a '.' with a "
            "decimal comma, none with a decimal point)."
        )
    return str(value)


def _day_first(value: Any) -> bool | None:
    if value in (None, "", "auto"):
        return None
    if isinstance(value, bool):
        return value
    raise CleaningError("day_first is true, false or 'auto' (detected per file).")


def _column_types(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_TYPED_COLUMNS:
        raise CleaningError(
            'column_types maps column names to types: {"temperature": "decimal"} (at most '
            f"{MAX_TYPED_COLUMNS})."
        )
    known = [kind.value for kind in ColumnType]
    for name, kind in value.items():
        if kind not in known:
            raise CleaningError(f"{kind!r} (column {name!r}) is not a type: {', '.join(known)}.")
    return {str(name): str(kind) for name, kind in value.items()}


def _strict(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CleaningError("strict is true or false.")
    return value


_CHECKS: dict[str, Any] = {
    "null_tokens": _null_tokens,
    "decimal_separator": _decimal,
    "thousands_separator": _thousands,
    "day_first": _day_first,
    "column_types": _column_types,
    "strict": _strict,
}


def upload_reading_record(*, upload: Upload, reading: Reading, first: bool) -> None:
    """Keep how the upload was read. On a dataset's first upload, what the file proved (a
    decimal comma, day-first dates) becomes the dataset's rule where the rule said 'detect',
    so that later files read alike."""
    decided = {
        "null_tokens": list(reading.null_tokens),
        "decimal_separator": reading.decimal_separator,
        "thousands_separator": reading.thousands_separator,
        "day_first": reading.day_first,
    }
    UploadReading.objects.update_or_create(
        upload=upload, defaults={"rules": decided, "notes": list(reading.notes)}
    )
    if first:
        _keep_detected(upload.dataset, reading)


def _keep_detected(dataset: Dataset, reading: Reading) -> None:
    rules = dataset_rules(dataset).reading
    changes: dict[str, Any] = {}
    if rules.decimal_separator is None and reading.decimal_separator == ",":
        changes["decimal_separator"] = ","
    if rules.day_first is None and reading.day_first:
        changes["day_first"] = True
    if changes:
        reading_rules_set(dataset=dataset, changes=changes)


# -- recipes -----------------------------------------------------------------------------------


def _checked_steps(dataset: Dataset, steps: object) -> list[Step]:
    if not isinstance(steps, list):
        raise CleaningError('steps is a list: [{"op": "trim", "column": "name"}, ...].')
    if len(steps) > MAX_STEPS:
        raise CleaningError(f"A recipe has at most {MAX_STEPS} steps.")
    checked = []
    names = set(dataset.schema.names)
    for position, data in enumerate(steps, 1):
        try:
            step = step_from_json(data)
        except StepError as error:
            raise CleaningError(f"Step {position}: {error}") from None
        if names and step.column not in names:
            raise CleaningError(
                f"Step {position}: {step.column!r} is not a column of this dataset "
                f"({', '.join(sorted(names))})."
            )
        checked.append(step)
    return checked


def recipe_put(
    *, dataset: Dataset, steps: object, user: Editor = None, note: str = ""
) -> RecipeVersion:
    """Make `steps` the recipe's new version; every earlier version is kept."""
    checked = _checked_steps(dataset, steps)
    with transaction.atomic():
        recipe = _locked_recipe(dataset)
        return _add_version(recipe, checked, user, note)


def _locked_recipe(dataset: Dataset) -> Recipe:
    Recipe.objects.get_or_create(dataset=dataset)
    return Recipe.objects.select_for_update().get(dataset=dataset)


def _add_version(recipe: Recipe, steps: Sequence[Step], user: Editor, note: str) -> RecipeVersion:
    recipe.version += 1
    recipe.save(update_fields=["version"])
    return RecipeVersion.objects.create(
        recipe=recipe,
        number=recipe.version,
        steps=[step_to_json(step) for step in steps],
        note=note[:300],
        created_by=_user(user),
    )


def recipe_schedule_set(
    *, dataset: Dataset, cron_expression: str, time_zone: str, now: datetime | None = None
) -> Recipe:
    """Re-apply the recipe to the stored rows at a cron time in `time_zone` ('' turns it off)."""
    expression = cron_expression.strip()
    try:
        zone_check(time_zone)
    except InvalidSchedule as error:
        raise CleaningError(str(error)) from None
    next_run = None
    if expression:
        try:
            next_run = cron(expression, time_zone).next_after(now or timezone.now())
        except InvalidSchedule as error:
            raise CleaningError(str(error)) from None
    with transaction.atomic():
        recipe = _locked_recipe(dataset)
        recipe.cron, recipe.time_zone, recipe.next_run_at = expression, time_zone, next_run
        recipe.save(update_fields=["cron", "time_zone", "next_run_at"])
    return recipe


def recipes_run_due(*, now: datetime) -> list[Recipe]:
    """Re-apply every recipe whose time has come; each is claimed (its next time moved on)
    with one conditional update, so one process runs each occurrence."""
    ran = []
    for recipe in Recipe.objects.filter(next_run_at__lte=now).select_related("dataset"):
        following = cron(recipe.cron, recipe.time_zone).next_after(now)
        claimed = Recipe.objects.filter(pk=recipe.pk, next_run_at=recipe.next_run_at).update(
            next_run_at=following, last_run_at=now
        )
        if claimed != 1:
            continue
        error = ""
        try:
            recipe_apply(dataset=recipe.dataset, user=None)
        except DatasetError as problem:  # a rule the stored rows cannot take: said on the recipe
            error = str(problem)
        Recipe.objects.filter(pk=recipe.pk).update(last_error=error)
        ran.append(recipe)
    return ran


def recipe_apply(*, dataset: Dataset, user: Editor) -> StoredRowsEdit:
    """Apply the current recipe to the rows already stored (one journaled edit)."""
    steps = recipe_steps(dataset)
    if not steps:
        raise CleaningError("The recipe has no steps yet: PUT some first.")
    return apply_to_stored_rows(dataset, steps, user)


# -- the rows already stored -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRowsEdit:
    """The journaled edits that applied steps to the stored rows (csvhub.edits): one per
    column the steps change, each undoable on its own."""

    edit_ids: tuple[int, ...]
    rows_changed: int  # rows of the edits that finished at once; a queued one counts later

    @property
    def edit_id(self) -> int | None:
        return self.edit_ids[0] if self.edit_ids else None


def apply_to_stored_rows(dataset: Dataset, steps: Sequence[Step], user: Editor) -> StoredRowsEdit:
    """Apply `steps` to the dataset's stored rows as journaled, undoable value-map edits of the
    bulk edits service (csvhub.edits), where readers see each all at once or not at all.

    Each text column the steps name is read as its distinct values (GROUP BY in the warehouse,
    never the rows), the steps run on each value in order, and the values that change become
    one map edit of that column. Only text columns: a typed column's stored values are no
    longer the text the steps were written for. Raises CleaningError (400) and changes nothing
    when a step names a column that is not stored as text, or one with more distinct values
    than can be mapped at once.
    """
    plans = [
        (name, _stored_value_map(dataset, name, column_steps))
        for name, column_steps in _steps_by_column(steps).items()
    ]
    edits = [
        edit_create(
            dataset=dataset,
            user=user,
            selection=Selection(),
            action={"set": {name: {"map": mapping}}},
        )
        for name, mapping in plans
        if mapping
    ]
    return StoredRowsEdit(
        edit_ids=tuple(edit.pk for edit in edits),
        rows_changed=sum(edit.rows_affected or 0 for edit in edits),
    )


def _steps_by_column(steps: Sequence[Step]) -> dict[str, list[Step]]:
    by_column: dict[str, list[Step]] = {}
    for step in steps:
        by_column.setdefault(step.column, []).append(step)
    return by_column


def _stored_value_map(dataset: Dataset, name: str, steps: Sequence[Step]) -> dict[str, str | None]:
    """Stored value → the value the steps make of it, for the values they change; a value the
    steps empty becomes NULL, as an empty cell does at upload."""
    column = dataset.schema.get(name)
    if column is None:
        raise CleaningError(f"The recipe names {name!r}, which is not a column of this dataset.")
    if column.type is not ColumnType.TEXT:
        raise CleaningError(
            f"{name!r} is stored as {column.type}: recipes change the stored values of text "
            "columns only (they apply to every new upload's cells before types are inferred)."
        )
    cap = min(settings.CSVHUB_CLUSTER_MAX_VALUES, MAX_MAP_PAIRS)
    found = distinct_values(table_name=dataset.table_name, column=column, cap=cap)
    if not found.complete:
        raise CleaningError(
            f"{name!r} holds more than {cap:,} distinct values, more than one edit maps at once; "
            "nothing was changed (the recipe still applies to every new upload)."
        )
    rewrites = [step.rule().rewrite for step in steps]
    mapping: dict[str, str | None] = {}
    for value, _count in found.values:
        cleaned = value
        for rewrite in rewrites:
            cleaned = rewrite(cleaned)
        if cleaned != value:
            mapping[value] = cleaned or None
    return mapping


# -- clusters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    version: RecipeVersion
    stored_rows: StoredRowsEdit | None
    stored_rows_message: str


def cluster_accept(
    *, dataset: Dataset, column: str, values: Sequence[str], canonical: str, user: Editor
) -> Accepted:
    """Map `values` to `canonical` in the recipe (a new version; future uploads are cleaned
    too), then apply that to the stored rows as a journaled edit."""
    column = _check_cluster(dataset, column, values)
    if not isinstance(canonical, str) or not canonical.strip():
        raise CleaningError("canonical is the value the cluster's values become (text).")
    mapping = {value: canonical for value in values if value != canonical}
    if not mapping:
        raise CleaningError("Every value already is the canonical one: nothing to change.")
    step = MapValues(column, mapping)
    with transaction.atomic():
        recipe = _locked_recipe(dataset)
        current = recipe.versions.order_by("-number").values_list("steps", flat=True).first()
        steps = [step_from_json(data) for data in current or ()]
        version = _add_version(recipe, [*steps, step], user, f"cluster of {column} accepted")
    try:
        edit = apply_to_stored_rows(dataset, [step], user)
    except DatasetError as refused:  # the recipe keeps the step for future uploads
        return Accepted(version, None, str(refused))
    return Accepted(version, edit, "")


def cluster_reject(*, dataset: Dataset, column: str, values: Sequence[str]) -> int:
    """Remember that these values are not the same: no pair of them is suggested again.
    Returns the number of pairs newly remembered."""
    column = _check_cluster(dataset, column, values)
    distinct = sorted(set(values))
    pairs = {(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1 :]}
    known = set(
        RejectedPair.objects.filter(dataset=dataset, column=column).values_list("first", "second")
    )
    new = [
        RejectedPair(dataset=dataset, column=column, first=a, second=b)
        for a, b in sorted(pairs - known)
    ]
    RejectedPair.objects.bulk_create(new)
    return len(new)


MAX_CLUSTER_VALUES = 1000


def _check_cluster(dataset: Dataset, column: str, values: Sequence[str]) -> str:
    """The column's name (as the rows API reads names and labels), after checking the
    cluster."""
    found = ColumnResolver(dataset.schema).get(column, role="clusters")
    if found.type is not ColumnType.TEXT:
        raise CleaningError(f"{column} is a {found.type} column; clusters are of text columns.")
    if (
        not isinstance(values, list)
        or len(values) < 2
        or not all(isinstance(value, str) for value in values)
    ):
        raise CleaningError("values is a list of at least two texts (the cluster's values).")
    if len(values) > MAX_CLUSTER_VALUES:
        raise CleaningError(f"A cluster has at most {MAX_CLUSTER_VALUES} values.")
    return found.name
