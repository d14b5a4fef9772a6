"""The accounts routes mounted as csvhub/urls.py mounts them, plus probe views that expose
request_organization / request_role and each permission class, so these tests do not depend
on the other apps' routes."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization, request_role
from csvhub.accounts.permissions import CanAdmin, CanEdit, CanView, ReadOrEdit
from csvhub.accounts.urls import api_urlpatterns, page_urlpatterns
from csvhub.sso.urls import urlpatterns as sso_urlpatterns


def _probe(permission: type[BasePermission]) -> type[APIView]:
    class Probe(APIView):
        permission_classes = [permission]
        schema = None  # test-only view: keep it out of the OpenAPI document

        def get(self, request: Request) -> Response:
            return Response(
                {"organization": request_organization(request).slug, "role": request_role(request)}
            )

        post = get

    return Probe


probe_urlpatterns = [
    path("view/", _probe(CanView).as_view()),
    path("edit/", _probe(CanEdit).as_view()),
    path("admin/", _probe(CanAdmin).as_view()),
    path("read-or-edit/", _probe(ReadOrEdit).as_view()),
]

urlpatterns = [
    path("api/v1/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("probe/", include(probe_urlpatterns)),
    path("admin/", admin.site.urls),
    path("", include(sso_urlpatterns)),  # sign-out
    path("", include(page_urlpatterns)),
    # The layout's navigation (base.html), which the styled 403/404/500 pages render too.
    path("", include("csvhub.web.urls")),
]
