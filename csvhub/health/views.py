"""Health checks for load balancers and orchestrators; they need no authentication."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from csvhub.health.drain import draining
from csvhub.health.static import static_files_problem
from csvhub.warehouse.engine import warehouse_ping


def live(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    """The process can reach its metadata database and its warehouse, the database has every
    migration this code knows (expand/contract, docs/deployment.md), the static files are
    collected from this code, and it is not draining."""
    checks = {"database": _check_database(), "warehouse": _check_warehouse()}
    if checks["database"] == "ok":
        checks["migrations"] = _check_migrations()
    checks["static"] = _check_static()
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


_static_collected = False  # once this code's files are collected, they stay so


def _check_static() -> str:
    global _static_collected
    if _static_collected:
        return "ok"
    problem = static_files_problem()
    if problem:
        return problem
    _static_collected = True
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
