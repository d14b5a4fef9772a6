"""API-wide plumbing: every error on an API path answers one JSON shape (docs/api.md, "Errors").

    {"detail": "<a sentence for the person who sent the request>"}
    {"detail": "columns: This field is required.",
     "errors": {"columns": ["This field is required."]}}

`detail` is always there; `errors` comes with 400s about named fields, keyed by the field's path
(`columns.0`, `non_field_errors` for the request as a whole). The OpenAPI schema declares these
answers on every operation with ErrorSerializer (ApiSchema below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from csvhub.datasets.errors import DatasetError

# Paths whose errors answer the JSON shape: csvhub's API, and Simetric's upload (csvhub.compat).
API_PREFIXES = ("/api/", "/etl/")


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """The body of every 4xx and 5xx answer of the API."""

    class Meta:
        ref_name = "Error"

    detail = serializers.CharField(help_text="What went wrong and how to fix it.")
    # A field named like Serializer.errors: DRF's metaclass takes declared fields off the class,
    # so the property stays (mypy sees only the class body).
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400s about named fields: messages per field path (`columns.0`; "
        "`non_field_errors` for the request as a whole).",
    )


class TextField(serializers.CharField):
    """A CharField that takes JSON strings only: the schema says string, so `0` is a 400."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def body_field(request: Request, name: str) -> object:
    """A field of the request's form (or JSON object) body; a body of another shape (a JSON
    list) has none."""
    data = request.data
    return data.get(name) if isinstance(data, Mapping) else None


def whole_number_or_empty(minimum: int, maximum: int) -> dict[str, Any]:
    """The OpenAPI schema of a query parameter read by csvhub's query grammars: a whole number,
    or empty (`limit=`) for the default, as the grammars read every empty parameter."""
    return {
        "oneOf": [
            {"type": "integer", "minimum": minimum, "maximum": maximum},
            {"type": "string", "maxLength": 0},
        ]
    }


# Declared on every operation; a view's own description for a status takes precedence.
ERROR_ANSWERS = {
    400: "The request is invalid: `detail` says what to fix.",
    401: "No valid credentials: a missing, unknown, revoked or expired token.",
    403: "The caller's role does not allow this.",
    404: "No such object in the caller's organization (or no such organization).",
    409: "The request conflicts with the current state of the object.",
    413: "The request body is too large.",
    429: "Too many failed attempts from this address: wait and try again.",
}


class ApiSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the standard error answers on every operation."""

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, description in ERROR_ANSWERS.items():
            if str(code) not in responses:
                answer = OpenApiResponse(ErrorSerializer, description=description)
                responses[str(code)] = self._get_response_for_code(
                    answer, str(code), direction=direction
                )
        return responses


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DatasetError):
        return Response({"detail": str(exc)}, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = validation_body(exc.detail)
    return response


def validation_body(detail: Any) -> dict[str, Any]:
    """DRF's nested field errors as {"detail": ..., "errors": {path: [messages]}}."""
    errors: dict[str, list[str]] = {}
    for path, message in _messages(detail, ""):
        errors.setdefault(path, []).append(message)
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    sentences = [
        message if path == non_field else f"{path}: {message}"
        for path, messages in errors.items()
        for message in messages
    ]
    return {
        "detail": " ".join(_sentence(s) for s in sentences) or "Invalid request.",
        **({"errors": errors} if errors else {}),
    }


def _messages(detail: Any, path: str) -> Iterator[tuple[str, str]]:
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _messages(value, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                yield from _messages(item, f"{path}.{index}" if path else str(index))
            else:
                yield path or non_field, str(item)
    else:
        yield path or non_field, str(detail)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


# --- Django's own error pages, as JSON on API paths ----------------------------------------------


def _json_on_api(
    status: int, message: str, page: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    """A handler4xx/500 view: the JSON error shape under /api/, Django's page elsewhere."""

    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        if not request.path.startswith(API_PREFIXES):
            return page(request) if exception is None else page(request, exception)
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": "The request body is too large."}, status=413)
        return JsonResponse({"detail": message}, status=status)

    return view


bad_request = _json_on_api(400, "The request could not be read.", defaults.bad_request)
permission_denied = _json_on_api(
    403, "You do not have permission to do this.", defaults.permission_denied
)
page_not_found = _json_on_api(
    404,
    "Not found: no API object or path matches this URL (the API is described at /api/schema/).",
    defaults.page_not_found,
)
server_error = _json_on_api(500, "Internal error: it has been logged.", defaults.server_error)
