"""Server-rendered pages. Thin: reads come from csvhub.datasets.selectors (through
csvhub.web.files for the files table), writes from csvhub.datasets.services; the pages' scripts
talk to the public API for everything else."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from csvhub.accounts.access import Access
from csvhub.accounts.models import Role
from csvhub.datasets import selectors, services
from csvhub.datasets.errors import DatasetError, DatasetNotFound
from csvhub.datasets.models import Dataset, Upload
from csvhub.grammar.page import page_table
from csvhub.lifecycle.usage import usage_summary
from csvhub.mail import mail_goes_nowhere
from csvhub.web import files as file_reads
from csvhub.web.access import organization_page
from csvhub.web.explorer import column_spellings
from csvhub.web.summaries import column_summaries
from csvhub.web.zips import unique_names, zip_stream

REJECTS_PAGE_SIZE = 100


def _context(access: Access, **extra: Any) -> dict[str, Any]:
    return {
        "organization": access.organization,
        "role": access.role.value,
        "can_edit": access.role.allows(Role.EDITOR),
        "is_admin": access.role.allows(Role.ADMIN),
        **extra,
    }


def _table_context(request: HttpRequest, access: Access) -> dict[str, Any]:
    table = file_reads.file_table(
        organization=access.organization,
        sort=request.GET.get("sort"),
        query=request.GET.get("q", ""),
        page=request.GET.get("page"),
    )
    return _context(access, table=table, sorts=list(file_reads.SORTS))


@require_GET
@organization_page()
def files(request: HttpRequest, access: Access) -> HttpResponse:
    context = _table_context(request, access)
    context["version"] = file_reads.files_version(organization=access.organization)
    context["usage"] = usage_summary(access.organization)
    return render(request, "web/files.html", context)


@require_GET
@organization_page()
def files_table(request: HttpRequest, access: Access) -> HttpResponse:
    """The files table alone, for the page to swap in when something changed."""
    return render(request, "web/_files_table.html", _table_context(request, access))


@require_GET
@organization_page()
def files_live(request: HttpRequest, access: Access) -> JsonResponse:
    """What the files and upload pages poll: a change marker and uploads' progress."""
    uploads = file_reads.uploads_progress(
        organization=access.organization, upload_ids=request.GET.getlist("upload")
    )
    version = file_reads.files_version(organization=access.organization)
    response = JsonResponse({"version": version, "uploads": uploads})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@organization_page()
def files_zip(request: HttpRequest, access: Access) -> StreamingHttpResponse:
    """The original files of the chosen datasets (`dataset=`) and files (`upload=`) as one
    ZIP, streamed as it is made: ten 100 MB files never sit in memory."""
    uploads = file_reads.selected_originals(
        organization=access.organization,
        slugs=request.GET.getlist("dataset"),
        upload_ids=request.GET.getlist("upload"),
    )
    if not uploads:
        raise Http404("None of the chosen files exists.")
    names = unique_names(f"{upload.dataset.slug}/{upload.original_name}" for upload in uploads)
    members = [
        (name, upload.created_at, lambda upload=upload: upload.file.open("rb"))
        for name, upload in zip(names, uploads, strict=True)
    ]
    response = StreamingHttpResponse(zip_stream(members), content_type="application/zip")
    filename = f"{access.organization.slug}-originals.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@organization_page(needs=Role.EDITOR)
def files_delete(request: HttpRequest, access: Access) -> HttpResponse:
    """Delete the chosen datasets (the page asked to confirm, listing them)."""
    chosen = file_reads.selected_datasets(
        organization=access.organization, slugs=request.POST.getlist("dataset")
    )
    try:
        services.datasets_delete(datasets=chosen)
    except DatasetError as refused:
        messages.error(request, str(refused))
        return HttpResponseRedirect(_next_url(request, reverse("files")))
    if chosen:
        messages.success(request, f"Deleted {', '.join(found.name for found in chosen)}.")
    else:
        messages.error(request, "Nothing was deleted: none of the chosen datasets exists.")
    return HttpResponseRedirect(_next_url(request, reverse("files")))


@require_GET
@organization_page(needs=Role.EDITOR)
def upload(request: HttpRequest, access: Access) -> HttpResponse:
    datasets = selectors.dataset_list(organization=access.organization).order_by("name")
    return render(
        request,
        "web/upload.html",
        _context(
            access,
            datasets=list(datasets.values_list("slug", "name")),
            chosen=request.GET.get("dataset", ""),
            max_upload_bytes=settings.CSVHUB_MAX_UPLOAD_BYTES,
        ),
    )


