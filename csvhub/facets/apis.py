"""GET /api/v1/datasets/{slug}/facets/: the most frequent values of chosen columns among the
selected rows. docs/api.md, "Facets"."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import ReadOrEdit
from csvhub.api import ErrorSerializer
from csvhub.datasets import selectors
from csvhub.facets.query import parse_facet_query
from csvhub.facets.selectors import facets_count
from csvhub.grammar.filters import OPERATOR_NAMES
from csvhub.grammar.openapi import facet_parameters

_DESCRIPTION = f"""
For each column of `columns`, its most frequent values with their counts (empty cells as
`null`), most frequent first, among the rows that the filters (`{{column}}={{op}}:{{value}}`;
operators: {OPERATOR_NAMES}) and the search `q=` select, as on the rows endpoint.

Counting has a short time limit (CSVHUB_FACET_TIMEOUT_SECONDS). Past it, or without filters
on a table larger than CSVHUB_FACET_SCAN_MAX_ROWS, a text column answers from the top values
kept at ingestion: `"source": "summary"`, `"approximate": true`, each count at most `error`
short of the true one, and `"filtered": false` when the request had filters or a search (the
counts are then of the whole table). Other columns then answer `"source": "none"` with no
values. A `note` says which happened.
"""

_EXAMPLE = OpenApiExample(
    "facets",
    response_only=True,
    value={
        "facets": [
            {
                "column": "city",
                "values": [{"value": "Paris", "count": 412}, {"value": None, "count": 3}],
                "more": True,
                "source": "warehouse",
                "approximate": False,
                "filtered": True,
                "error": 0,
                "note": "",
            }
        ]
    },
)


class DatasetFacetsApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        operation_id="datasets_facets",
        summary="Most frequent values of chosen columns",
        description=_DESCRIPTION,
        parameters=facet_parameters(),
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, examples=[_EXAMPLE]),
            400: OpenApiResponse(ErrorSerializer, description="The message says what to fix."),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_find(organization=request_organization(request), slug=slug)
        params = [(key, value) for key, values in request.query_params.lists() for value in values]
        query = parse_facet_query(params)
        found = facets_count(dataset=dataset, query=query)
        return Response({"facets": [facet.as_json() for facet in found]})
