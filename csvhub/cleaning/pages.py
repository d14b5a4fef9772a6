"""The Clean page of a dataset: pick a text column, review its clusters page by page, edit the
canonical value, accept or reject (the page calls the cleaning API)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from csvhub.accounts.access import Access
from csvhub.accounts.models import Role
from csvhub.cleaning.clusters import Method
from csvhub.cleaning.reading import dataset_rules
from csvhub.datasets import selectors
from csvhub.datasets.errors import DatasetNotFound
from csvhub.schema import ColumnType
from csvhub.web.access import organization_page


@require_GET
@organization_page(needs=Role.EDITOR)
def dataset_clean(request: HttpRequest, access: Access, slug: str) -> HttpResponse:
    try:
        dataset = selectors.dataset_get(organization=access.organization, slug=slug)
    except DatasetNotFound:
        raise Http404("No such dataset.") from None
    text_columns = dataset.schema.of_types((ColumnType.TEXT,))
    return render(
        request,
        "cleaning/clean.html",
        {
            "organization": access.organization,
            "role": access.role.value,
            "can_edit": True,
            "is_admin": access.role.allows(Role.ADMIN),
            "dataset": dataset,
            "text_columns": text_columns,
            "methods": [method.value for method in Method],
            "rules": dataset_rules(dataset).to_json(),
        },
    )


urlpatterns = [path("datasets/<slug:slug>/clean/", dataset_clean, name="dataset-clean")]
