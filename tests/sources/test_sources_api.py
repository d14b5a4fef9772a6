"""The sources API: who may manage sources, what is refused (private addresses, bad
schedules), and what a source shows."""

from __future__ import annotations

import pytest

from csvhub.sources.models import Source
from tests.accounts.actors import ACTORS, DENIED
from tests.sources.feeds import Feed
from tests.sources.helpers import CSV_V1, dataset_make, source_add

PUBLIC_URL = "https://93.184.215.14/export.csv"  # a public address literal: no DNS needed


def _path(dataset, tail: str = "") -> str:
    return f"/api/v1/datasets/{dataset.slug}/sources/{tail}"


@pytest.mark.parametrize("actor", ACTORS)
def test_only_editors_and_admins_manage_sources(actor, world, api_as):
    dataset = dataset_make(world)
    existing = source_add(api_as("admin"), dataset, kind="url", url=PUBLIC_URL)
    expected = {**DENIED, "other_org": 404, "viewer": 403}.get(actor)
    api = api_as(actor)
    answers = [
        api.get(_path(dataset)),
        api.post(
            _path(dataset), {"kind": "url", "url": PUBLIC_URL, "every_seconds": 3600}, format="json"
        ),
        api.get(_path(dataset, f"{existing['id']}/")),
        api.patch(_path(dataset, f"{existing['id']}/"), {"enabled": False}, format="json"),
        api.get(_path(dataset, f"{existing['id']}/runs/")),
    ]
    if expected is None:
        assert [a.status_code for a in answers] == [200, 201, 200, 200, 200]
    else:
        assert {a.status_code for a in answers} == {expected}
        assert Source.objects.count() == 1


def test_source_shows_schedule_in_words_and_next_run(world, api_as):
    dataset = dataset_make(world)
    created = source_add(
        api_as("editor"),
        dataset,
        kind="url",
        url=PUBLIC_URL,
        every_seconds=None,
        cron="30 6 * * 1-5",
        time_zone="Europe/Paris",
        mode="replace",
    )
    assert created["schedule_description"] == ("At 06:30, Monday through Friday (Europe/Paris)")
    assert created["next_run_at"] and created["mode"] == "replace" and created["enabled"]
    assert created["last_run"] is None and created["has_credentials"] is False


def test_pausing_clears_the_next_run_and_resuming_plans_it(world, api_as):
    dataset = dataset_make(world)
    api = api_as("editor")
    created = source_add(api, dataset, kind="url", url=PUBLIC_URL)
    paused = api.patch(_path(dataset, f"{created['id']}/"), {"enabled": False}, format="json")
    assert paused.json()["next_run_at"] is None
    resumed = api.patch(_path(dataset, f"{created['id']}/"), {"enabled": True}, format="json")
    assert resumed.json()["next_run_at"] is not None


def test_patch_keeps_credentials_not_sent_and_delete_removes(world, api_as):
    dataset = dataset_make(world)
    api = api_as("editor")
    created = source_add(
        api, dataset, kind="url", url=PUBLIC_URL, headers={"Authorization": "Bearer x"}
    )
    changed = api.patch(_path(dataset, f"{created['id']}/"), {"every_seconds": 7200}, format="json")
    assert changed.json()["header_names"] == ["Authorization"]
    assert api.delete(_path(dataset, f"{created['id']}/")).status_code == 204
    assert api.get(_path(dataset, f"{created['id']}/")).status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "url", "url": "http://127.0.0.1/x.csv"}, "private network"),
        ({"kind": "url", "url": "http://localhost/x.csv"}, "private network"),
        ({"kind": "url", "url": "http://10.1.2.3/x.csv"}, "private network"),
        ({"kind": "url", "url": "http://169.254.169.254/latest/meta-data/"}, "private network"),
        ({"kind": "url", "url": "http://[::1]/x.csv"}, "private network"),
        ({"kind": "url", "url": "http://[::ffff:127.0.0.1]/x.csv"}, "private network"),
        ({"kind": "url", "url": "file:///etc/passwd"}, "http:// or https://"),
        ({"kind": "s3", "bucket": "b", "endpoint_url": "http://127.0.0.1:9000"}, "private network"),
        ({"kind": "url", "url": PUBLIC_URL, "cron": "61 * * * *", "every_seconds": None}, "cron"),
        ({"kind": "url", "url": PUBLIC_URL, "cron": "0 3 * * *"}, "one of them"),
        ({"kind": "url", "url": PUBLIC_URL, "every_seconds": 5}, "at least 60"),
        ({"kind": "url", "url": PUBLIC_URL, "time_zone": "Mars/Base"}, "time zone"),
        ({"kind": "s3"}, "bucket"),
        ({"kind": "url"}, "url"),
    ],
)
def test_unusable_sources_are_refused(world, api_as, body, words):
    dataset = dataset_make(world)
    response = api_as("editor").post(_path(dataset), {"every_seconds": 3600, **body}, format="json")
    assert response.status_code == 400, response.content
    assert words in response.json()["detail"]
    assert not Source.objects.exists()


def test_redirect_into_the_private_network_is_refused_at_run_time(world, api_as, feeds, settings):
    # The feed server itself is allowed (tests reach it on loopback); where it redirects is not.
    settings.CSVHUB_SOURCE_ALLOWED_HOSTS = ["127.0.0.1"]
    feeds.feeds["/hop.csv"] = Feed(redirect_to="http://localhost:1/secret")
    dataset = dataset_make(world)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/hop.csv"))
    run = api.post(_path(dataset, f"{source['id']}/run")).json()
    assert run["state"] == "failed" and "private network" in run["error"]


def test_redirect_to_an_allowed_host_is_followed(world, api_as, feeds, settings):
    settings.CSVHUB_SOURCE_ALLOWED_HOSTS = ["127.0.0.1"]
    feeds.feeds["/file.csv"] = Feed(body=CSV_V1)
    feeds.feeds["/hop.csv"] = Feed(redirect_to=feeds.url("/file.csv"))
    dataset = dataset_make(world)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/hop.csv"))
    run = api.post(_path(dataset, f"{source['id']}/run")).json()
    assert (run["state"], run["rows"]) == ("succeeded", 2)


def test_run_now_while_a_run_holds_the_source_is_409(world, api_as):
    from django.utils import timezone

    dataset = dataset_make(world)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=PUBLIC_URL)
    Source.objects.filter(pk=source["id"]).update(
        running_until=timezone.now() + timezone.timedelta(minutes=1)
    )
    assert api.post(_path(dataset, f"{source['id']}/run")).status_code == 409
