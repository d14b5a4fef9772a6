"""The cleaning API: reading rules, the recipe and its versions, clustering suggestions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import ReadOrEdit
from csvhub.api import TextField
from csvhub.cleaning import selectors, services
from csvhub.cleaning.clusters import Cluster, Method
from csvhub.cleaning.errors import CleaningError
from csvhub.cleaning.models import Recipe, RecipeVersion
from csvhub.cleaning.reading import dataset_rules
from csvhub.cleaning.steps import STEP_OPS
from csvhub.datasets import selectors as dataset_selectors
from csvhub.datasets.models import Dataset

MAX_CLUSTERS_PAGE = 100


def _dataset(request: Request, slug: str) -> Dataset:
    return dataset_selectors.dataset_get(organization=request_organization(request), slug=slug)


def _object(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise CleaningError("Send a JSON object.")
    return dict(request.data)


class ReadingRulesSerializer(serializers.Serializer[dict[str, Any]]):
    null_tokens = serializers.ListField(child=TextField(), required=False)
    decimal_separator = TextField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="'.', ',' or null ('' and 'auto' too: detected per file).",
    )
    thousands_separator = TextField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="'' (none), ',', '.', ' ', \"'\" or null (follows the decimal separator).",
    )
    day_first = serializers.BooleanField(
        required=False, allow_null=True, help_text="null: detected per file."
    )
    column_types = serializers.DictField(child=TextField(), required=False)
    strict = serializers.BooleanField(required=False)


class ReadingRulesApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(responses=ReadingRulesSerializer, summary="How a dataset's files are read")
    def get(self, request: Request, slug: str) -> Response:
        return Response(dataset_rules(_dataset(request, slug)).to_json())

    @extend_schema(
        request=ReadingRulesSerializer,
        responses=ReadingRulesSerializer,
        summary="Change how the dataset's next files are read (editors)",
    )
    def put(self, request: Request, slug: str) -> Response:
        dataset = _dataset(request, slug)
        data = _object(request)
        given = ReadingRulesSerializer(data=data)
        given.is_valid(raise_exception=True)
        # The switches go on as sent (the service takes JSON booleans only, where DRF would read
        # 0 as false), and names the serializer does not know, for the service to refuse.
        as_sent = {key: value for key, value in data.items() if key not in given.fields}
        as_sent |= {key: data[key] for key in ("strict", "day_first") if key in data}
        services.reading_rules_set(dataset=dataset, changes={**given.validated_data, **as_sent})
        return Response(dataset_rules(dataset).to_json())


def _version_json(version: RecipeVersion | None) -> dict[str, Any]:
    if version is None:
        return {"version": 0, "steps": [], "note": "", "created_at": None}
    return {
        "version": version.number,
        "steps": version.steps,
        "note": version.note,
        "created_at": version.created_at.isoformat(),
    }


def _recipe_json(dataset: Dataset) -> dict[str, Any]:
    recipe: Recipe | None = selectors.recipe_of(dataset)
    current = selectors.recipe_versions(dataset).first()
    schedule = {"cron": "", "time_zone": "UTC", "next_run_at": None, "last_error": ""}
    if recipe is not None:
        schedule = {
            "cron": recipe.cron,
            "time_zone": recipe.time_zone,
            "next_run_at": recipe.next_run_at.isoformat() if recipe.next_run_at else None,
            "last_error": recipe.last_error,
        }
    return {**_version_json(current), "schedule": schedule}


_RECIPE = inline_serializer(
    "Recipe",
    {
        "version": serializers.IntegerField(),
        "steps": serializers.ListField(
            child=serializers.DictField(), help_text=f"Ordered steps; ops: {', '.join(STEP_OPS)}."
        ),
        "note": serializers.CharField(),
        "schedule": serializers.DictField(),
    },
)


class RecipeInputSerializer(serializers.Serializer[dict[str, Any]]):
    steps = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text=f"A new version's steps, in order; ops: {', '.join(STEP_OPS)}.",
    )
    note = TextField(required=False, allow_blank=True, max_length=300)
    schedule = serializers.DictField(
        required=False, help_text='{"cron": "0 3 * * *", "time_zone": "Europe/Paris"}'
    )


class RecipeApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(responses=_RECIPE, summary="A dataset's cleaning recipe (current version)")
    def get(self, request: Request, slug: str) -> Response:
        return Response(_recipe_json(_dataset(request, slug)))

    @extend_schema(
        request=RecipeInputSerializer,
        responses=_RECIPE,
        summary="A new version of the recipe, and/or its schedule (editors)",
    )
    def put(self, request: Request, slug: str) -> Response:
        dataset = _dataset(request, slug)
        given = RecipeInputSerializer(data=_object(request))
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if "steps" not in data and "schedule" not in data:
            raise CleaningError("Send `steps` (a new version), `schedule`, or both.")
        if "steps" in data:
            note = data.get("note") or ""
            services.recipe_put(
                dataset=dataset, steps=data["steps"], user=request.user, note=str(note)
            )
        if "schedule" in data:
            schedule = data["schedule"]
            if not isinstance(schedule, dict):
                raise CleaningError(
                    'schedule is {"cron": "0 3 * * *", "time_zone": "Europe/Paris"}.'
                )
            services.recipe_schedule_set(
                dataset=dataset,
                cron_expression=str(schedule.get("cron") or ""),
                time_zone=str(schedule.get("time_zone") or "UTC"),
            )
        return Response(_recipe_json(dataset))


class RecipeVersionsApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        responses=inline_serializer(
            "RecipeVersions", {"versions": serializers.ListField(child=serializers.DictField())}
        ),
        summary="Every version of the recipe, newest first",
    )
    def get(self, request: Request, slug: str) -> Response:
        versions = selectors.recipe_versions(_dataset(request, slug))
        return Response({"versions": [_version_json(version) for version in versions]})


class RecipeApplyApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        request=None,
        responses={200: serializers.DictField()},
        summary="Apply the recipe to the stored rows (a journaled edit per column; editors)",
    )
    def post(self, request: Request, slug: str) -> Response:
        edit = services.recipe_apply(dataset=_dataset(request, slug), user=request.user)
        return Response(
            {
                "edit": edit.edit_id,
                "edits": list(edit.edit_ids),
                "rows_changed": edit.rows_changed,
            }
        )


def _cluster_json(cluster: Cluster) -> dict[str, Any]:
    return {
        "canonical": cluster.canonical,
        "rows": cluster.rows,
        "values": [{"value": v.value, "count": v.count} for v in cluster.values],
    }


class _ClusterQuery(serializers.Serializer[dict[str, Any]]):
    method = serializers.ChoiceField(choices=[m.value for m in Method], default="fingerprint")
    offset = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_CLUSTERS_PAGE, default=20)


class ColumnClustersApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        parameters=[_ClusterQuery, OpenApiParameter("column", str, OpenApiParameter.PATH)],
        responses=inline_serializer(
            "ClusterPage",
            {
                "method": serializers.CharField(),
                "count": serializers.IntegerField(help_text="Clusters found."),
                "distinct_values": serializers.IntegerField(),
                "complete": serializers.BooleanField(
                    help_text="False: only the CSVHUB_CLUSTER_MAX_VALUES most frequent values "
                    "were read."
                ),
                "clusters": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="Clusters of probable duplicates among a text column's values",
    )
    def get(self, request: Request, slug: str, column: str) -> Response:
        query = _ClusterQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        page = selectors.column_clusters(
            dataset=_dataset(request, slug),
            column=column,
            method=Method(given["method"]),
            offset=given["offset"],
            limit=given["limit"],
        )
        return Response(
            {
                "method": given["method"],
                "count": page.total,
                "distinct_values": page.distinct_values,
                "complete": page.complete,
                "clusters": [_cluster_json(cluster) for cluster in page.clusters],
            }
        )


class ClusterAcceptApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        request=inline_serializer(
            "ClusterAccept",
            {
                "values": serializers.ListField(child=serializers.CharField()),
                "canonical": serializers.CharField(),
            },
        ),
        responses=serializers.DictField(),
        summary="Accept a cluster: a map step in the recipe, applied to the stored rows",
    )
    def post(self, request: Request, slug: str, column: str) -> Response:
        dataset = _dataset(request, slug)
        data = _object(request)
        accepted = services.cluster_accept(
            dataset=dataset,
            column=column,
            values=data.get("values"),  # type: ignore[arg-type]  # checked by the service
            canonical=data.get("canonical"),  # type: ignore[arg-type]
            user=request.user,
        )
        edit = accepted.stored_rows
        return Response(
            {
                "recipe_version": accepted.version.number,
                "stored_rows": {
                    "applied": edit is not None,
                    "edit": edit.edit_id if edit else None,
                    "rows_changed": edit.rows_changed if edit else 0,
                    "message": accepted.stored_rows_message,
                },
            }
        )


class ClusterRejectApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        request=inline_serializer(
            "ClusterReject", {"values": serializers.ListField(child=serializers.CharField())}
        ),
        responses=serializers.DictField(),
        summary="Reject a cluster: its values are not suggested together again",
    )
    def post(self, request: Request, slug: str, column: str) -> Response:
        data = _object(request)
        remembered = services.cluster_reject(
            dataset=_dataset(request, slug),
            column=column,
            values=data.get("values"),  # type: ignore[arg-type]  # checked by the service
        )
        return Response({"pairs_remembered": remembered})
