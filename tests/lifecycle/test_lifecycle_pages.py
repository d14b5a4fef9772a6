"""The retention settings page and the files page's usage line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from csvhub.accounts.models import Membership
from csvhub.datasets.models import Upload
from csvhub.lifecycle.policies import policy_of, policy_update
from csvhub.lifecycle.quotas import quota_set
from csvhub.lifecycle.retention import retention_run
from tests.datasets.pipeline import upload

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(organization, role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-page", password="x")
    Membership.objects.create(user=user, organization=organization, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_admin_saves_retention_on_the_settings_page(acme):
    client = _signed_in(acme, "admin")

    response = client.post(
        "/settings/retention/",
        {"keep_files_days": "30", "keep_rows_days": "", "rows_column": ""},
        follow=True,
    )

    assert "Retention saved" in response.content.decode()
    assert policy_of(acme).keep_files_days == 30


def test_settings_page_says_what_to_fix(acme):
    client = _signed_in(acme, "admin")

    response = client.post("/settings/retention/", {"keep_rows_days": "90", "rows_column": ""})

    assert response.status_code == 200
    assert "needs rows_column" in response.content.decode()
    assert policy_of(acme).keep_rows_days is None


def test_viewers_see_retention_but_cannot_change_it(acme):
    policy_update(organization=acme, changes={"keep_files_days": 7})
    client = _signed_in(acme, "viewer")

    page = client.get("/settings/retention/").content.decode()
    refused = client.post("/settings/retention/", {"keep_files_days": "1"})

    assert "kept 7 days" in page
    assert refused.status_code == 403
    assert policy_of(acme).keep_files_days == 7


def test_files_page_shows_usage_against_quotas_and_deleted_originals(acme):
    loaded = upload(acme, "meters.csv", "a\n1\n2\n")
    quota_set(organization=acme, changes={"max_warehouse_rows": 1000})
    policy_update(organization=acme, changes={"keep_files_days": 1})
    Upload.objects.filter(pk=loaded.pk).update(finished_at=datetime(2026, 1, 1, tzinfo=UTC))
    retention_run(now=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=2))

    page = _signed_in(acme, "viewer").get("/").content.decode()

    assert "Warehouse rows: <strong>2</strong> of 1000" in page
    assert "Original deleted (retention)" in page
