"""Reads for the Simetric and Thena endpoints: which dataset a table name or customer id means,
and Thena's two analyses, answered from the summaries csvhub keeps at ingestion."""

from __future__ import annotations

import re
import uuid
from enum import IntEnum
from typing import Any, NotRequired, TypedDict

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.text import slugify

from csvhub.accounts.models import Organization
from csvhub.compat.models import Customer
from csvhub.datasets import analysis, selectors
from csvhub.datasets.errors import DatasetError, DatasetNotFound
from csvhub.datasets.models import Dataset
from csvhub.schema import ColumnType

# Path segments under /api/ that csvhub's own routes answer, and `v` with digits for its future
# API versions: a dataset with one of these names is reached at /api/_/{name}/ (or
# /api/v1/datasets/{slug}/rows/). (`_` needs no entry: /api/_/ is the escape's own route.)
RESERVED_TABLE_NAMES = ("schema", "docs")
_API_VERSION = re.compile(r"v[0-9]+")
ESCAPE = "/api/_/"

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also takes Arabic-Indic digits
INTEGER_DIGITS = 19  # up to a 64-bit integer's digits
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class AnalyzeType(IntEnum):
    """Thena's analysis codes."""

    TIME_DIFFERENCE = 10000
    ROW_COUNT = 10001


ANALYZE_TYPES = {
    AnalyzeType.TIME_DIFFERENCE: "time difference between the first and the most recent row",
    AnalyzeType.ROW_COUNT: "total number of rows",
}
VALID_TYPES = "; ".join(f"{code.value} ({what})" for code, what in ANALYZE_TYPES.items())


def table_slug(table_name: str) -> str:
    """The slug of the dataset Simetric calls `table_name`: `titanic` → `titanic`, `Titanic`
    → `titanic` (the slug csvhub gave the dataset made from `titanic.csv`)."""
    return slugify(table_name)[:70] or "dataset"


def table_get(*, organization: Organization, table_name: str, escaped: bool = False) -> Dataset:
    """The dataset behind /api/{table_name}/, or a 404. Names that csvhub's own routes own are
    only reached through the escape /api/_/{table_name}/."""
    if not slugify(table_name):
        # slugify keeps letters, digits, - and _ but trims the last two: "_", "-" and " " name
        # no table (the uploads' fallback slug `dataset` is reached by that name).
        raise DatasetNotFound(f"{table_name!r} names no table: give the table's name.")
    slug = table_slug(table_name)
    if not escaped and (slug in RESERVED_TABLE_NAMES or _API_VERSION.fullmatch(slug)):
        raise DatasetNotFound(
            f"/api/{table_name}/ belongs to csvhub itself; the table {slug!r} is at "
            f"{ESCAPE}{slug}/."
        )
    return selectors.dataset_find(organization=organization, slug=slug)


def customer_id_normalize(raw: object) -> str:
    """A customer id as stored: an integer as its decimal digits (1000, "1000" and "01000" are
    one customer), a UUID in canonical lowercase; anything else is a 400 saying so."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        raw = str(raw)
    if isinstance(raw, str):
        # All digits is an integer, even 32 of them (which uuid.UUID would also take); a UUID
        # is written in full, as the OpenAPI schema says (compat.apis).
        if _DIGITS.fullmatch(raw) and len(raw) <= INTEGER_DIGITS:
            return str(int(raw))
        if re.fullmatch(UUID_PATTERN, raw):
            return str(uuid.UUID(raw))
    raise DatasetError(
        f"customer_id must be a non-negative integer (up to {INTEGER_DIGITS} digits) or a "
        f"UUID (8-4-4-4-12 hexadecimal digits); got {raw!r}."
    )


def customer_list(*, organization: Organization) -> QuerySet[Customer]:
    return Customer.objects.filter(organization=organization).select_related("dataset")


def customer_get(*, organization: Organization, customer_id: str) -> Customer:
    """The customer, or a 404: another organization's customer does not exist here."""
    try:
        return customer_list(organization=organization).get(customer_id=customer_id)
    except Customer.DoesNotExist:
        raise DatasetNotFound(
            f"No customer {customer_id} in this organization: a customer's first upload to "
            "/api/v1/event/ creates it (list them at /api/v1/customers/)."
        ) from None


def analyze_input(data: object) -> dict[str, object]:
    """The analyze request's body, one value per key. A form that repeats a key
    (`analyze_type=10001&analyze_type=10000`) is a 400: which value was meant cannot be told."""
    if isinstance(data, QueryDict):
        repeated = sorted(key for key, values in data.lists() if len(values) > 1)
        if repeated:
            raise DatasetError(f"Send each key once; repeated: {', '.join(repeated)}.")
        return dict(data.items())  # the last value of each key, as QueryDict.dict()
    return data if isinstance(data, dict) else {}


def analyze_type_parse(data: dict[str, object], *, form: bool = False) -> AnalyzeType:
    """The analysis asked for. Thena documents the key `analyze_type`, and its own example
    sends `analyzer_type`: either is read; both with different values is a 400."""
    given = [data[key] for key in ("analyze_type", "analyzer_type") if key in data]
    if len({str(value) for value in given}) > 1:
        raise DatasetError(
            f"analyze_type {given[0]!r} and analyzer_type {given[1]!r} disagree; send one. "
            f"Valid types: {VALID_TYPES}."
        )
    raw = given[0] if given else None
    if form and isinstance(raw, str) and _DIGITS.fullmatch(raw):
        raw = int(raw)  # a form's values are text; JSON's types are numbers
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in set(AnalyzeType):
        return AnalyzeType(raw)
    if raw is None:
        raise DatasetError(f"Send analyze_type (or analyzer_type). Valid types: {VALID_TYPES}.")
    raise DatasetError(f"Unknown analyze_type {raw!r}. Valid types: {VALID_TYPES}.")


class ThenaAnswer(TypedDict):
    """Thena's analyze answer: `result` is the row count or the seconds of the time difference
    (null while the customer has no rows); the analysis' details come along."""

    customer_id: str
    analyze_type: int
    dataset: str
    result: int | float | None
    row_count: NotRequired[int]
    column: NotRequired[str]
    earliest: NotRequired[str | None]
    latest: NotRequired[str | None]
    seconds: NotRequired[int | float | None]
    duration: NotRequired[str | None]


def customer_analysis(*, customer: Customer, analyze_type: AnalyzeType) -> ThenaAnswer:
    """The time difference is measured on the first timestamp column in file order, else the
    first date column: analysis' own choice (the first time column), preferring timestamps,
    since an event's moment is a timestamp and a date beside it (`day`) is coarser."""
    dataset = customer.dataset
    if analyze_type is AnalyzeType.ROW_COUNT:
        found = analysis.analysis_row_count(dataset=dataset)
        result = found["row_count"]
    else:
        found = _time_span(dataset)
        result = found["seconds"]
    details = {key: value for key, value in found.items() if key not in ("type", "source")}
    answer: ThenaAnswer = ThenaAnswer(
        customer_id=customer.customer_id,
        analyze_type=analyze_type.value,
        dataset=dataset.slug,
        result=result,
        **details,  # type: ignore[typeddict-item]
    )
    return answer


def _time_span(dataset: Dataset) -> dict[str, Any]:
    try:
        return analysis.analysis_time_span(dataset=dataset, prefer=ColumnType.TIMESTAMP)
    except analysis.InvalidAnalysis as error:
        raise DatasetError(
            f"analyze_type {AnalyzeType.TIME_DIFFERENCE.value} measures time: {error}"
        ) from None
