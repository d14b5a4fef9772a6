"""Health checks for load balancers and orchestrators; they need no authentication."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from csvhub.warehouse.engine import warehouse_ping


def live(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    """The process can reach its metadata database and its warehouse."""
    checks = {"database": _check_database(), "warehouse": _check_warehouse()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # a health check reports failures instead of raising them
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_warehouse() -> str:
    try:
        warehouse_ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
