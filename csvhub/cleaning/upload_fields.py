"""Reading rules as fields of an upload's form (POST /api/v1/uploads/ and the upload page):
text fields, since a multipart form has no lists, booleans or objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from csvhub.cleaning.errors import CleaningError

READING_RULE_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "null_tokens": serializers.CharField(
        required=False,
        help_text="Cells read as empty (NULL), comma-separated (`NA,n/a,-`) or a JSON list; "
        "set on the dataset for this and later files.",
    ),
    "decimal_separator": serializers.ChoiceField(
        choices=[".", ",", "auto"], required=False, help_text="`auto`: detected per file."
    ),
    "thousands_separator": serializers.CharField(
        required=False, help_text="`none`, `,`, `.`, `space`, `'` or `auto`."
    ),
    "day_first": serializers.ChoiceField(
        choices=["true", "false", "auto"], required=False, help_text="`05/01/2024` is 5 January."
    ),
    "column_types": serializers.CharField(
        required=False,
        help_text="Types that hold whatever the values: `temperature:decimal,zip:text`.",
    ),
    "strict": serializers.ChoiceField(
        choices=["true", "false"],
        required=False,
        help_text="Appends: values that do not fit a column's type are rejected, not widened.",
    ),
}


def reading_rules_of_form(field: Callable[[str], object]) -> dict[str, Any]:
    """The rules given in a form, typed for cleaning.services (empty fields are not given)."""
    rules: dict[str, Any] = {}
    for name, read in _READERS.items():
        value = field(name)
        if isinstance(value, str) and value:
            rules[name] = read(value if name == "thousands_separator" else value.strip())
    return rules


def _tokens(text: str) -> list[str]:
    if text.startswith("["):
        try:
            tokens = json.loads(text)
        except ValueError:
            raise CleaningError("null_tokens: a JSON list of texts, or comma-separated.") from None
        return tokens if isinstance(tokens, list) else []
    return [token.strip() for token in text.split(",") if token.strip()]


def _switch(text: str) -> bool | str:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return lowered  # 'auto', or refused by the service's check


def _thousands(text: str) -> str:
    return {"none": "", "space": " "}.get(text.strip(), text if text == " " else text.strip())


def _types(text: str) -> dict[str, str]:
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise CleaningError("column_types: `name:type,...` or a JSON object.") from None
        return parsed if isinstance(parsed, dict) else {}
    types = {}
    for part in text.split(","):
        name, colon, kind = part.partition(":")
        if not colon or not name.strip():
            raise CleaningError(f"column_types: {part.strip()!r} is not `name:type`.")
        types[name.strip()] = kind.strip()
    return types


_READERS: dict[str, Callable[[str], Any]] = {
    "null_tokens": _tokens,
    "decimal_separator": str,
    "thousands_separator": _thousands,
    "day_first": _switch,
    "column_types": _types,
    "strict": _switch,
}
