from django.urls import URLPattern, path

from csvhub.datasets import rows_apis

# datasets/<slug>/rows/ is routed by csvhub.appends (its view adds POST to RowListApi).
api_urlpatterns: list[URLPattern] = [
    path("datasets/<slug:slug>/indexes/", rows_apis.IndexListApi.as_view(), name="dataset-indexes"),
]
