from django.urls import path

from csvhub.datasets import apis
from csvhub.datasets.analysis_urls import api_urlpatterns as analysis_api
from csvhub.datasets.rows_urls import api_urlpatterns as rows_api

api_urlpatterns = [
    path("datasets/", apis.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/<slug:slug>/", apis.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("uploads/", apis.UploadCreateApi.as_view(), name="upload-create"),
    path("uploads/<str:upload_id>/", apis.UploadDetailApi.as_view(), name="upload-detail"),
    path("uploads/<str:upload_id>/file", apis.UploadFileApi.as_view(), name="upload-file"),
    path("uploads/<str:upload_id>/rejects", apis.UploadRejectsApi.as_view(), name="upload-rejects"),
    *rows_api,
    *analysis_api,
]
