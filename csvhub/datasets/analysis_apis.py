"""The analysis API: a dataset's summary, and row counts, time spans, aggregates, time series
and histograms of its rows. Thin views over csvhub.datasets.analysis; docs/api.md, "Analysis".
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import ReadOrEdit
from csvhub.api import ErrorSerializer, whole_number_or_empty
from csvhub.datasets import analysis, selectors
from csvhub.datasets.apis import ColumnSerializer
from csvhub.datasets.rowquery import OPERATORS


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


class SummarySerializer(serializers.Serializer):
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
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        return Response(analysis.dataset_summary(dataset=dataset))


_DESCRIPTION = f"""
One analysis of a dataset's rows, chosen by `type`:

- `row_count`: rows (matching the filters).
- `time_span`: earliest and latest value of a date or timestamp `column` (default: the first
  such column), the time between them in `seconds` and as an ISO 8601 `duration` (`P3DT4H`).
- `aggregate`: `metrics` per group of the `group_by` columns (up to {analysis.MAX_GROUP_BY}),
  sorted by `sort` and limited by `limit` (default {analysis.DEFAULT_GROUPS}, at most
  {analysis.MAX_GROUPS:,}; `truncated` says more groups exist).
- `timeseries`: one `metric` per UTC `bucket` of a date or timestamp `column`, in time order,
  empty buckets included (at most {analysis.MAX_POINTS:,} points).
- `histogram`: counts of a number `column` in `bins` equal-width bins (default
  {analysis.DEFAULT_BINS}, at most {analysis.MAX_BINS}) from its min to its max.

**Metrics**: `count` (rows), `count:col` (non-empty cells), `sum:col`, `avg:col` (numbers),
`min:col`, `max:col` (numbers, dates, timestamps, text); name one with `alias=metric`
(`total=sum:amount`).

**Filters**: every other parameter filters rows with the rows endpoint's grammar
(`{{column}}={{op}}:{{value}}`; operators: {OPERATORS}). A column named like an analysis
parameter is filtered with `{{column}}__{{op}}=value` (`type__eq=refund`).

Without filters, row_count and time_span answer from the summary kept at ingestion
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


def _parameter(name: str, description: str, **kwargs) -> OpenApiParameter:
    return OpenApiParameter(name, kwargs.pop("type", str), description=description, **kwargs)


_PARAMETERS = [
    _parameter(
        "type",
        "Which analysis.",
        required=True,
        enum=[kind.value for kind in analysis.AnalysisType],
    ),
    _parameter(
        "column",
        "time_span, timeseries: a date or timestamp column; histogram: a number "
        "column. Default: the first such column.",
    ),
    _parameter(
        "group_by",
        "aggregate: columns, comma-separated.",
        examples=[OpenApiExample("By client", value="client_name")],
    ),
    _parameter(
        "metrics",
        "aggregate: comma-separated metrics (default count).",
        examples=[OpenApiExample("Count and total", value="count,total=sum:transaction_amount")],
    ),
    _parameter(
        "metric",
        "timeseries: one metric (default count).",
        examples=[OpenApiExample("Sum", value="sum:transaction_amount")],
    ),
    _parameter(
        "bucket",
        "timeseries: bucket width (default day; dates take day, week, month). UTC; weeks start "
        "on Monday.",
        enum=[bucket.value for bucket in analysis.Bucket],
    ),
    _parameter(
        "bins",
        f"histogram: 1 to {analysis.MAX_BINS} (default {analysis.DEFAULT_BINS}).",
        type=whole_number_or_empty(1, analysis.MAX_BINS),
    ),
    _parameter(
        "sort",
        "aggregate: `key[:asc|:desc],...`; keys are group_by columns, metric names "
        "(`sum:amount`) or aliases. Default: the group_by columns ascending; empty values last.",
        examples=[OpenApiExample("Biggest first", value="total:desc")],
    ),
    _parameter(
        "limit",
        f"aggregate: groups returned, 1 to {analysis.MAX_GROUPS:,} "
        f"(default {analysis.DEFAULT_GROUPS}).",
        type=whole_number_or_empty(1, analysis.MAX_GROUPS),
    ),
    OpenApiParameter(
        "filters",
        OpenApiTypes.OBJECT,
        style="form",
        explode=True,
        description="Column filters, as on the rows endpoint: `{column}` → `{op}:{value}`. "
        "(Not a parameter itself: each key is sent as its own query parameter.)",
    ),
]


class DatasetAnalysisApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        operation_id="datasets_analysis",
        summary="Analyse rows: count, time span, aggregate, time series, histogram",
        description=_DESCRIPTION,
        parameters=_PARAMETERS,
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
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        params = [(key, value) for key, values in request.query_params.lists() for value in values]
        query = analysis.parse_analysis_query(params)
        return Response(analysis.analysis_run(dataset=dataset, query=query))
