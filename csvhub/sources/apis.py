"""The sources API: thin views over services and selectors. Editors and admins only: sources
carry credentials and reach outside csvhub, so viewers get 403 even on reads."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import CanEdit
from csvhub.api import TextField
from csvhub.datasets.selectors import dataset_get
from csvhub.grammar.rows import MAX_OFFSET
from csvhub.sources import runs, selectors, services
from csvhub.sources.models import LoadMode, Run, Source, SourceKind
from csvhub.sources.schedules import source_schedule

RUNS_MAX_LIMIT = 200


class RunSerializer(serializers.Serializer[Run]):
    id = serializers.UUIDField()
    trigger = serializers.CharField()
    state = serializers.ChoiceField(choices=["running", "succeeded", "not_modified", "failed"])
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    files_found = serializers.IntegerField()
    files_loaded = serializers.IntegerField()
    files_skipped = serializers.IntegerField()
    rows = serializers.IntegerField()
    error = serializers.CharField()
    uploads = serializers.SerializerMethodField()

    def get_uploads(self, run: Run) -> list[str]:
        return [str(i) for i in run.files.exclude(upload=None).values_list("upload_id", flat=True)]


class SourceSerializer(serializers.Serializer[Source]):
    """A source as shown: credentials never, header names only."""

    id = serializers.UUIDField()
    dataset = serializers.CharField(source="dataset.slug")
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    url = serializers.CharField()
    header_names = serializers.SerializerMethodField()
    bucket = serializers.CharField()
    prefix = serializers.CharField()
    glob = serializers.CharField()
    endpoint_url = serializers.CharField()
    region = serializers.CharField()
    has_credentials = serializers.SerializerMethodField()
    cron = serializers.CharField()
    every_seconds = serializers.IntegerField(allow_null=True)
    time_zone = serializers.CharField()
    schedule_description = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    mode = serializers.ChoiceField(choices=LoadMode.choices)
    stale_after_seconds = serializers.IntegerField(allow_null=True)
    stale = serializers.SerializerMethodField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    running = serializers.SerializerMethodField()
    last_run = serializers.SerializerMethodField()
    runs_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_header_names(self, source: Source) -> list[str]:
        return selectors.source_header_names(source)

    def get_has_credentials(self, source: Source) -> bool:
        return selectors.source_has_credentials(source)

    def get_schedule_description(self, source: Source) -> str:
        return source_schedule(source).describe()

    def get_stale(self, source: Source) -> bool:
        return selectors.source_stale(source, timezone.now())

    def get_running(self, source: Source) -> bool:
        return source.running_until is not None and source.running_until > timezone.now()

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_last_run(self, source: Source) -> dict[str, Any] | None:
        run = selectors.source_last_run(source)
        return None if run is None else dict(RunSerializer(run).data)

    def get_runs_url(self, source: Source) -> str:
        return reverse(
            "source-runs",
            kwargs={"slug": source.dataset.slug, "source_id": source.id},
            request=self.context.get("request"),
        )


class SourceInputSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    url = TextField(max_length=2000, required=False, allow_blank=True)
    headers = serializers.DictField(
        child=TextField(max_length=4000),
        required=False,
        allow_null=True,
        help_text="Request headers (e.g. Authorization), stored encrypted, never shown back.",
    )
    bucket = TextField(max_length=255, required=False, allow_blank=True)
    prefix = TextField(max_length=1024, required=False, allow_blank=True)
    glob = TextField(
        max_length=1024, required=False, allow_blank=True, help_text="e.g. exports/*.csv.gz"
    )
    endpoint_url = TextField(max_length=500, required=False, allow_blank=True)
    region = TextField(max_length=64, required=False, allow_blank=True)
    access_key_id = TextField(max_length=200, required=False, allow_blank=True)
    secret_access_key = TextField(
        max_length=200, required=False, allow_blank=True, help_text="Stored encrypted."
    )
    cron = TextField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Five-field cron expression, in `time_zone`.",
    )
    every_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=366 * 86400
    )
    time_zone = TextField(max_length=64, required=False)
    enabled = serializers.BooleanField(required=False)
    mode = serializers.ChoiceField(choices=LoadMode.choices, required=False)
    stale_after_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=60, max_value=366 * 86400
    )


class SourcePatchSerializer(SourceInputSerializer):
    kind = serializers.ChoiceField(choices=SourceKind.choices, required=False)


class _PageSerializer(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(min_value=1, max_value=RUNS_MAX_LIMIT, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


def _valid(
    serializer_class: type[serializers.Serializer[dict[str, Any]]], data: object
) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


def _source(request: Request, slug: str, source_id: str) -> Source:
    dataset = dataset_get(organization=request_organization(request), slug=slug)
    return selectors.source_get(dataset=dataset, source_id=source_id)


class SourceListApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(responses=SourceSerializer(many=True), summary="List a dataset's sources")
    def get(self, request: Request, slug: str) -> Response:
        dataset = dataset_get(organization=request_organization(request), slug=slug)
        sources = selectors.source_list(dataset=dataset)
        return Response(SourceSerializer.many_init(sources, context={"request": request}).data)

    @extend_schema(
        request=SourceInputSerializer,
        responses={201: SourceSerializer},
        summary="Add a URL or S3 source fetched on a schedule",
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = dataset_get(organization=request_organization(request), slug=slug)
        data = _valid(SourceInputSerializer, request.data)
        source = services.source_create(dataset=dataset, data=data, user=request.user)
        body = SourceSerializer(source, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class SourceDetailApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(responses=SourceSerializer, summary="Show a source")
    def get(self, request: Request, slug: str, source_id: str) -> Response:
        source = _source(request, slug, source_id)
        return Response(SourceSerializer(source, context={"request": request}).data)

    @extend_schema(
        request=SourcePatchSerializer,
        responses=SourceSerializer,
        summary="Change a source (pause it with enabled=false)",
    )
    def patch(self, request: Request, slug: str, source_id: str) -> Response:
        source = _source(request, slug, source_id)
        data = _valid(SourcePatchSerializer, request.data)
        source = services.source_update(source=source, data=data)
        return Response(SourceSerializer(source, context={"request": request}).data)

    @extend_schema(responses={204: None}, summary="Delete a source (its uploads stay)")
    def delete(self, request: Request, slug: str, source_id: str) -> Response:
        services.source_delete(source=_source(request, slug, source_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SourceRunApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(request=None, responses={202: RunSerializer}, summary="Run a source now")
    def post(self, request: Request, slug: str, source_id: str) -> Response:
        run = runs.source_run_now(source=_source(request, slug, source_id))
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class SourceRunsApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(
        parameters=[_PageSerializer],
        responses=RunSerializer(many=True),
        summary="A source's runs, newest first",
    )
    def get(self, request: Request, slug: str, source_id: str) -> Response:
        source = _source(request, slug, source_id)
        page = _valid(_PageSerializer, request.query_params)
        found = selectors.run_list(source=source)[page["offset"] : page["offset"] + page["limit"]]
        return Response(RunSerializer.many_init(found).data)
