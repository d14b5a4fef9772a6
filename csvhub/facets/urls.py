from django.urls import URLPattern, path

from csvhub.facets import apis

api_urlpatterns: list[URLPattern] = [
    path("datasets/<slug:slug>/facets/", apis.DatasetFacetsApi.as_view(), name="dataset-facets"),
]
