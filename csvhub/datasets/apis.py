"""The datasets and uploads API: thin views over services and selectors."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import ReadOrEdit
from csvhub.api import ErrorSerializer, TextField, body_field
from csvhub.cleaning.selectors import upload_notes
from csvhub.cleaning.upload_fields import READING_RULE_FIELDS, reading_rules_of_form
from csvhub.datasets import selectors, services
from csvhub.datasets.arrivals import Arrival
from csvhub.datasets.errors import OriginalDeleted
from csvhub.datasets.models import Dataset, Reject, Upload, UploadMode
from csvhub.datasets.upload_handler import SpoolingUploadHandler
from csvhub.grammar.rows import MAX_OFFSET
from csvhub.schema import ColumnType, TypeChange

# Output serializers are typed with what they represent, and take a list through many_init (what
# many=True calls): DRF's stubs type the constructor for one instance.


class ColumnSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(help_text="Safe SQL name, used in queries.")
    # A field named like Field.label: DRF's metaclass takes declared fields off the class.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The header cell as written in the file."
    )
    type = serializers.ChoiceField(choices=[column_type.value for column_type in ColumnType])
    nullable = serializers.BooleanField()


class DescribedColumnSerializer(ColumnSerializer):
    """A column in a dataset's listing and detail: with what editors wrote about it."""

    description = serializers.CharField(help_text="What editors wrote about the column.")
    unit = serializers.CharField(help_text="The column's unit (`EUR`, `°C`), or empty.")


class ColumnNoteSerializer(serializers.Serializer[dict[str, str]]):
    description = TextField(
        required=False, allow_blank=True, max_length=services.MAX_DESCRIPTION_CHARS
    )
    unit = TextField(required=False, allow_blank=True, max_length=services.MAX_UNIT_CHARS)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        # A misspelt note ("units") would otherwise be dropped without a word.
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                f"Unknown {', '.join(unknown)}: a column note has description and unit."
            )
        checked: dict[str, str] = super().to_internal_value(data)
        return checked


