"""The bulk edit API: thin views over edits.services and edits.selectors (docs/api.md,
"Editing rows")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import CanEdit, ReadOrEdit
from csvhub.api import ErrorSerializer
from csvhub.datasets import selectors as dataset_selectors
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import parse_flag
from csvhub.edits import selectors, services
from csvhub.edits.actions import EditAction, action_parse
from csvhub.edits.errors import EditInvalid
from csvhub.edits.models import Edit, EditState
from csvhub.edits.selections import selection_parse


class EditSerializer(serializers.Serializer[Edit]):
    id = serializers.IntegerField()
    # Plain text in the schema: "kind" and "state" are enums of other components already.
    kind = serializers.CharField(help_text="update, delete or undo.")
    state = serializers.CharField(help_text="queued, running, succeeded or failed.")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    filter = serializers.CharField(source="selection.query", help_text="As a rows query string.")
    row_ids = serializers.ListField(
        source="selection.row_ids", allow_null=True, help_text="A taken-back upload's row ids."
    )
    action = serializers.DictField()
    columns = serializers.ListField(child=serializers.CharField())
    expected_count = serializers.IntegerField(allow_null=True)
    rows_done = serializers.IntegerField(help_text="Progress: rows journaled so far.")
    rows_affected = serializers.IntegerField(allow_null=True)
    conflicts = serializers.IntegerField(help_text="An undo's rows changed since, left alone.")
    conflict_row_ids = serializers.ListField(child=serializers.IntegerField())
    error = serializers.CharField()
    upload = serializers.UUIDField(source="upload_id", allow_null=True)
    undoes = serializers.IntegerField(source="undoes_id", allow_null=True)
    undone_by = serializers.SerializerMethodField()
    undoable = serializers.SerializerMethodField()
    journal_expired = serializers.BooleanField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_undone_by(self, edit: Edit) -> int | None:
        undo = selectors.edit_undone_by(edit)
        return None if undo is None else undo.id

    def get_undoable(self, edit: Edit) -> bool:
        return (
            edit.kind != "undo"
            and edit.state == EditState.SUCCEEDED
            and not edit.journal_expired
            and selectors.edit_undone_by(edit) is None
        )

    def get_url(self, edit: Edit) -> str:
        return reverse(
            "edit-detail",
            kwargs={"slug": edit.dataset.slug, "edit_id": edit.id},
            request=self.context.get("request"),
        )


_PREVIEW = inline_serializer(
    "EditPreview",
    {
        "count": serializers.IntegerField(help_text="Rows the edit would change."),
        "columns": serializers.ListField(child=serializers.CharField()),
        "samples": serializers.ListField(
            child=serializers.DictField(), help_text="{row_id, before, after} of a few rows."
        ),
    },
)

_INPUT = inline_serializer(
    "EditInput",
    {
        "filter": serializers.JSONField(
            required=False, help_text="A rows query string or an object; query parameters add."
        ),
        "action": serializers.DictField(
            required=False, help_text='{"set": {...}} or {"delete": true}.'
        ),
        "set": serializers.DictField(
            required=False, help_text="The action's `set`, written at the top of the body."
        ),
        "delete": serializers.BooleanField(
            required=False, help_text="The action's `delete`, written at the top of the body."
        ),
        "expected_count": serializers.IntegerField(required=False),
        "preview": serializers.BooleanField(required=False),
    },
)


def _dataset(request: Request, slug: str) -> Dataset:
    return dataset_selectors.dataset_find(organization=request_organization(request), slug=slug)


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise EditInvalid('The body is a JSON object: {"filter": ..., "action": {...}}.')
    return dict(request.data)


_ACTION_KEYS = ("set", "delete")


def _action(dataset: Dataset, body: dict[str, Any]) -> EditAction:
    """The body's action: under `action`, or its `set`/`delete` written at the top of the body
    (`{"filter": "...", "set": {"price": "12.50"}}`, as clients of the issue's examples send it)."""
    top = {key: body[key] for key in _ACTION_KEYS if key in body}
    if top and "action" in body:
        raise EditInvalid('Give the action once: "action": {...}, or "set"/"delete" at the top.')
    return action_parse(dataset.schema, body.get("action", top or None))


def _option(request: Request, body: dict[str, Any], name: str) -> object:
    return body[name] if name in body else request.query_params.get(name)


def _flag(request: Request, body: dict[str, Any], name: str) -> bool:
    value = _option(request, body, name)
    if value is None or isinstance(value, bool):
        return bool(value)
    flag = parse_flag(str(value))
    if flag is None:
        raise EditInvalid(f"{name} takes true or false, not {value!r}.")
    return flag


def _expected_count(request: Request, body: dict[str, Any]) -> int | None:
    value = _option(request, body, "expected_count")
    if value is None or value == "":
        return None
    try:
        count = int(str(value))
    except ValueError:
        raise EditInvalid(f"expected_count takes a whole number, not {value!r}.") from None
    if not 0 <= count < 2**63:
        raise EditInvalid("expected_count is a number of rows: 0 or more, below 2**63.")
    return count


def _preview(request: Request, dataset: Dataset, body: dict[str, Any]) -> Response:
    selection = selection_parse(params=_params(request), body_filter=body.get("filter"))
    action = _action(dataset, body)
    found = services.edit_preview(dataset=dataset, selection=selection, action=action)
    return Response({"count": found.count, "columns": found.columns, "samples": found.samples})


def _params(request: Request) -> list[tuple[str, str]]:
    return [(key, value) for key, values in request.query_params.lists() for value in values]


def _edit_response(request: Request, edit: Edit) -> Response:
    code = status.HTTP_201_CREATED if edit.is_finished else status.HTTP_202_ACCEPTED
    return Response(EditSerializer(edit, context={"request": request}).data, status=code)


class EditListApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(responses=EditSerializer(many=True), summary="A dataset's edit history")
    def get(self, request: Request, slug: str) -> Response:
        dataset = _dataset(request, slug)
        edits = selectors.edit_list(dataset=dataset)[:200]
        serializer = EditSerializer.many_init(edits, context={"request": request})
        return Response(serializer.data)

    @extend_schema(
        request=_INPUT,
        responses={
            200: OpenApiResponse(_PREVIEW, description="preview=true: nothing changed."),
            201: OpenApiResponse(EditSerializer, description="Applied within the request."),
            202: OpenApiResponse(EditSerializer, description="Queued as a background job."),
            400: OpenApiResponse(ErrorSerializer, description="Bad filter or action."),
            409: OpenApiResponse(ErrorSerializer, description="expected_count differs."),
        },
        summary="Edit or delete the rows a filter selects",
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = _dataset(request, slug)
        body = _body(request)
        if _flag(request, body, "preview"):
            return _preview(request, dataset, body)
        selection = selection_parse(params=_params(request), body_filter=body.get("filter"))
        edit = services.edit_create(
            dataset=dataset,
            user=request.user,
            selection=selection,
            action=_action(dataset, body),
            expected_count=_expected_count(request, body),
        )
        return _edit_response(request, edit)


class EditPreviewApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(
        request=_INPUT,
        responses={200: _PREVIEW, 400: ErrorSerializer},
        summary="Preview an edit: count and before/after samples, nothing changed",
    )
    def post(self, request: Request, slug: str) -> Response:
        return _preview(request, _dataset(request, slug), _body(request))


class EditDetailApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(responses=EditSerializer, summary="One edit: its state, progress, outcome")
    def get(self, request: Request, slug: str, edit_id: str) -> Response:
        edit = selectors.edit_get(dataset=_dataset(request, slug), edit_id=edit_id)
        return Response(EditSerializer(edit, context={"request": request}).data)


class EditUndoApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(
        request=None,
        responses={201: EditSerializer, 202: EditSerializer, 409: ErrorSerializer},
        summary="Undo an edit: put its old values back (force=true: over later changes too)",
    )
    def post(self, request: Request, slug: str, edit_id: str) -> Response:
        edit = selectors.edit_get(dataset=_dataset(request, slug), edit_id=edit_id)
        body = request.data if isinstance(request.data, dict) else {}
        undo = services.edit_undo(edit=edit, user=request.user, force=_flag(request, body, "force"))
        return _edit_response(request, undo)


class UploadRowsApi(APIView):
    permission_classes = [CanEdit]

    @extend_schema(
        request=None,
        responses={201: EditSerializer, 202: EditSerializer, 409: ErrorSerializer},
        summary="Take an upload back: delete exactly the rows it added (an undoable edit)",
    )
    def delete(self, request: Request, upload_id: str) -> Response:
        upload = dataset_selectors.upload_get(
            organization=request_organization(request), upload_id=upload_id
        )
        edit = services.upload_rows_delete(upload=upload, user=request.user)
        return _edit_response(request, edit)
