from django.urls import path

from csvhub.edits import apis

_EDITS = "datasets/<slug:slug>/edits/"

api_urlpatterns = [
    path(_EDITS, apis.EditListApi.as_view(), name="edit-list"),
    path(f"{_EDITS}preview", apis.EditPreviewApi.as_view(), name="edit-preview"),
    path(f"{_EDITS}<str:edit_id>/", apis.EditDetailApi.as_view(), name="edit-detail"),
    path(f"{_EDITS}<str:edit_id>/undo", apis.EditUndoApi.as_view(), name="edit-undo"),
    path("uploads/<str:upload_id>/rows", apis.UploadRowsApi.as_view(), name="upload-rows"),
]
