"""Drop-in endpoints for the clients of Simetric and Thena (docs/migrating.md). Thin views: the
uploads go through csvhub's upload service, the query through the rows endpoint's own view,
the analyses through the summaries kept at ingestion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.http import QueryDict, StreamingHttpResponse
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import CanEdit, CanView
from csvhub.api import body_field
from csvhub.compat import selectors, services
from csvhub.compat.models import Customer
from csvhub.compat.parsers import JsonLabelledAsFormParser
from csvhub.datasets.apis import AdmitBeforeTheBody, UploadSerializer
from csvhub.datasets.models import Upload
from csvhub.datasets.rows_apis import TITANIC_QUERY, RowListApi

TAG = "compatibility"
# Error answers are left to the project's schema class (csvhub.api), which declares them on
# every operation in the one shape all errors share; the errors raised here are DRF's and
# DatasetError, turned into that shape by csvhub.api.exception_handler.


def _accepted(request: Request, uploads: list[Upload]) -> Response:
    """Answered as POST /api/v1/uploads/ answers (202 and one upload object per file), once the
    file is loaded or CSVHUB_COMPAT_UPLOAD_WAIT_SECONDS have passed."""
    seconds = settings.CSVHUB_COMPAT_UPLOAD_WAIT_SECONDS
    uploads = services.uploads_wait(uploads=uploads, seconds=seconds)
    data = UploadSerializer.many_init(uploads, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED)


class TableUploadApi(AdmitBeforeTheBody, APIView):
    """Simetric's `POST /etl/`."""

    permission_classes = [CanEdit]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=[TAG],
        operation_id="compat_simetric_upload",
        summary="Simetric: upload a CSV file as the table named after it",
        description="Multipart `file` (one CSV file) and an optional `text` (or `title`). The "
        "table is named after the file (`titanic.csv` → `titanic`); a later file of the same "
        "name appends to it when its header matches. The title names a new table's dataset "
        "and is ignored on appends. Answers like `POST /api/v1/uploads/`, once the file is loaded "
        "(or after CSVHUB_COMPAT_UPLOAD_WAIT_SECONDS).",
        request={
            "multipart/form-data": inline_serializer(
                "SimetricUploadInput",
                {
                    "file": serializers.FileField(),
                    # Empty is accepted (and names nothing), as Simetric's form sends it.
                    "text": serializers.CharField(required=False, allow_blank=True),
                    "title": serializers.CharField(required=False, allow_blank=True),
                },
            )
        },
        responses={202: UploadSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        uploads = services.table_upload_create(
            organization=request_organization(request),
            files=request.FILES.getlist("file"),
            title=str(body_field(request, "text") or body_field(request, "title") or ""),
            user=request.user,
        )
        return _accepted(request, uploads)


_TABLE_DESCRIPTION = f"""Simetric's query, answered by csvhub's rows endpoint: exactly what
`GET /api/v1/datasets/{{slug}}/rows/` answers for the same parameters (same grammar, errors and
pages). Example: `GET /api/titanic/?{TITANIC_QUERY}`.

`{{table_name}}` is the dataset's slug (the file's name without `.csv`). csvhub's own routes
win: a dataset named `schema`, `docs` or `v` and digits (`v1`; `v2` and on are kept for
future API versions) is reached at `/api/_/{{table_name}}/`, which works for every table. A name
with no letter or digit (`_`, `-`) names no table (404)."""


def _documented_like[F: Callable[..., Any]](parent: Callable[..., Any]) -> Callable[[F], F]:
    """Start a method's OpenAPI description from `parent`'s (its parameters and responses);
    a copy, so that extending it leaves the parent's untouched."""

    def decorate(method: F) -> F:
        method.kwargs = dict(getattr(parent, "kwargs", {}))  # type: ignore[attr-defined]
        return method

    return decorate


class TableRowsApi(RowListApi):
    """Simetric's `GET /api/{table_name}/`: the rows view itself, with the dataset named by its
    table name. Reads need the viewer role, as on the rows endpoint."""

    escaped = False

    @extend_schema(
        tags=[TAG],
        operation_id="compat_simetric_query",
        summary="Simetric: query a table's rows",
        description=_TABLE_DESCRIPTION,
        parameters=[
            OpenApiParameter("slug", str, OpenApiParameter.PATH, exclude=True),
            OpenApiParameter(
                "table_name",
                str,
                OpenApiParameter.PATH,
                description="The table: the dataset's slug.",
                examples=[OpenApiExample("Titanic", value="titanic")],
            ),
        ],
    )
    @_documented_like(RowListApi.get)
    def get(self, request: Request, table_name: str) -> Response | StreamingHttpResponse:
        dataset = selectors.table_get(
            organization=request_organization(request),
            table_name=table_name,
            escaped=self.escaped,
        )
        return super().get(request, slug=dataset.slug)


@extend_schema_view(get=extend_schema(operation_id="compat_simetric_query_any"))
class EscapedTableRowsApi(TableRowsApi):
    """`GET /api/_/{table_name}/`: any table, including those named like csvhub's routes."""

    escaped = True


# Customer ids as customer_id_normalize takes them: digits (up to 19) or a hyphenated UUID.
_CUSTOMER_ID_TEXT = {
    "type": "string",
    "pattern": rf"^(?:[0-9]{{1,{selectors.INTEGER_DIGITS}}}|{selectors.UUID_PATTERN})$",
    "description": "An integer's decimal digits, or a UUID (8-4-4-4-12 hexadecimal digits).",
}
# Thena's codes are consecutive, so a range says "one of them" without an enum (drf-spectacular
# would lift an enum into a component of its own).
_CODES = sorted(code.value for code in selectors.AnalyzeType)
assert list(range(_CODES[0], _CODES[-1] + 1)) == _CODES, "the codes are no longer a range"


def _codes(low: int, high: int) -> dict[str, object]:
    return {"type": "integer", "minimum": low, "maximum": high}


# One of the two spellings of the type, or both with one value (OpenAPI 3.0 has no `const`: a
# one-value range per code).
_ANALYZE_INPUT = {
    "type": "object",
    "properties": {
        "customer_id": {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": 10**selectors.INTEGER_DIGITS - 1},
                _CUSTOMER_ID_TEXT,
            ]
        },
        "analyze_type": _codes(_CODES[0], _CODES[-1]),
        "analyzer_type": _codes(_CODES[0], _CODES[-1]),
    },
    "required": ["customer_id"],
    "anyOf": [
        {"required": ["analyze_type"], "not": {"required": ["analyzer_type"]}},
        {"required": ["analyzer_type"], "not": {"required": ["analyze_type"]}},
        *(
            {
                "required": ["analyze_type", "analyzer_type"],
                "properties": {
                    "analyze_type": _codes(code, code),
                    "analyzer_type": _codes(code, code),
                },
            }
            for code in _CODES
        ),
    ],
}


