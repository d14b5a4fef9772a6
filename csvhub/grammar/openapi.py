"""The OpenAPI parameters and grammar text of the rows and analysis endpoints, generated from
the grammar tables: what the schema says is what the parsers read, operator by operator."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from csvhub.api import whole_number_or_empty
from csvhub.grammar.analysis import (
    ANALYSIS_KINDS,
    ANALYSIS_PARAMETERS,
    METRIC_FUNCTIONS,
    types_taking,
)
from csvhub.grammar.facets import FACET_PARAMETERS
from csvhub.grammar.filters import (
    FILTER_EXAMPLE,
    FILTER_FORMS,
    FILTER_OPERATORS,
    OPERATOR_NAMES,
)
from csvhub.grammar.rows import PASSED_THROUGH, RESERVED, ROW_PARAMETERS, SEARCH
from csvhub.grammar.terms import Parameter, ValueType


def openapi_parameter(parameter: Parameter, *, taken_by: str = "") -> OpenApiParameter:
    """One query parameter; choices are an enum, each choice's meaning in the description."""
    description = taken_by + parameter.description + _choices_text(parameter)
    examples = [OpenApiExample("Example", value=parameter.example)]
    return OpenApiParameter(
        parameter.name,
        _schema_type(parameter),
        description=description,
        required=parameter.required,
        enum=list(parameter.values) or None,
        examples=examples if parameter.example is not None else None,
    )


def _schema_type(parameter: Parameter) -> dict[str, Any] | type[str]:
    if parameter.value is ValueType.WHOLE_NUMBER:
        assert parameter.minimum is not None and parameter.maximum is not None
        return whole_number_or_empty(parameter.minimum, parameter.maximum)
    return str


def _choices_text(parameter: Parameter) -> str:
    return "".join(f"\n- `{c.value}`: {c.description}" for c in parameter.choices)


def filters_parameter(*, example: bool) -> OpenApiParameter:
    """The column filters as one form-exploded object, so Swagger UI can send them."""
    return OpenApiParameter(
        "filters",
        OpenApiTypes.OBJECT,
        style="form",
        explode=True,
        description="Column filters, one key per column: `{column}` → `{op}:{value}` or "
        "`{value}`. (Not a parameter itself: each key is sent as its own query parameter.)\n\n"
        + operators_text(),
        examples=[OpenApiExample("Example", value=FILTER_EXAMPLE)] if example else None,
    )


def rows_parameters() -> list[OpenApiParameter]:
    return [filters_parameter(example=True), *map(openapi_parameter, ROW_PARAMETERS)]


def analysis_parameters() -> list[OpenApiParameter]:
    return [
        *(openapi_parameter(p, taken_by=_taken_by(p.name)) for p in ANALYSIS_PARAMETERS),
        filters_parameter(example=False),
    ]


def facet_parameters() -> list[OpenApiParameter]:
    search = next(p for p in ROW_PARAMETERS if p.name == SEARCH)
    return [
        *map(openapi_parameter, FACET_PARAMETERS),
        openapi_parameter(search),
        filters_parameter(example=False),
    ]


def _taken_by(name: str) -> str:
    kinds = types_taking(name)
    return f"Taken by type={', '.join(kinds)}. " if kinds else ""


# -- text ----------------------------------------------------------------------------------


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def operators_text() -> str:
    """Every operator with what it matches, as a Markdown list."""
    return "Operators:\n" + _bullets(
        f"`{operator.name.value}`: {operator.description}" for operator in FILTER_OPERATORS
    )


def filters_text() -> str:
    """The filter forms and operators, as a Markdown section."""
    forms = _bullets(f"`{f.form}` (`{f.example}`): {f.meaning}" for f in FILTER_FORMS)
    return (
        "Columns are named by name or header label (matched ignoring case when exactly one "
        "column matches). Filters AND together and a column may repeat "
        "(`Fare=gt:7&Fare=lt:50`); values are read as the column's type (a bad one is a 400).\n"
        f"{forms}\n\nOperators: {OPERATOR_NAMES} (the `filters` parameter says what each "
        "matches)."
    )


def reserved_text() -> str:
    words = ", ".join(f"`{word}`" for word in RESERVED)
    passed = ", ".join(f"`{word}`" for word in PASSED_THROUGH)
    return (
        f"**Reserved words** (each also accepted with a leading `_`): {words}; {passed} "
        "chooses the organization. Filter a column named like a reserved word with the "
        "`__{op}` form: `sort__eq=3`, `count__gt=10`."
    )


def analysis_types_text() -> str:
    kinds = _bullets(f"`{kind.name.value}`: {kind.description}" for kind in ANALYSIS_KINDS)
    metrics = _bullets(function.description for function in METRIC_FUNCTIONS)
    return (
        f"One analysis of a dataset's rows, chosen by `type`:\n{kinds}\n\n"
        f"**Metrics** (name one with `alias=metric`: `total=sum:amount`):\n{metrics}"
    )
