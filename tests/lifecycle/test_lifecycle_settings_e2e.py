"""The retention settings page in a real headless Chromium (skips without Chromium)."""

from __future__ import annotations

import pytest

from csvhub.lifecycle.policies import policy_of
from csvhub.lifecycle.quotas import quota_set
from tests.accounts.actors import World
from tests.web.chromium import _expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_sets_retention_from_the_nav_and_sees_usage(signed_in, world: World) -> None:
    expect = _expect()
    quota_set(organization=world.acme, changes={"max_warehouse_rows": 5000})
    page = signed_in("alice")
    expect(page.locator("#usage-line")).to_contain_text("Warehouse rows: 0 of 5000")

    page.get_by_role("link", name="Retention", exact=True).click()
    page.get_by_label("Keep rows for (days)").fill("90")
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_role("alert")).to_contain_text("needs rows_column")

    page.get_by_label("Keep original files for (days)").fill("30")
    page.get_by_label("Rows' date or timestamp column").fill("measured_at")
    page.get_by_role("button", name="Save retention").click()
    expect(page.locator(".messages")).to_contain_text("Retention saved")

    policy = policy_of(world.acme)
    assert (policy.keep_files_days, policy.keep_rows_days, policy.rows_column) == (
        30,
        90,
        "measured_at",
    )
    expect(page.get_by_label("Keep original files for (days)")).to_have_value("30")


def test_a_viewer_reads_retention_without_a_form(signed_in, world: World) -> None:
    expect = _expect()
    page = signed_in("bob")

    page.get_by_role("link", name="Retention", exact=True).click()

    expect(page.locator("main")).to_contain_text("Original files: kept forever")
    expect(page.locator("#retention-form")).to_have_count(0)