class EventUploadApi(AdmitBeforeTheBody, APIView):
    """Thena's `POST /api/v1/event/`."""

    permission_classes = [CanEdit]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=[TAG],
        operation_id="compat_thena_event",
        summary="Thena: upload a customer's events",
        description="Multipart `file` (one CSV file) and `customer_id` (an integer or a UUID). "
        "The customer's first upload creates its dataset; later ones append, and fail with "
        "csvhub's usual message when their columns differ. Answers like `POST /api/v1/uploads/`, "
        "once the file is loaded (or after CSVHUB_COMPAT_UPLOAD_WAIT_SECONDS).",
        request={
            "multipart/form-data": inline_serializer(
                "ThenaEventInput",
                {
                    "file": serializers.FileField(),
                    "customer_id": serializers.CharField(
                        validators=[RegexValidator(_CUSTOMER_ID_TEXT["pattern"])],
                        help_text=_CUSTOMER_ID_TEXT["description"],
                    ),
                },
            )
        },
        responses={202: UploadSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        uploads = services.event_upload_create(
            organization=request_organization(request),
            customer_id=selectors.customer_id_normalize(body_field(request, "customer_id")),
            files=request.FILES.getlist("file"),
            user=request.user,
        )
        return _accepted(request, uploads)


class AnalyzeInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Only documents the body (see _AnalyzeInputSchema); the view reads it."""


class _AnalyzeInputSchema(OpenApiSerializerExtension):
    """The analyze body's schema as written above, as a component whose `required` makes the
    body itself required (a raw schema given to extend_schema would leave it optional)."""

    target_class = AnalyzeInputSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return _ANALYZE_INPUT

    def get_name(self, auto_schema: AutoSchema, direction: str) -> str:
        return "ThenaAnalyzeInput"


class AnalyzeApi(APIView):
    """Thena's `POST /api/v1/analyze/`: a read, so the viewer role is enough."""

    permission_classes = [CanView]
    parser_classes = [JSONParser, JsonLabelledAsFormParser]

    @extend_schema(
        tags=[TAG],
        operation_id="compat_thena_analyze",
        summary="Thena: analyze a customer's events",
        description=f'JSON `{{"customer_id": 1000, "analyze_type": 10000}}`; the key may '
        f"also be spelled `analyzer_type`. Types: {selectors.VALID_TYPES}. The time difference "
        "(`result`, in seconds; also as an ISO 8601 `duration`) runs from the earliest to the "
        "latest value of the first timestamp column (else the first date column). Both answers "
        "come from the summary kept at ingestion, whatever the number of rows.",
        request=AnalyzeInputSerializer,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)},
        examples=[
            OpenApiExample(
                "Time difference",
                request_only=True,
                value={"customer_id": 1000, "analyze_type": 10000},
            ),
            OpenApiExample(
                "Row count",
                response_only=True,
                value={
                    "customer_id": "1000",
                    "analyze_type": 10001,
                    "dataset": "customer-1000",
                    "result": 52,
                    "row_count": 52,
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = selectors.analyze_input(request.data)
        form = isinstance(request.data, QueryDict)  # text values, where JSON has numbers
        analyze_type = selectors.analyze_type_parse(data, form=form)
        customer = selectors.customer_get(
            organization=request_organization(request),
            customer_id=selectors.customer_id_normalize(data.get("customer_id")),
        )
        return Response(selectors.customer_analysis(customer=customer, analyze_type=analyze_type))


class CustomerSerializer(serializers.Serializer[Customer]):
    customer_id = serializers.CharField(
        help_text="Integers as their decimal digits, UUIDs in lowercase."
    )
    dataset = serializers.CharField(source="dataset.slug", help_text="The dataset's slug.")
    row_count = serializers.IntegerField(source="dataset.row_count")
    created_at = serializers.DateTimeField()


class CustomerListApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        tags=[TAG],
        operation_id="compat_thena_customers",
        summary="Thena: list customers and their datasets",
        responses=CustomerSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        customers = selectors.customer_list(organization=request_organization(request))
        # many_init is what many=True calls; DRF's stubs type the constructor for one instance.
        return Response(CustomerSerializer.many_init(customers).data)
