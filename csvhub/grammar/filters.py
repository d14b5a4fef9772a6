"""The filter grammar shared by the rows and analysis endpoints: its forms and its operators.

{column}={op}:{value}   {column}={value}   {column}__{op}={value}
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from csvhub.grammar.terms import ALL_TYPES
from csvhub.schema import ColumnType

MAX_IN_VALUES = 1000
# `{column}__{op}=...` names the operator in the key; `{op}:...` starts the value with it.
OPERATOR_SUFFIX = "__"
OPERATOR_END = ":"


class Operator(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    LIKE = "like"
    LT = "lt"
    GT = "gt"
    LTE = "lte"
    GTE = "gte"
    IN = "in"
    NOTIN = "notin"
    ISNULL = "isnull"
    NOTNULL = "notnull"
    STARTSWITH = "startswith"
    ENDSWITH = "endswith"


class ValueForm(StrEnum):
    """What follows an operator."""

    ONE = "one"  # one value, read as the column's type (or as text, see `on_text`)
    LIST = "list"  # `a,b,c` or a JSON array, each item read as the column's type
    NONE = "none"  # nothing (or true/false, which flips the test)


@dataclass(frozen=True)
class FilterOperator:
    name: Operator
    words: str  # what the dataset page's menu says
    description: str  # what the API docs say
    value: ValueForm = ValueForm.ONE
    # Matched against the column's canonical text (the form CSV exports show), so the value is
    # not read as the column's type: `like` works on numbers and dates too.
    on_text: bool = False
    column_types: tuple[ColumnType, ...] = ALL_TYPES


_COMPARED = (
    "in the column's type: numbers by value, dates and timestamps in time, text by Unicode "
    "code point, false before true"
)
_TEXT_MATCH = (
    "ignoring case, on the value's canonical text (what CSV exports show), so it works on "
    "every type"
)

FILTER_OPERATORS: tuple[FilterOperator, ...] = (
    FilterOperator(
        Operator.EQ,
        "is",
        "equal to the value. `{column}={value}` without an operator means eq; `{column}=` "
        "(empty) matches empty cells. Text compares exactly, case included.",
    ),
    FilterOperator(
        Operator.NEQ,
        "is not",
        "not equal to the value; also matches empty cells. `{column}=neq:` matches non-empty "
        "cells.",
    ),
    FilterOperator(
        Operator.LIKE,
        "contains",
        f"contains the value, {_TEXT_MATCH}. `%` and `_` match themselves.",
        on_text=True,
    ),
    FilterOperator(Operator.LT, "less than / before", f"less than the value, {_COMPARED}."),
    FilterOperator(Operator.GT, "greater than / after", f"greater than the value, {_COMPARED}."),
    FilterOperator(Operator.LTE, "at most", f"less than or equal to the value, {_COMPARED}."),
    FilterOperator(Operator.GTE, "at least", f"greater than or equal to the value, {_COMPARED}."),
    FilterOperator(
        Operator.IN,
        "is one of",
        f'one of a list: `a,b,c`, or a JSON array for items with commas (`["a,b","c"]`); '
        f"1 to {MAX_IN_VALUES} items.",
        value=ValueForm.LIST,
    ),
    FilterOperator(
        Operator.NOTIN,
        "is none of",
        "none of a list (written as for `in`); also matches empty cells.",
        value=ValueForm.LIST,
    ),
    FilterOperator(
        Operator.ISNULL,
        "is empty",
        "an empty cell: `{column}=isnull:` takes no value (`isnull:false` means notnull).",
        value=ValueForm.NONE,
    ),
    FilterOperator(
        Operator.NOTNULL,
        "is not empty",
        "a non-empty cell: `{column}=notnull:` takes no value (`notnull:false` means isnull).",
        value=ValueForm.NONE,
    ),
    FilterOperator(
        Operator.STARTSWITH, "starts with", f"begins with the value, {_TEXT_MATCH}.", on_text=True
    ),
    FilterOperator(
        Operator.ENDSWITH, "ends with", f"ends with the value, {_TEXT_MATCH}.", on_text=True
    ),
)

OPERATOR_NAMES = ", ".join(operator.name.value for operator in FILTER_OPERATORS)
TEXT_MATCH = frozenset(operator.name for operator in FILTER_OPERATORS if operator.on_text)
LISTS = frozenset(
    operator.name for operator in FILTER_OPERATORS if operator.value is ValueForm.LIST
)
NULL_TESTS = frozenset(
    operator.name for operator in FILTER_OPERATORS if operator.value is ValueForm.NONE
)


@dataclass(frozen=True)
class FilterForm:
    """One way to write a filter, for the docs and the OpenAPI text."""

    form: str
    example: str
    meaning: str


FILTER_FORMS = (
    FilterForm("{column}={op}:{value}", "Fare=gt:7", "the operator starts the value"),
    FilterForm(
        "{column}={value}",
        "sex=male",
        "equality; a value whose prefix is not an operator is taken whole: `time=12:30`",
    ),
    FilterForm(
        "{column}__{op}={value}",
        "fare__gt=7",
        "the value is taken whole; filters a column named like a parameter: `sort__eq=3`",
    ),
)
# The filters of the API docs' example (a Titanic-shaped dataset), one query parameter each.
FILTER_EXAMPLE = {"sex": "male", "Name": "like:Braund", "Ticket": "like:A", "Fare": "gt:7"}
