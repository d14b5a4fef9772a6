from django.urls import path

from csvhub.sources import apis

_SOURCE = "datasets/<slug:slug>/sources/<str:source_id>/"

api_urlpatterns = [
    path("datasets/<slug:slug>/sources/", apis.SourceListApi.as_view(), name="source-list"),
    path(_SOURCE, apis.SourceDetailApi.as_view(), name="source-detail"),
    path(f"{_SOURCE}run", apis.SourceRunApi.as_view(), name="source-run"),
    path(f"{_SOURCE}runs/", apis.SourceRunsApi.as_view(), name="source-runs"),
]
