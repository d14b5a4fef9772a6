"""Counts every HTTP request by route name, method and status, and times it."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from csvhub.metrics.definitions import metrics

# Methods outside this set are counted under "other": a client inventing methods must not
# invent label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route: 404s for unknown paths, and what answers before routing
STATIC = "static"  # files WhiteNoise serves before any route is looked up


class RequestMetricsMiddleware:
    """Placed first, so that it sees every answer, those of the other middleware included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_name(request)
        method = request.method if request.method in METHODS else "other"
        figures = metrics()
        figures.http_requests.labels(route, method, str(response.status_code)).inc()
        figures.http_latency.labels(route, method).observe(time.perf_counter() - started)
        return response


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (`dataset-rows`, `admin:index`), never the path itself."""
    # Set by URL resolution; None when a middleware answered first or no route matched.
    match = request.resolver_match
    if match is not None and match.view_name:
        return match.view_name
    if settings.STATIC_URL and request.path.startswith(settings.STATIC_URL):
        return STATIC
    return UNMATCHED
