"""The alarms API: rules (viewers read, editors write, other organizations 404), the dry run,
bad input as 400s that say what to fix, and the organization's events."""

from __future__ import annotations

import pytest

from tests.accounts.actors import DENIED
from tests.alarms.helpers import sensors_append, sensors_dataset

pytestmark = pytest.mark.django_db(transaction=True)

RULE = {
    "name": "too hot",
    "column": "Temperature",
    "time_column": "at",
    "group_by": "sensor",
    "upper": 30,
    "recipients": ["ops@example.com"],
}
HISTORY = "".join(
    f"a,2026-01-01 00:0{minute}:00,{value}\n"
    for minute, value in enumerate([20, 31, 32, 20, 35, 20])
)


@pytest.fixture
def dataset(world):
    return sensors_dataset(world.acme, HISTORY)


@pytest.mark.parametrize("actor", ["anonymous", "other_org", "viewer", "editor", "admin"])
def test_who_may_create_a_rule(actor, api_as, dataset) -> None:
    response = api_as(actor).post(f"/api/v1/datasets/{dataset.slug}/alarms/", RULE, format="json")
    expected = {**DENIED, "other_org": 404, "viewer": 403}.get(actor, 201)
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert (body["column"], body["upper"], body["states"]) == ("temperature", "30", [])


@pytest.mark.parametrize("actor", ["other_org", "viewer", "editor"])
def test_who_may_read_change_and_delete(actor, api_as, dataset) -> None:
    created = api_as("editor").post(f"/api/v1/datasets/{dataset.slug}/alarms/", RULE, format="json")
    url = f"/api/v1/datasets/{dataset.slug}/alarms/{created.json()['id']}/"
    client = api_as(actor)
    read, listed = client.get(url), client.get(f"/api/v1/datasets/{dataset.slug}/alarms/")
    patched = client.patch(url, {"enabled": False}, format="json")
    deleted = client.delete(url)
    if actor == "other_org":
        assert [r.status_code for r in (read, listed, patched, deleted)] == [404] * 4
        return
    assert (read.status_code, listed.status_code) == (200, 200)
    if actor == "viewer":
        assert (patched.status_code, deleted.status_code) == (403, 403)
        return
    assert patched.json()["enabled"] is False
    assert deleted.status_code == 204
    assert client.get(url).status_code == 404


BAD = [
    ({"column": "nope"}, "Unknown column 'nope' in column."),
    ({"column": "sensor"}, "Column 'sensor' is text: an alarm watches a numeric or temporal"),
    ({"upper": "hot"}, "upper: 'hot' is not a integer value"),
    ({"upper": None}, "Give a lower or an upper threshold"),
    ({"lower": 40}, "lower is above upper"),
    ({"for_seconds": 60, "for_rows": 3}, "Give for_seconds or for_rows, not both."),
    ({"time_column": "sensor"}, "time_column 'sensor' is text"),
    ({"recipients": ["not-an-email"]}, "Enter a valid email address."),
    ({"for_second": 60}, "for_second: Unknown field; a rule's fields are"),
    ({"for": "5 parsecs"}, 'for: Seconds (a whole number), {"seconds": n} or {"rows": n}.'),
    ({"for": {"minutes": 5}}, 'for: Seconds (a whole number), {"seconds": n} or {"rows": n}.'),
    ({"for": -3}, "for_seconds: Ensure this value is greater than or equal to 0."),
    ({"for": 60, "for_seconds": 60}, "for_seconds: Given twice (also by its short name)"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_rules_are_400s_that_say_what_to_fix(change, message, api_as, dataset) -> None:
    response = api_as("editor").post(
        f"/api/v1/datasets/{dataset.slug}/alarms/", {**RULE, **change}, format="json"
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_the_issues_short_names_for_durations(api_as, dataset) -> None:
    url = f"/api/v1/datasets/{dataset.slug}/alarms/"
    body = {**RULE, "for": 60, "clear_for": {"rows": 2}, "repeat_every": 3600}
    created = api_as("editor").post(url, body, format="json").json()
    stored = [created[k] for k in ("for_seconds", "clear_for_rows", "repeat_every_seconds")]
    assert stored == [60, 2, 3600]
    held = {**RULE, "for": {"rows": 2}}
    assert api_as("editor").post(f"{url}preview", held, format="json").json()["fired"] == 1


@pytest.mark.parametrize("threshold", ["NaN", "Infinity", "-inf"])
def test_a_threshold_that_is_no_number_is_a_400(threshold, api_as, world) -> None:
    decimals = sensors_dataset(world.acme, "a,2026-01-01 00:00:00,20.5\n")
    for path in ("", "preview"):
        response = api_as("editor").post(
            f"/api/v1/datasets/{decimals.slug}/alarms/{path}",
            {**RULE, "upper": threshold},
            format="json",
        )
        assert response.status_code == 400, response.content
        assert "is not a finite number" in response.json()["detail"]


def test_dry_run_counts_firings_over_the_stored_rows(api_as, dataset) -> None:
    response = api_as("editor").post(
        f"/api/v1/datasets/{dataset.slug}/alarms/preview", RULE, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["fired"], body["rows_read"], body["truncated"]) == (2, 6, False)
    assert [(t["value"], t["from_state"], t["to_state"]) for t in body["transitions"]] == [
        ("31", "ok", "firing"),
        ("20", "firing", "ok"),
        ("35", "ok", "firing"),
        ("20", "firing", "ok"),
    ]
    assert body["transitions"][0]["at"] == "2026-01-01T00:01:00Z"
    # Two rows in a row above: fires once.
    held = {**RULE, "for_rows": 2}
    again = api_as("editor").post(
        f"/api/v1/datasets/{dataset.slug}/alarms/preview", held, format="json"
    )
    assert again.json()["fired"] == 1


def test_events_list_newest_first_with_filters(api_as, dataset, world) -> None:
    api_as("editor").post(f"/api/v1/datasets/{dataset.slug}/alarms/", RULE, format="json")
    sensors_append(dataset, "a,2026-01-01 01:00:00,40\na,2026-01-01 02:00:00,10\n")
    events = api_as("viewer").get("/api/v1/alarms/events/").json()
    assert events["count"] == 2
    assert [(e["to_state"], e["value"]) for e in events["results"]] == [
        ("ok", "10"),
        ("firing", "40"),
    ]
    assert events["results"][0]["dataset"] == dataset.slug
    firing = api_as("viewer").get("/api/v1/alarms/events/?state=firing&limit=1").json()
    assert [e["value"] for e in firing["results"]] == ["40"]
    since = api_as("viewer").get("/api/v1/alarms/events/?since=2026-01-01T01:30:00Z").json()
    assert since["count"] == 1
    assert api_as("other_org").get("/api/v1/alarms/events/").json()["count"] == 0
    bad = api_as("viewer").get("/api/v1/alarms/events/?state=burning")
    assert bad.status_code == 400
    empty = api_as("viewer").get("/api/v1/alarms/events/?until=")
    assert empty.status_code == 400
    assert empty.json()["errors"] == {"until": ["Give a value, or leave the parameter out."]}
