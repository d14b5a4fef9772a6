"""/metrics in-process (one process, no multiprocess directory): off without a token."""

from __future__ import annotations

import pytest

from tests.serving import parse_samples

pytestmark = pytest.mark.django_db


def test_metrics_are_off_without_a_token(client, settings):
    settings.CSVHUB_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_count_requests_including_static_files_by_route(client, settings):
    settings.CSVHUB_METRICS_TOKEN = "s3cret"
    auth = {"HTTP_AUTHORIZATION": "Bearer s3cret"}

    def count(route: str, status: str) -> float:
        samples = parse_samples(client.get("/metrics", **auth).content.decode())
        key = frozenset({("route", route), ("method", "GET"), ("status", status)})
        return samples.get(("csvhub_http_requests_total", key), 0.0)

    before = count("health-live", "200"), count("static", "404")
    client.get("/healthz")
    client.get("/healthz")
    client.get("/static/no-such-file.js")
    assert (count("health-live", "200"), count("static", "404")) == (before[0] + 2, before[1] + 1)
    assert client.get("/metrics").status_code == 401
    assert client.post("/metrics", **auth).status_code == 405
