"""The rows API: query a dataset's rows (JSON pages, CSV and NDJSON exports) and its indexes.

Thin views: the query string is parsed by rowquery, answered by rows (selectors and services).
The grammar is declared in csvhub.grammar, which the OpenAPI parameters below are built from,
and documented for people in docs/api.md, "Querying rows".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import ReadOrEdit
from csvhub.api import ErrorSerializer, TextField
from csvhub.datasets import rows, selectors, services
from csvhub.datasets.apis import ColumnSerializer
from csvhub.datasets.rowquery import (
    RowQuery,
    parse_row_query,
    reserved_word,
)
from csvhub.grammar.openapi import filters_text, reserved_text, rows_parameters
from csvhub.grammar.rows import COUNT_CAP, Format
from csvhub.warehouse.indexes import MAX_INDEX_COLUMNS

TITANIC_QUERY = "limit=2&sex=male&Name=like:Braund&Ticket=like:A&Fare=gt:7&sort=name:desc,Sex:asc"

_GRAMMAR = f"""
Query a dataset's rows. Example (on a Titanic-shaped dataset):
`GET /api/v1/datasets/titanic/rows/?{TITANIC_QUERY}`

**Filters**: any parameter that is not one of the reserved words below filters the column of
that name. {filters_text()}

In Swagger UI, put filters in the `filters` object: each key becomes one query parameter.

{reserved_text()}

**Rows** are JSON objects keyed by column name: integers are numbers, decimals strings with
their exact digits, booleans true/false, dates `YYYY-MM-DD`, timestamps ISO 8601 UTC with `Z`,
empty cells null. `next`/`previous` are URLs with a keyset cursor; a cursor only works with the
filters and sort it was made for.
"""


class _QueryDecidesFormat(DefaultContentNegotiation):
    """CSV and NDJSON are chosen from the query and Accept header by rowquery and streamed by
    the view; DRF only renders the JSON answers and errors, whatever `format=` says."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))  # the view's first renderer: JSON
        return renderer, renderer.media_type


_PAGE = inline_serializer(
    "RowPage",
    {
        "columns": ColumnSerializer(many=True),
        "rows": serializers.ListField(
            child=serializers.DictField(), help_text="Rows as objects keyed by column name."
        ),
        "count": serializers.IntegerField(
            allow_null=True,
            help_text=f"Rows matching the filters; null with count=none. A filtered count stops "
            f"at {COUNT_CAP:,} unless count=exact.",
        ),
        "count_capped": serializers.BooleanField(
            help_text=f"True when more than {COUNT_CAP:,} rows match and counting stopped."
        ),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
    },
)

_PAGE_EXAMPLE = OpenApiExample(
    "Titanic example",
    response_only=True,
    value={
        "columns": [
            {"name": "name", "label": "Name", "type": "text", "nullable": False},
            {"name": "fare", "label": "Fare", "type": "decimal", "nullable": False},
        ],
        "rows": [{"name": "Braund, Mr. Owen Harris", "fare": "7.25"}],
        "count": 1,
        "count_capped": False,
        "next": None,
        "previous": None,
    },
)


_PARAMETERS = [
    OpenApiParameter(
        "slug",
        str,
        OpenApiParameter.PATH,
        description="The dataset.",
        examples=[OpenApiExample("Titanic example", value="titanic")],
    ),
    *rows_parameters(),
]


class RowListApi(APIView):
    permission_classes = [ReadOrEdit]
    content_negotiation_class = _QueryDecidesFormat

    @extend_schema(
        operation_id="datasets_rows_list",
        summary="Query rows: filter, sort, paginate, export",
        description=_GRAMMAR.strip(),
        parameters=_PARAMETERS,
        responses={
            (200, "application/json"): OpenApiResponse(_PAGE, examples=[_PAGE_EXAMPLE]),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Every row, CSV."),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="Every row, one JSON object per line."
            ),
            400: OpenApiResponse(
                ErrorSerializer, description="The message names the problem and choices."
            ),
            503: OpenApiResponse(
                ErrorSerializer,
                description="The query ran past CSVHUB_QUERY_TIMEOUT_SECONDS and stopped.",
            ),
        },
    )
    def get(self, request: Request, slug: str) -> Response | StreamingHttpResponse:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        params = [(key, value) for key, values in request.query_params.lists() for value in values]
        query = parse_row_query(params, accept=request.headers.get("Accept", ""))
        if query.format is not Format.JSON:
            export = rows.rows_export(dataset=dataset, query=query, environ=request.META)
            return _streamed(export)
        page = rows.rows_page(dataset=dataset, query=query)
        return Response(
            {
                "columns": page.columns,
                "rows": page.rows,
                "count": page.count,
                "count_capped": page.count_capped,
                "next": _page_url(request, query, page.next_cursor),
                "previous": _page_url(request, query, page.previous_cursor),
            }
        )


def _streamed(export: rows.RowExport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


def _page_url(request: Request, query: RowQuery, cursor: str | None) -> str | None:
    """This request's URL with the cursor in place of any offset or earlier cursor."""
    if cursor is None:
        return None
    kept = [
        (key, value)
        for key, values in request.query_params.lists()
        for value in values
        if reserved_word(key) not in ("limit", "offset", "cursor")
    ]
    if query.limit_given:
        kept.append(("limit", str(query.limit)))
    kept.append(("cursor", cursor))
    return request.build_absolute_uri(request.path) + "?" + urlencode(kept)


class IndexSerializer(serializers.Serializer[dict[str, Any]]):  # selectors.index_json
    name = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(
        choices=["ready", "building", "failed", "queued"],
        help_text="ready: used by queries; building: being built; failed: the build stopped "
        "(POST again to rebuild); queued: waiting for a background worker.",
    )


class IndexListApi(APIView):
    permission_classes = [ReadOrEdit]

    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        class Meta:
            ref_name = "IndexInput"  # OpenAPI component name: other APIs have an Input too

        columns = serializers.ListField(
            child=TextField(),
            min_length=1,
            max_length=MAX_INDEX_COLUMNS,
            help_text="Column names or labels, in index order.",
        )

    @extend_schema(responses=IndexSerializer(many=True), summary="List a dataset's indexes")
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        return Response(IndexSerializer.many_init(selectors.index_list(dataset=dataset)).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OpenApiResponse(IndexSerializer, description="The index exists already."),
            201: OpenApiResponse(IndexSerializer, description="Built within the request."),
            202: OpenApiResponse(IndexSerializer, description="Queued for a background build."),
            400: OpenApiResponse(ErrorSerializer),
        },
        examples=[
            OpenApiExample("Sort by name", value={"columns": ["name", "sex"]}, request_only=True)
        ],
        summary="Index columns to speed up filters and sorts on them",
        description="Speeds up eq/in/lt/lte/gt/gte filters on the first column (and on following "
        "columns when the earlier ones are filtered by eq), and `sort` on a leading run of the "
        "columns with their keyset pages. Big tables are indexed in the background (202).",
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        index, outcome = services.index_create(
            dataset=dataset, columns=serializer.validated_data["columns"]
        )
        code = {"exists": status.HTTP_200_OK, "built": status.HTTP_201_CREATED}.get(
            outcome, status.HTTP_202_ACCEPTED
        )
        return Response(IndexSerializer(index).data, status=code)
