from django.urls import URLPattern, path

from csvhub.datasets import rows_apis

api_urlpatterns: list[URLPattern] = [
    path("datasets/<slug:slug>/rows/", rows_apis.RowListApi.as_view(), name="dataset-rows"),
    path("datasets/<slug:slug>/indexes/", rows_apis.IndexListApi.as_view(), name="dataset-indexes"),
]
