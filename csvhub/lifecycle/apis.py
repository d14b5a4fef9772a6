"""Retention settings, legal holds and usage over the API: thin views over policies, usage."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization, request_user
from csvhub.accounts.permissions import ReadOrAdmin
from csvhub.api import TextField
from csvhub.datasets import selectors
from csvhub.datasets.errors import DatasetError, DatasetNotFound
from csvhub.lifecycle import policies
from csvhub.lifecycle.errors import RetentionError
from csvhub.lifecycle.models import DatasetRetention, LegalHold, RetentionPolicy
from csvhub.lifecycle.quotas import quota_of
from csvhub.lifecycle.usage import usage_of


def _changes(request: Request, serializer: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """The fields sent, checked; an unknown one (a misspelt name) is a 400, never ignored."""
    data = request.data
    if not isinstance(data, dict):
        raise DatasetError("Send a JSON object of the settings to change.")
    names = list(serializer().fields)
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise DatasetError(f"Unknown {', '.join(unknown)}: send {', '.join(names)}.")
    given = serializer(data=data)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)


def _refused(error: RetentionError) -> DatasetError:
    return DatasetError(str(error))


_DAYS = {"type": "integer", "minimum": 1, "maximum": policies.MAX_DAYS}


@extend_schema_field({**_DAYS, "nullable": True})
class DaysField(serializers.Field[Any, Any, Any, Any]):
    """Whole days from 1 to MAX_DAYS, or null (forever); JSON numbers only (never "30")."""

    inherit = False

    def to_internal_value(self, data: Any) -> int | str | None:
        if data is None or (self.inherit and data == policies.INHERIT):
            return data  # type: ignore[no-any-return]
        if isinstance(data, bool) or not isinstance(data, int):
            also = f' or "{policies.INHERIT}"' if self.inherit else ""
            raise serializers.ValidationError(
                f"A whole number of days, null (forever){also}; not {data!r}."
            )
        if not 1 <= data <= policies.MAX_DAYS:
            raise serializers.ValidationError(f"From 1 to {policies.MAX_DAYS:,} days; not {data}.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {"oneOf": [_DAYS, {"type": "string", "enum": [policies.INHERIT]}], "nullable": True}
)
class DaysOrInheritField(DaysField):
    """Days, null (forever) or "inherit" (the organization's)."""

    inherit = True


class PolicyChangeSerializer(serializers.Serializer[dict[str, Any]]):
    keep_files_days = DaysField(
        required=False,
        allow_null=True,
        help_text="Days original files are kept after their upload succeeded; null: forever.",
    )
    keep_rows_days = DaysField(
        required=False, allow_null=True, help_text="Days rows are kept; null: forever."
    )
    rows_column = TextField(required=False, allow_blank=True, max_length=200)


class DatasetRetentionChangeSerializer(serializers.Serializer[dict[str, Any]]):
    keep_files_days = DaysOrInheritField(required=False, allow_null=True)
    keep_rows_days = DaysOrInheritField(required=False, allow_null=True)
    rows_column = TextField(required=False, allow_blank=True, max_length=200)


class PolicySerializer(serializers.Serializer[RetentionPolicy]):
    keep_files_days = serializers.IntegerField(
        allow_null=True, help_text="Days original files are kept after their upload; null: forever."
    )
    keep_rows_days = serializers.IntegerField(
        allow_null=True, help_text="Days rows are kept by `rows_column`; null: forever."
    )
    rows_column = serializers.CharField(
        allow_blank=True, help_text="The date or timestamp column whose age decides a row's."
    )


class RetentionApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses=PolicySerializer, summary="Show the organization's retention")
    def get(self, request: Request) -> Response:
        policy = policies.policy_of(request_organization(request))
        return Response(PolicySerializer(policy).data)

    @extend_schema(
        request=PolicyChangeSerializer,
        responses=PolicySerializer,
        summary="Change retention (admins)",
    )
    def patch(self, request: Request) -> Response:
        changes = _changes(request, PolicyChangeSerializer)
        try:
            policy = policies.policy_update(
                organization=request_organization(request), changes=changes
            )
        except RetentionError as error:
            raise _refused(error) from None
        return Response(PolicySerializer(policy).data)


