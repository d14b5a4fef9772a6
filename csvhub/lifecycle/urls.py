from django.urls import path

from csvhub.lifecycle import apis, pages

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

page_urlpatterns = [
    path("settings/retention/", pages.retention_settings, name="retention-settings"),
]
