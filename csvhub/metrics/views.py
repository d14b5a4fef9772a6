"""/metrics on the web server: only for a scraper that sends CSVHUB_METRICS_TOKEN."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from csvhub.metrics.exposition import CONTENT_TYPE, authorized, scrape


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.CSVHUB_METRICS_TOKEN:
        raise Http404("Metrics are off: set CSVHUB_METRICS_TOKEN.")
    if not authorized(request.headers.get("Authorization")):
        response = HttpResponse("Send the metrics token as a Bearer token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(scrape(), content_type=CONTENT_TYPE)
