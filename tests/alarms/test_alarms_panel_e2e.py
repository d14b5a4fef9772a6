"""The dataset page's Alarms panel in a real headless Chromium: an editor writes a rule, sees
the dry run's answer before the rule can be saved, saves it, and sees it listed with its
groups' states and its events; the chart marks where alarms fired. Skips without Chromium."""

from __future__ import annotations

import pytest

from csvhub.alarms.models import AlarmRule
from tests.accounts.actors import World
from tests.alarms.helpers import HEADER, rule_add
from tests.web.chromium import _expect, _ingested

pytestmark = pytest.mark.django_db(transaction=True)

HISTORY = "".join(
    f"a,2026-01-01 0{hour}:00:00,{value}\n" for hour, value in enumerate([20, 31, 20, 35, 20])
)


def test_create_a_rule_after_its_dry_run(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sensors.csv", HEADER + HISTORY)
    page = signed_in("carol")
    page.goto("/datasets/sensors/")
    panel = page.locator("#alarms")
    expect(panel.locator("#alarms-table tbody")).to_contain_text("No alarms yet.")
    panel.locator("#alarm-add > summary").click()
    page.fill('#alarm-form input[name="name"]', "too hot")
    page.fill('#alarm-form input[name="column"]', "temperature")
    page.fill('#alarm-form input[name="time_column"]', "at")
    page.fill('#alarm-form input[name="group_by"]', "sensor")
    page.fill('#alarm-form input[name="upper"]', "30")
    page.fill('#alarm-form input[name="recipients"]', "ops@example.com")
    save = page.locator("#alarm-save")
    expect(save).to_be_disabled()  # the dry run comes first
    page.click("#alarm-dry-run")
    expect(page.locator("#alarm-preview")).to_contain_text("would have fired 2 times")
    expect(page.locator("#alarm-preview")).to_contain_text("a ok → firing")
    # Changing the rule asks for a new dry run.
    page.fill('#alarm-form input[name="upper"]', "32")
    expect(save).to_be_disabled()
    page.click("#alarm-dry-run")
    expect(page.locator("#alarm-preview")).to_contain_text("would have fired 1 time.")
    save.click()
    expect(panel.locator("#alarms-status")).to_contain_text("Alarm saved.")
    expect(panel.locator("#alarms-table tbody")).to_contain_text("too hot")
    expect(panel.locator("#alarms-table tbody")).to_contain_text("temperature > 32 per sensor")
    rule = AlarmRule.objects.get()
    assert (rule.upper, rule.group_by, rule.recipients) == ("32", "sensor", ["ops@example.com"])
    assert not page.js_errors


def test_a_bad_rule_shows_what_to_fix(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sensors.csv", HEADER + HISTORY)
    page = signed_in("carol")
    page.goto("/datasets/sensors/")
    page.locator("#alarm-add > summary").click()
    page.fill('#alarm-form input[name="column"]', "sensor")
    page.fill('#alarm-form input[name="upper"]', "30")
    page.click("#alarm-dry-run")
    expect(page.locator("#alarm-form-error")).to_contain_text("an alarm watches a numeric")
    expect(page.locator("#alarm-save")).to_be_disabled()


def test_viewer_sees_rules_but_no_form(signed_in, world: World) -> None:
    expect = _expect()
    _ingested(world.acme, "sensors.csv", HEADER + HISTORY)
    page = signed_in("bob")
    page.goto("/datasets/sensors/")
    expect(page.locator("#alarms-table tbody")).to_contain_text("No alarms yet.")
    assert page.locator("#alarm-form").count() == 0


def test_the_chart_marks_where_alarms_fired_and_the_panel_shows_states(
    signed_in, world: World
) -> None:
    expect = _expect()
    loaded = _ingested(world.acme, "sensors.csv", HEADER + HISTORY)
    rule_add(loaded.dataset, recipients=[])
    _ingested(world.acme, "more.csv", HEADER + "a,2026-01-01 05:00:00,40\n", dataset="sensors")
    page = signed_in("bob")
    page.goto("/datasets/sensors/")
    marker = page.locator("#timeseries-chart line.alarm-marker")
    expect(marker).to_have_count(1)
    assert marker.locator("title").text_content() == "Alarm too hot (a) fired: 40"
    expect(page.locator("#alarms-table .alarm-firing")).to_have_text("a: firing ")
    expect(page.locator("#alarm-events tbody tr")).to_have_count(1)
    expect(page.locator("#alarm-events tbody tr")).to_contain_text("ok → firing")
    assert not page.js_errors


def test_an_editor_pauses_resumes_and_deletes_a_rule(signed_in, world: World) -> None:
    expect = _expect()
    loaded = _ingested(world.acme, "sensors.csv", HEADER + HISTORY)
    rule = rule_add(loaded.dataset)
    page = signed_in("carol", width=390, height=844)
    page.goto("/datasets/sensors/")
    rules = page.locator("#alarms-table tbody")
    expect(rules.locator("td.card-title")).to_have_text("too hot")
    page.get_by_role("button", name="Pause too hot").click()
    expect(rules.locator("td.card-title")).to_have_text("too hot (paused)")
    rule.refresh_from_db()
    assert not rule.enabled
    page.get_by_role("button", name="Resume too hot").click()
    expect(rules.locator("td.card-title")).to_have_text("too hot")
    # On a phone the rules are cards: the actions are on the screen, not in a sideways scroll.
    delete = page.get_by_role("button", name="Delete too hot")
    box = delete.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    delete.click()
    page.locator("dialog.confirm").get_by_role("button", name="Delete alarm").click()
    expect(rules).to_contain_text("No alarms yet.")
    assert not AlarmRule.objects.filter(pk=rule.pk).exists()


def test_a_viewer_sees_rules_without_actions(signed_in, world: World) -> None:
    loaded = _ingested(world.acme, "sensors.csv", HEADER + HISTORY)
    rule_add(loaded.dataset)
    page = signed_in("bob")
    page.goto("/datasets/sensors/")
    _expect()(page.locator("#alarms-table tbody")).to_contain_text("too hot")
    assert page.locator("#alarms-table tbody button").count() == 0
