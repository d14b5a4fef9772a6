"""POST /api/v1/datasets/{slug}/rows/: the rows endpoint (GET queries, csvhub.datasets) also
appends rows given as JSON. A thin view: the body is read here within its size limit, parsed
by payload, appended by services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from csvhub.accounts.access import request_organization
from csvhub.api import ErrorSerializer
from csvhub.appends import services
from csvhub.appends.payload import PayloadInvalid, PayloadTooLarge, payload_read
from csvhub.datasets import selectors
from csvhub.datasets.rows_apis import RowListApi


class RowsApi(RowListApi):
    """GET: query rows (RowListApi). POST: append rows."""

    # The body is read raw (JSON or NDJSON, within CSVHUB_APPEND_MAX_BYTES), never by DRF.
    parser_classes: list[Any] = []

    @extend_schema(
        operation_id="datasets_rows_append",
        summary="Append rows given as JSON",
        description=(
            "One object, a list of objects (`application/json`) or one object per line "
            "(`application/x-ndjson`), keyed by column names or labels (case-insensitive). "
            "Values are read as CSV cells are: numbers as written, booleans, strings in any "
            "format the column's type accepts, null or a missing key for an empty cell. A "
            "value the column's type does not hold widens it as an upload would "
            "(`type_changes`). All rows or none. A dataset without columns takes them from the "
            "keys. With an `Idempotency-Key` header, a retry answers the first result and "
            "appends nothing again."
        ),
        parameters=[
            OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The dataset."),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Up to 255 characters; remembered per dataset for "
                "CSVHUB_APPEND_KEY_TTL_SECONDS (24 hours by default).",
            ),
        ],
        request={
            "application/json": {"oneOf": [{"type": "object"}, {"type": "array"}]},
            "application/x-ndjson": {"type": "string"},
        },
        responses={
            201: OpenApiResponse(
                description="Appended (or, with Idempotency-Replayed: true, appended before).",
                examples=[
                    OpenApiExample(
                        "Two rows",
                        value={
                            "rows_appended": 2,
                            "row_ids": {"first": 101, "last": 102},
                            "type_changes": [
                                {"column": "temperature", "from": "integer", "to": "decimal"}
                            ],
                            "columns": ["sensor", "time", "temperature"],
                        },
                    )
                ],
            ),
            400: OpenApiResponse(ErrorSerializer, description="Bad JSON, unknown keys..."),
            409: OpenApiResponse(ErrorSerializer, description="Key reused with another body."),
            413: OpenApiResponse(ErrorSerializer, description="Too many bytes or rows."),
            415: OpenApiResponse(ErrorSerializer, description="Neither JSON nor NDJSON."),
        },
        examples=[
            OpenApiExample(
                "Titanic example",
                value={"Name": "Dooley, Mr. Patrick", "Sex": "male", "Fare": 7.75, "Age": 32},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        body = _body(request)
        content_type = request.content_type or ""
        payload = payload_read(body, content_type, max_rows=settings.CSVHUB_APPEND_MAX_ROWS)
        key = request.headers.get("Idempotency-Key", "").strip()
        answer = services.rows_append(
            dataset=dataset,
            payload=payload,
            idempotency_key=key,
            # Only a key's retries are compared with the first request (a hash of the body).
            fingerprint=services.request_fingerprint(content_type, body) if key else "",
        )
        headers = {"Idempotency-Replayed": "true"} if answer.replayed else None
        return Response(answer.body, status=status.HTTP_201_CREATED, headers=headers)


def _body(request: Request) -> bytes:
    """The body, refused with a 413 past CSVHUB_APPEND_MAX_BYTES before it is all read."""
    limit = settings.CSVHUB_APPEND_MAX_BYTES
    message = (
        f"The body is larger than {limit:,} bytes; nothing was appended. Send the rows in "
        "several requests (the limit is set by CSVHUB_APPEND_MAX_BYTES)."
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(message)
    stream = request.stream
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(message)
    if not body.strip():
        raise PayloadInvalid(
            "The body is empty: send one object or a list of objects, with a Content-Length "
            "(a chunked body without one is not read)."
        )
    return body
