"""Headers on every answer csvhub computes: data is never cached, browser features are off.

Static files are answered by WhiteNoise before this middleware and keep their own caching.
The Content-Security-Policy is Django's own (SECURE_CSP in settings).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.http import http_date

# Features the pages never use; a script injected somehow cannot ask for them either.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

# What django.utils.cache.add_never_cache_headers writes on an answer without Cache-Control,
# written at once: its passes parsing and rebuilding the header cost every API answer 0.04 ms.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


class ResponseHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # API JSON, exports, original files and pages all carry an organization's data: no
        # shared or browser cache may keep a copy. A view that chose its own caching keeps it.
        if "Cache-Control" not in response:
            response.headers["Cache-Control"] = NEVER_CACHE
            response.headers.setdefault("Expires", http_date(time.time()))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
