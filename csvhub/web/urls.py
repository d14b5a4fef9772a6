from django.urls import path

from csvhub.web import views

urlpatterns = [
    path("", views.files, name="files"),
    path("files/table/", views.files_table, name="files-table"),
    path("files/live/", views.files_live, name="files-live"),
    path("files/zip/", views.files_zip, name="files-zip"),
    path("files/delete/", views.files_delete, name="files-delete"),
    path("upload/", views.upload, name="upload"),
    path("datasets/<slug:slug>/", views.dataset, name="dataset"),
    path("datasets/<slug:slug>/delete/", views.dataset_delete, name="dataset-delete"),
    path("datasets/<slug:slug>/edit/", views.dataset_edit, name="dataset-edit"),
    path("datasets/<slug:slug>/discard/", views.dataset_discard, name="dataset-discard"),
    path("uploads/<uuid:upload_id>/rejects/", views.upload_rejects, name="upload-rejects-page"),
    path("tokens/", views.tokens, name="tokens"),
    path("members/", views.members, name="members"),
]
