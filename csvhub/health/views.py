"""Health checks for load balancers and orchestrators; they need no authentication."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from csvhub.health.drain import draining
from csvhub.warehouse.engine import warehouse_ping


def live(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    """The process can reach its metadata database and its warehouse, the database has every
    migration this code knows (expand/contract, docs/deployment.md), and it is not draining."""
    checks = {"database": _check_database(), "warehouse": _check_warehouse()}
    if checks["database"] == "ok":
        checks["migrations"] = _check_migrations()
    checks["serving"] = "draining" if draining() else "ok"
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


_migrated = False  # once every migration is applied, it stays so for this code


def _check_migrations() -> str:
    global _migrated
    if _migrated:
        return "ok"
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return f"{len(pending)} migration(s) pending: run `csvhub migrate`"
    _migrated = True
    return "ok"
