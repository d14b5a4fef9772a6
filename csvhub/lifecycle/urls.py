from django.urls import path

from csvhub.lifecycle import apis

api_urlpatterns = [
    path("retention/", apis.RetentionApi.as_view(), name="retention"),
    path(
        "datasets/<slug:slug>/retention/",
        apis.DatasetRetentionApi.as_view(),
        name="dataset-retention",
    ),
    path("holds/", apis.HoldListApi.as_view(), name="hold-list"),
    path("holds/<int:hold_id>/", apis.HoldDetailApi.as_view(), name="hold-detail"),
    path("usage/", apis.UsageApi.as_view(), name="usage"),
]