def _dataset(access: Access, slug: str) -> Dataset:
    try:
        return selectors.dataset_get(organization=access.organization, slug=slug)
    except DatasetNotFound:
        raise Http404("No such dataset.") from None


@require_GET
@organization_page()
def dataset(request: HttpRequest, access: Access, slug: str) -> HttpResponse:
    found = _dataset(access, slug)
    columns = column_summaries(found)
    context = _context(
        access,
        dataset=found,
        status=selectors.dataset_status(found),
        discardable=selectors.dataset_discardable(found),
        uploads=list(found.uploads.all()),
        columns=columns,
        columns_json=[column.as_json() for column in columns],
        grammar_json=page_table(),
        spellings_json=column_spellings(found, _pairs(request)),
        api_base=request.build_absolute_uri("/api/v1/"),
    )
    return render(request, "web/dataset.html", context)


def _pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """The query string's pairs, repeated keys included (`Fare=gt:7&Fare=lt:50`)."""
    return [(key, value) for key, values in request.GET.lists() for value in values]


@require_http_methods(["GET", "POST"])
@organization_page(needs=Role.EDITOR)
def dataset_delete(request: HttpRequest, access: Access, slug: str) -> HttpResponse:
    """GET asks to confirm; POST deletes the dataset, its table and its files."""
    found = _dataset(access, slug)
    if request.method == "GET":
        return render(request, "web/dataset_delete.html", _context(access, dataset=found))
    try:
        services.dataset_delete(dataset=found)
    except DatasetError as refused:  # a legal hold (409): the page says which, and what to do
        messages.error(request, str(refused))
        context = _context(access, dataset=found)
        return render(request, "web/dataset_delete.html", context, status=refused.status_code)
    messages.success(request, f"Deleted {found.name}.")
    return HttpResponseRedirect(_next_url(request, reverse("files")))


@require_http_methods(["GET", "POST"])
@organization_page(needs=Role.EDITOR)
def dataset_edit(request: HttpRequest, access: Access, slug: str) -> HttpResponse:
    """Rename the dataset, describe it, describe its columns and give them units."""
    found = _dataset(access, slug)
    if request.method == "GET":
        return _edit_page(request, access, found, found.name, found.description)
    notes: dict[str, dict[str, str]] = {}
    for key, values in request.POST.lists():  # a field sent twice: the last, as .items() does
        field, _, column = key.partition(":")
        if column and field in services.COLUMN_NOTES:
            notes.setdefault(column, {})[field] = values[-1]
    name, description = request.POST.get("name", ""), request.POST.get("description", "")
    try:
        services.dataset_describe(
            dataset=found, name=name, description=description, column_notes=notes
        )
    except DatasetError as exc:
        return _edit_page(request, access, found, name, description, error=str(exc), status=400)
    messages.success(request, "Saved the description.")
    return HttpResponseRedirect(reverse("dataset", args=[found.slug]))


def _edit_page(
    request: HttpRequest,
    access: Access,
    found: Dataset,
    name: str,
    description: str,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = _context(
        access,
        dataset=found,
        columns=list(found.schema),
        form_name=name,
        form_description=description,
        error=error,
    )
    return render(request, "web/dataset_edit.html", context, status=status)


@require_POST
@organization_page(needs=Role.EDITOR)
def dataset_discard(request: HttpRequest, access: Access, slug: str) -> HttpResponse:
    """One click removes a dataset that holds nothing (its uploads all failed)."""
    found = _dataset(access, slug)
    try:
        services.dataset_discard(dataset=found)
    except DatasetError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Discarded {found.name}.")
    return HttpResponseRedirect(_next_url(request, reverse("files")))


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed and target.startswith("/") else default


@require_GET
@organization_page()
def upload_rejects(request: HttpRequest, access: Access, upload_id: str) -> HttpResponse:
    try:
        found: Upload = selectors.upload_get(organization=access.organization, upload_id=upload_id)
    except DatasetNotFound:
        raise Http404("No such upload.") from None
    rejects = Paginator(selectors.upload_rejects(upload=found), REJECTS_PAGE_SIZE)
    page = rejects.get_page(request.GET.get("page"))
    context = _context(access, upload=found, page=page, stored=rejects.count)
    return render(request, "web/rejects.html", context)


@require_GET
@organization_page()
def tokens(request: HttpRequest, access: Access) -> HttpResponse:
    ranks = [role for role in Role if access.role.allows(role)]
    return render(request, "web/tokens.html", _context(access, token_roles=ranks))


@require_GET
@organization_page(needs=Role.ADMIN)
def members(request: HttpRequest, access: Access) -> HttpResponse:
    context = _context(access, member_roles=list(Role), mail_goes_nowhere=mail_goes_nowhere())
    return render(request, "web/members.html", context)
