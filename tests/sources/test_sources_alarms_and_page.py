"""Stale sources raise one alarm email through the outbox; the dataset page shows the Sources
panel to editors and admins only; the session-authenticated panel's API calls work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from csvhub.outbox.models import OutboxMail
from csvhub.outbox.sending import outbox_send_due
from csvhub.outbox.services import outbox_write
from csvhub.scheduling.ticks import tick
from csvhub.sources.alarms import sources_stale_sweep
from csvhub.sources.models import Source
from tests.sources.feeds import Feed
from tests.sources.helpers import CSV_V1, CSV_V2, dataset_make, source_add, source_run

pytestmark = pytest.mark.usefixtures("loopback_allowed")


def test_stale_source_raises_one_alarm_until_a_new_file_arrives(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/daily.csv"] = feed = Feed(body=CSV_V1)
    api = api_as("editor")
    source = source_add(
        api, dataset, kind="url", url=feeds.url("/daily.csv"), stale_after_seconds=3600
    )
    source_run(api, dataset, source)
    now = timezone.now()
    assert sources_stale_sweep(now=now + timedelta(minutes=59)) == 0
    assert sources_stale_sweep(now=now + timedelta(hours=2)) == 1
    assert sources_stale_sweep(now=now + timedelta(hours=3)) == 0  # one alarm, not one a sweep
    shown = api.get(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/").json()
    Source.objects.filter(pk=source["id"]).update(last_new_file_at=now - timedelta(hours=2))
    assert api.get(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/").json()["stale"]
    assert shown["stale"] is False

    assert outbox_send_due() == 1 and outbox_send_due() == 0
    (sent,) = mail.outbox
    assert "no new file for feed" in sent.subject
    assert sorted(sent.to) == ["alice@example.com", "carol@example.com"]  # not bob, a viewer

    feed.set(CSV_V2)
    source_run(api, dataset, source)  # a new file: the alarm can fire again later
    assert sources_stale_sweep(now=timezone.now() + timedelta(hours=2)) == 1


def test_the_shared_outbox_is_sent_by_the_scheduler(world, api_as, settings):
    outbox_write(key="test", to=["a@example.com"], subject="s", body="b")
    now = timezone.now()
    tick(now=now, names=["outbox.send"])
    tick(now=now + timedelta(minutes=1), names=["outbox.send"])
    assert len(mail.outbox) == 1 and OutboxMail.objects.get().sent_at is not None


@pytest.mark.parametrize(("user", "shown"), [("carol", True), ("alice", True), ("bob", False)])
def test_dataset_page_has_the_sources_panel_for_editors(world, user, shown):
    dataset = dataset_make(world, "sales")
    client = Client()
    client.force_login(getattr(world, user))
    html = client.get(f"/datasets/{dataset.slug}/").content.decode()
    assert ('id="sources"' in html) is shown
    assert bool(re.search(r'src="/static/csvhub/sources\.[0-9a-f]{12}\.js"', html)) is shown
    if shown:
        assert f'data-api-url="/api/v1/datasets/{dataset.slug}/sources/"' in html


def test_panel_calls_work_with_a_session(world, feeds):
    dataset = dataset_make(world, "sales")
    feeds.feeds["/x.csv"] = Feed(body=CSV_V1)
    client = Client(enforce_csrf_checks=False)
    client.force_login(world.carol)
    created = client.post(
        f"/api/v1/datasets/{dataset.slug}/sources/",
        {"kind": "url", "url": feeds.url("/x.csv"), "cron": "0 3 * * *", "time_zone": "UTC"},
        content_type="application/json",
        headers={"X-Csvhub-Organization": "acme"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["schedule_description"] == "At 03:00 (UTC)"
