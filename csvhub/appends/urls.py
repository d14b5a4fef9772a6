"""The rows route: GET (query, csvhub.datasets) and POST (append) share one path, so one view
serves both; it is routed here because the appending app extends the querying one, never the
other way round."""

from django.urls import URLPattern, path

from csvhub.appends.apis import RowsApi

api_urlpatterns: list[URLPattern] = [
    path("datasets/<slug:slug>/rows/", RowsApi.as_view(), name="dataset-rows"),
]
