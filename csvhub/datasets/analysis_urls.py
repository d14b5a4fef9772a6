from django.urls import URLPattern, path

from csvhub.datasets import analysis_apis

api_urlpatterns: list[URLPattern] = [
    path(
        "datasets/<slug:slug>/summary/",
        analysis_apis.DatasetSummaryApi.as_view(),
        name="dataset-summary",
    ),
    path(
        "datasets/<slug:slug>/analysis/",
        analysis_apis.DatasetAnalysisApi.as_view(),
        name="dataset-analysis",
    ),
]
