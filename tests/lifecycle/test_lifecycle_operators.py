"""What operators see and set: /metrics gauges per organization, `csvhub quota`, the admin."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from csvhub.lifecycle.quotas import quota_of
from tests.datasets.pipeline import make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)


def _samples(body: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def test_metrics_show_each_organizations_usage(acme, settings):
    settings.CSVHUB_METRICS_TOKEN = "scrape-me"
    make_org("globex")
    loaded = upload(acme, "meters.csv", "a\n1\n2\n3\n")

    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")

    samples = _samples(response.content.decode())
    acme_labels = (("organization", "acme"),)
    assert samples[("csvhub_organization_stored_bytes", acme_labels)] == loaded.size
    assert samples[("csvhub_organization_warehouse_rows", acme_labels)] == 3
    assert samples[("csvhub_organization_warehouse_rows", (("organization", "globex"),))] == 0


def test_quota_command_sets_and_shows_limits(acme):
    out = io.StringIO()

    call_command(
        "quota", "acme", "--max-stored-bytes", "10G", "--max-warehouse-rows", "5000000", stdout=out
    )

    quota = quota_of(acme)
    assert (quota.max_stored_bytes, quota.max_warehouse_rows) == (10 * 1024**3, 5_000_000)
    assert quota.max_upload_bytes is None
    assert "acme max_warehouse_rows: 5,000,000 (using 0)" in out.getvalue()

    call_command("quota", "acme", "--max-stored-bytes", "unlimited", stdout=io.StringIO())
    assert quota_of(acme).max_stored_bytes is None


def test_quota_command_refuses_what_it_cannot_read(acme):
    with pytest.raises(CommandError, match="not a number"):
        call_command("quota", "acme", "--max-upload-bytes", "lots")
    with pytest.raises(CommandError, match="No organization 'nope'"):
        call_command("quota", "nope")


def test_admin_lists_every_organizations_usage(acme, admin_client):
    upload(acme, "meters.csv", "a\n1\n2\n")

    page = admin_client.get("/admin/lifecycle/usageorganization/")

    assert page.status_code == 200
    assert "acme" in page.content.decode()