class DatasetRetentionSerializer(serializers.Serializer[DatasetRetention]):
    keep_files_days = serializers.SerializerMethodField(
        help_text='Days, null (forever) or "inherit" (the organization\'s).'
    )
    keep_rows_days = serializers.SerializerMethodField(
        help_text='Days, null (forever) or "inherit" (the organization\'s).'
    )
    rows_column = serializers.CharField(allow_blank=True)
    effective = serializers.SerializerMethodField(help_text="What retention applies now.")

    def get_keep_files_days(self, own: DatasetRetention) -> int | str | None:
        return own.keep_files_days if own.override_files else policies.INHERIT

    def get_keep_rows_days(self, own: DatasetRetention) -> int | str | None:
        return own.keep_rows_days if own.override_rows else policies.INHERIT

    def get_effective(self, own: DatasetRetention) -> dict[str, Any]:
        rules = policies.rules_for(own.dataset)
        return {
            "keep_files_days": rules.keep_files_days,
            "keep_rows_days": rules.keep_rows_days,
            "rows_column": rules.rows_column,
        }


class DatasetRetentionApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses=DatasetRetentionSerializer, summary="Show a dataset's retention")
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        return Response(DatasetRetentionSerializer(policies.override_of(dataset)).data)

    @extend_schema(
        request=DatasetRetentionChangeSerializer,
        responses=DatasetRetentionSerializer,
        summary="Change a dataset's retention (admins)",
    )
    def patch(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        changes = _changes(request, DatasetRetentionChangeSerializer)
        try:
            own = policies.override_update(dataset=dataset, changes=changes)
        except RetentionError as error:
            raise _refused(error) from None
        return Response(DatasetRetentionSerializer(own).data)


class HoldSerializer(serializers.Serializer[LegalHold]):
    id = serializers.IntegerField()
    dataset = serializers.CharField(source="dataset.slug", allow_null=True, default=None)
    upload = serializers.UUIDField(source="upload.id", allow_null=True, default=None)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class HoldCreateSerializer(serializers.Serializer[dict[str, Any]]):
    dataset = TextField(required=False, help_text="A dataset's slug.")
    upload = serializers.UUIDField(required=False, help_text="An upload's id.")
    reason = TextField(max_length=500)


class HoldListApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses=HoldSerializer(many=True), summary="List legal holds")
    def get(self, request: Request) -> Response:
        holds = policies.holds_of(request_organization(request))
        return Response(HoldSerializer.many_init(holds).data)

    @extend_schema(
        request=HoldCreateSerializer, responses={201: HoldSerializer}, summary="Put on hold"
    )
    def post(self, request: Request) -> Response:
        given = HoldCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        organization = request_organization(request)
        data = given.validated_data
        dataset = upload = None
        if "dataset" in data:
            dataset = selectors.dataset_get(organization=organization, slug=data["dataset"])
        if "upload" in data:
            upload = selectors.upload_get(organization=organization, upload_id=data["upload"])
        try:
            hold = policies.hold_create(
                organization=organization,
                reason=data["reason"],
                dataset=dataset,
                upload=upload,
                user=request_user(request),
            )
        except RetentionError as error:
            raise _refused(error) from None
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)


class HoldDetailApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses={204: None}, summary="Release a legal hold")
    def delete(self, request: Request, hold_id: int) -> Response:
        if not policies.hold_release(organization=request_organization(request), hold_id=hold_id):
            raise DatasetNotFound(f"No legal hold {hold_id}.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetUsageSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
    stored_bytes = serializers.IntegerField()
    rows = serializers.IntegerField()
    warehouse_bytes = serializers.IntegerField(allow_null=True)


class QuotaSerializer(serializers.Serializer[Any]):
    max_stored_bytes = serializers.IntegerField(allow_null=True)
    max_warehouse_rows = serializers.IntegerField(allow_null=True)
    max_upload_bytes = serializers.IntegerField(allow_null=True)


class UsageSerializer(serializers.Serializer[Any]):
    organization = serializers.CharField()
    stored_bytes = serializers.IntegerField(help_text="Bytes of original files in storage.")
    rows = serializers.IntegerField(help_text="Rows in the warehouse.")
    warehouse_bytes = serializers.IntegerField(
        allow_null=True, help_text="The warehouse's estimate of the tables' size."
    )
    datasets = DatasetUsageSerializer(many=True)
    quotas = QuotaSerializer(help_text="null: unlimited.")


class UsageApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses=UsageSerializer, summary="Show the organization's usage and quotas")
    def get(self, request: Request) -> Response:
        organization = request_organization(request)
        usage = usage_of(organization)
        body = {
            "organization": organization.slug,
            "stored_bytes": usage.stored_bytes,
            "rows": usage.rows,
            "warehouse_bytes": usage.warehouse_bytes,
            "datasets": usage.datasets,
            "quotas": quota_of(organization),
        }
        return Response(UsageSerializer(body).data)
