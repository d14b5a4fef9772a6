"""The analysis API: a dataset's summary, and row counts, time spans, aggregates, time series
and histograms of its rows. Thin views over csvhub.datasets.analysis; docs/api.md, "Analysis".
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import ReadOrEdit
from csvhub.api import ErrorSerializer
from csvhub.datasets import analysis, selectors
from csvhub.datasets.apis import ColumnSerializer
from csvhub.grammar.filters import OPERATOR_NAMES
from csvhub.grammar.openapi import analysis_parameters, analysis_types_text


class ColumnSummarySerializer(ColumnSerializer):
    nulls = serializers.IntegerField(allow_null=True, help_text="Empty cells.")
    non_null = serializers.IntegerField(allow_null=True)
    min = serializers.JSONField(
        allow_null=True,
        help_text="Integers as numbers, decimals as exact text, dates YYYY-MM-DD, timestamps "
        "ISO 8601 UTC; null for boolean and text columns.",
    )
    max = serializers.JSONField(allow_null=True)
    min_length = serializers.IntegerField(allow_null=True, help_text="Text columns only.")
    max_length = serializers.IntegerField(allow_null=True, help_text="Text columns only.")


class SummarySerializer(serializers.Serializer[dict[str, Any]]):
    row_count = serializers.IntegerField()
    columns = ColumnSummarySerializer(many=True)
    first_row = serializers.DictField(allow_null=True, help_text="The first row ingested.")
    last_row = serializers.DictField(allow_null=True, help_text="The last row ingested.")


class DatasetSummaryApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        operation_id="datasets_summary",
        summary="Summarize a dataset without scanning it",
        description="Row count; per column the empty cells, min and max (numbers, dates, "
        "timestamps) and text lengths; the first and last ingested rows. Kept up to date at "
        "ingestion: the answer costs the same for 10 rows or 10 million.",
        responses=SummarySerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        return Response(analysis.dataset_summary(dataset=dataset))


_DESCRIPTION = f"""
{analysis_types_text()}

**Filters**: every other parameter filters rows with the rows endpoint's grammar
(`{{column}}={{op}}:{{value}}`; operators: {OPERATOR_NAMES}, each described under `filters`). A
column named like an analysis parameter is filtered with `{{column}}__{{op}}=value`
(`type__eq=refund`).

**Search**: `q=words` keeps the rows where any text column contains the words, ignoring case,
as on the rows endpoint; it combines with the filters.

Without filters or search, row_count and time_span answer from the summary kept at ingestion
(`"source": "summary"`); with filters they run in the warehouse (`"source": "warehouse"`).

The parameters below are listed together, but each type takes only its own (as listed above):
another type's parameter is a 400 naming the ones it takes.
"""

_EXAMPLES = [
    OpenApiExample(
        "aggregate",
        response_only=True,
        value={
            "type": "aggregate",
            "group_by": ["client_name"],
            "metrics": ["count", "total"],
            "rows": [{"client_name": "Linda Davis", "count": 412, "total": 81234.5}],
            "truncated": False,
        },
    ),
    OpenApiExample(
        "timeseries",
        response_only=True,
        value={
            "type": "timeseries",
            "column": "transaction_date",
            "bucket": "week",
            "metric": "count",
            "points": [
                {"bucket": "2024-01-01T00:00:00Z", "value": 1520},
                {"bucket": "2024-01-08T00:00:00Z", "value": 1498},
            ],
        },
    ),
    OpenApiExample(
        "timeseries split by a column",
        response_only=True,
        value={
            "type": "timeseries",
            "column": "transaction_date",
            "bucket": "week",
            "metric": "count",
            "split": "client_name",
            "series": [
                {
                    "value": "Linda Davis",
                    "points": [{"bucket": "2024-01-01T00:00:00Z", "value": 9}],
                },
                {"value": None, "points": [{"bucket": "2024-01-01T00:00:00Z", "value": 2}]},
                {"other": True, "points": [{"bucket": "2024-01-01T00:00:00Z", "value": 1509}]},
            ],
            "source": "warehouse",
        },
    ),
    OpenApiExample(
        "time_span",
        response_only=True,
        value={
            "type": "time_span",
            "column": "transaction_date",
            "earliest": "2022-01-01T00:00:03Z",
            "latest": "2025-01-01T23:59:58Z",
            "seconds": 94751995,
            "duration": "P1096DT23H59M55S",
            "source": "summary",
        },
    ),
    OpenApiExample(
        "histogram",
        response_only=True,
        value={
            "type": "histogram",
            "column": "transaction_amount",
            "bins": [{"lower": 0.0, "upper": 5000.0, "count": 9921345}],
            "nulls": 0,
            "source": "summary",
        },
    ),
]


class DatasetAnalysisApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        operation_id="datasets_analysis",
        summary="Analyse rows: count, time span, aggregate, time series, histogram",
        description=_DESCRIPTION,
        parameters=analysis_parameters(),
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, examples=_EXAMPLES),
            400: OpenApiResponse(
                ErrorSerializer, description="The message names the problem and choices."
            ),
            503: OpenApiResponse(
                ErrorSerializer,
                description="The query ran past CSVHUB_QUERY_TIMEOUT_SECONDS and stopped.",
            ),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        params = [(key, value) for key, values in request.query_params.lists() for value in values]
        query = analysis.parse_analysis_query(params)
        return Response(analysis.analysis_run(dataset=dataset, query=query))