class UploadSerializer(serializers.Serializer[Upload]):
    id = serializers.UUIDField()
    dataset = serializers.CharField(source="dataset.slug")
    file_name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=["append", "replace"])
    state = serializers.CharField()
    status_url = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    rejects_url = serializers.SerializerMethodField()
    bytes_read = serializers.IntegerField()
    bytes_total = serializers.IntegerField(source="size")
    rows_loaded = serializers.IntegerField()
    rows_rejected = serializers.IntegerField()
    type_changes = serializers.SerializerMethodField(
        help_text="Columns this upload widened: column, from, to, the line and value that made "
        "it (when one did), and a message saying so with the way back."
    )
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    encoding = serializers.CharField()
    encoding_reason = serializers.CharField()
    delimiter = serializers.CharField()
    reading_notes = serializers.SerializerMethodField(
        help_text="What reading detected or assumed (a decimal comma, the order of dates)."
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def _url(self, name: str, upload: Upload) -> str:
        return reverse(name, kwargs={"upload_id": upload.id}, request=self.context.get("request"))

    def get_status_url(self, upload: Upload) -> str:
        return self._url("upload-detail", upload)

    def get_file_url(self, upload: Upload) -> str:
        return self._url("upload-file", upload)

    def get_rejects_url(self, upload: Upload) -> str:
        return self._url("upload-rejects", upload)

    def get_type_changes(self, upload: Upload) -> list[dict[str, Any]]:
        return [
            {**change, "message": TypeChange.from_json(change).message}
            for change in upload.type_changes
        ]

    def get_reading_notes(self, upload: Upload) -> list[str]:
        return upload_notes(upload)


class DatasetSerializer(serializers.Serializer[Dataset]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    status = serializers.SerializerMethodField()
    files = serializers.IntegerField(source="file_count", default=0)
    total_size = serializers.SerializerMethodField()
    row_count = serializers.IntegerField()
    description = serializers.CharField()
    columns = DescribedColumnSerializer(many=True, source="schema.columns")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_status(self, dataset: Dataset) -> str:
        return selectors.dataset_status(dataset)

    def get_total_size(self, dataset: Dataset) -> int:
        total: int | None = getattr(dataset, "total_size", None)  # annotated by dataset_list
        return total or 0


class DatasetDetailSerializer(DatasetSerializer):
    uploads = serializers.SerializerMethodField()

    @extend_schema_field(UploadSerializer(many=True))
    def get_uploads(self, dataset: Dataset) -> Any:
        # Each upload's reading notes (csvhub.cleaning) come in the same query.
        uploads = dataset.uploads.select_related("dataset", "reading")
        return UploadSerializer.many_init(uploads, context=self.context).data


class DatasetListApi(APIView):
    permission_classes = [ReadOrEdit]

    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        name = TextField(max_length=200)

    @extend_schema(responses=DatasetSerializer(many=True), summary="List datasets")
    def get(self, request: Request) -> Response:
        datasets = selectors.dataset_list(organization=request_organization(request))
        return Response(DatasetSerializer.many_init(datasets).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: DatasetSerializer},
        summary="Create an empty dataset",
    )
    def post(self, request: Request) -> Response:
        data = _valid(self.InputSerializer, request.data)
        organization = request_organization(request)
        dataset = services.dataset_create(
            organization=organization, name=data["name"], user=request.user
        )
        dataset = selectors.dataset_get(organization=organization, slug=dataset.slug)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDescribeSerializer(serializers.Serializer[dict[str, Any]]):
    """What PATCH changes; every field optional: only what is given changes."""

    name = TextField(required=False, max_length=200)
    description = TextField(
        required=False, allow_blank=True, max_length=services.MAX_DESCRIPTION_CHARS
    )
    columns = serializers.DictField(
        child=ColumnNoteSerializer(),
        required=False,
        help_text='By column name or label: `{"fare": {"description": "...", '
        '"unit": "GBP"}}`; only the notes given change.',
    )


class DatasetDetailApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        responses=DatasetDetailSerializer, summary="Show a dataset, its columns and uploads"
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        return Response(DatasetDetailSerializer(dataset, context={"request": request}).data)

    @extend_schema(
        request=DatasetDescribeSerializer,
        responses=DatasetDetailSerializer,
        summary="Rename a dataset, describe it and its columns (editors)",
    )
    def patch(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        given = DatasetDescribeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.dataset_describe(
            dataset=dataset,
            name=given.validated_data.get("name"),
            description=given.validated_data.get("description"),
            column_notes=given.validated_data.get("columns"),
        )
        updated = selectors.dataset_get(organization=request_organization(request), slug=slug)
        return Response(DatasetDetailSerializer(updated, context={"request": request}).data)

    @extend_schema(responses={204: None}, summary="Delete a dataset, its table and its files")
    def delete(self, request: Request, slug: str) -> Response:
        dataset = selectors.dataset_get(organization=request_organization(request), slug=slug)
        services.dataset_delete(dataset=dataset)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdmitBeforeTheBody(APIView):
    """For views that take uploads: the view's permissions, and the size, are checked before
    the body is read. Session authentication reads the body (its CSRF check looks for a form
    field) before DRF checks permissions, so the upload handler checks them first."""

    def initialize_request(self, request: HttpRequest, *args: object, **kwargs: object) -> Request:
        request.upload_handlers = [self.upload_handler(request)]
        return super().initialize_request(request, *args, **kwargs)

    def upload_handler(self, request: HttpRequest) -> SpoolingUploadHandler:
        return SpoolingUploadHandler(request, admit=self._admit)

    def _admit(self, request: HttpRequest) -> None:
        """The view's permissions, on the plain Django request: its user is the session's, or
        the token's once DRF has authenticated it."""
        for permission in self.get_permissions():
            # csvhub's permissions read the user and the method, which both requests have.
            if not permission.has_permission(request, self):  # type: ignore[arg-type]
                raise exceptions.PermissionDenied(getattr(permission, "message", None))


class UploadCreateApi(AdmitBeforeTheBody, APIView):
    permission_classes = [ReadOrEdit]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload one or several CSV files",
        description=(
            "Multipart form: one or several `file` parts and an optional `dataset` slug. "
            "Without `dataset`, each file creates a dataset named after it; with it, the files "
            "are appended to that dataset. Ingestion runs in the background: poll `status_url`."
        ),
        request={
            "multipart/form-data": inline_serializer(
                "UploadInput",
                {
                    "file": serializers.ListField(child=serializers.FileField(), min_length=1),
                    "dataset": serializers.SlugField(
                        required=False,
                        allow_blank=True,
                        help_text="A dataset to append to; empty or left out: one new dataset "
                        "per file.",
                    ),
                    "mode": serializers.ChoiceField(
                        choices=["append", "replace"],
                        required=False,
                        help_text="`append` (default) adds the rows; `replace` (one file) makes "
                        "them the dataset's contents, swapped in atomically: the dataset named "
                        "by `dataset`, or else the one named after the file.",
                    ),
                    **READING_RULE_FIELDS,
                },
            )
        },
        responses={202: UploadSerializer(many=True)},
    )
    def post(self, request: Request) -> Response:
        files = request.FILES.getlist("file")  # the body is read here, if not read already
        arrival = self.spooler.arrival if self.spooler is not None else None
        if arrival is not None and len(files) == 1 and not _any_field(request):
            uploads = [services.upload_arrived(arrival=arrival, file=files[0])]
            self.settled = True
        else:
            self._give_up()  # before its dataset's name is taken again
            uploads = self._create(request, files)
        data = UploadSerializer.many_init(uploads, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    # A single file sent alone (the form's only part) starts loading while it arrives, into a
    # new dataset named after it (services.upload_begin_arriving); a request that turns out to
    # be anything else (more files, a dataset, a mode, reading rules) gives that load up and
    # takes the usual path. So does an upload refused or cut short: nothing of it is kept.
    spooler: SpoolingUploadHandler | None = None
    settled = False  # the arrival was kept or given up

    def upload_handler(self, request: HttpRequest) -> SpoolingUploadHandler:
        begin = self._begin_arriving if services.arrivals_enabled() else None
        self.spooler = SpoolingUploadHandler(request, admit=self._admit, begin=begin)
        return self.spooler

    def _begin_arriving(self, file_name: str, spool_path: str) -> Arrival | None:
        # Only once DRF has authenticated the request: session authentication reads the body
        # (its CSRF check) while it authenticates, so a browser's upload takes the usual path.
        request = getattr(self, "request", None)
        if not isinstance(request, Request) or not hasattr(request, "_user"):
            return None
        if not services.upload_may_begin_arriving():
            return None
        return services.upload_begin_arriving(
            organization=request_organization(request),
            user=request.user,
            file_name=file_name,
            spool_path=spool_path,
        )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:  # whatever happened: a 4xx, a bug, a body cut short
            self._give_up()

    def _give_up(self) -> None:
        arrival = self.spooler.arrival if self.spooler is not None else None
        if arrival is not None and not self.settled:
            self.settled = True
            services.upload_arrival_give_up(arrival=arrival, reason="the upload was not kept")

    def _create(self, request: Request, files: list[Any]) -> list[Upload]:
        return services.uploads_create(
            organization=request_organization(request),
            files=files,
            dataset_slug=_text_or_none(body_field(request, "dataset")),
            user=request.user,
            mode=_upload_mode(body_field(request, "mode")),
            reading_rules=reading_rules_of_form(lambda name: body_field(request, name)),
        )


class UploadDetailApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(responses=UploadSerializer, summary="Show an upload's ingestion job")
    def get(self, request: Request, upload_id: str) -> Response:
        upload = selectors.upload_get(
            organization=request_organization(request), upload_id=upload_id
        )
        return Response(UploadSerializer(upload, context={"request": request}).data)


class UploadFileApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(
        responses={(200, "application/octet-stream"): bytes, 410: ErrorSerializer},
        summary="Download the original file (410 once retention deleted it)",
    )
    def get(self, request: Request, upload_id: str) -> FileResponse:
        upload = selectors.upload_get(
            organization=request_organization(request), upload_id=upload_id
        )
        if upload.original_deleted_at is not None:
            raise OriginalDeleted(upload.original_deleted_note or "The original file was deleted.")
        # Always octet-stream: the bytes are the uploader's, whatever the file name suggests.
        return FileResponse(
            upload.file.open("rb"),
            as_attachment=True,
            filename=upload.original_name,
            content_type="application/octet-stream",
        )


class RejectSerializer(serializers.Serializer[Reject]):
    line = serializers.IntegerField()
    reason = serializers.CharField()
    text = serializers.CharField()


REJECTS_MAX_LIMIT = 1000


class _PageSerializer(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(
        min_value=1,
        default=100,
        help_text=f"Rows per page; at most {REJECTS_MAX_LIMIT} are returned.",
    )
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class UploadRejectsApi(APIView):
    permission_classes = [ReadOrEdit]
    MAX_LIMIT = REJECTS_MAX_LIMIT

    @extend_schema(
        parameters=[_PageSerializer],
        responses=inline_serializer(
            "RejectPage",
            {
                "count": serializers.IntegerField(help_text="Rows rejected by the upload."),
                "stored": serializers.IntegerField(
                    help_text="Rejects kept with their text (at most CSVHUB_MAX_STORED_REJECTS)."
                ),
                "rows": RejectSerializer(many=True),
            },
        ),
        summary="Rows of an upload that could not be loaded, with line numbers and reasons",
    )
    def get(self, request: Request, upload_id: str) -> Response:
        upload = selectors.upload_get(
            organization=request_organization(request), upload_id=upload_id
        )
        page = _valid(_PageSerializer, request.query_params)
        rejects = selectors.upload_rejects(upload=upload)
        rows = rejects[page["offset"] : page["offset"] + min(page["limit"], self.MAX_LIMIT)]
        return Response(
            {
                "count": upload.rows_rejected,
                "stored": rejects.count(),
                "rows": RejectSerializer.many_init(rows).data,
            }
        )


def _any_field(request: Request) -> bool:
    """Whether the form carries a field with a value (besides its files)."""
    return any(value for _, values in request.POST.lists() for value in values)


def _upload_mode(value: object) -> UploadMode:
    if value in (None, ""):
        return UploadMode.APPEND
    if value not in UploadMode.values:
        raise exceptions.ValidationError({"mode": ["`mode` is `append` or `replace`."]})
    return UploadMode(value)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _valid(
    serializer_class: type[serializers.Serializer[dict[str, Any]]], data: object
) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated
