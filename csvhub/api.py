"""API-wide plumbing: errors users can fix become 4xx answers with a message."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from csvhub.datasets.errors import DatasetError


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DatasetError):
        return Response({"detail": str(exc)}, status=exc.status_code)
    return drf_exception_handler(exc, context)
