"""Routes of the compatibility endpoints. csvhub/urls.py puts `api_urlpatterns` under /api/v1/
and the others at the root, after csvhub's own /api/ routes so that those always win."""

from __future__ import annotations

from django.urls import URLPattern, path

from csvhub.compat import apis

api_urlpatterns: list[URLPattern] = [
    path("event/", apis.EventUploadApi.as_view(), name="compat-event"),
    path("analyze/", apis.AnalyzeApi.as_view(), name="compat-analyze"),
    path("customers/", apis.CustomerListApi.as_view(), name="compat-customers"),
]

root_urlpatterns: list[URLPattern] = [
    path("etl/", apis.TableUploadApi.as_view(), name="compat-etl"),
    path("api/_/<str:table_name>/", apis.EscapedTableRowsApi.as_view(), name="compat-table-any"),
    path("api/<str:table_name>/", apis.TableRowsApi.as_view(), name="compat-table"),
]
