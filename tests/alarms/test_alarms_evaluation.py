"""Rules evaluated on rows that arrive by CSV upload, on every warehouse, with the mails they
send arriving at a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from csvhub.alarms.evaluation import no_data_sweep, rules_evaluate
from csvhub.alarms.models import AlarmEvent, AlarmState
from csvhub.outbox.models import OutboxMail
from tests.alarms.helpers import rule_add, sensors_append, sensors_dataset
from tests.alarms.smtp import body_of
from tests.datasets.pipeline import make_org

pytestmark = pytest.mark.django_db(transaction=True)


def _transitions(rule) -> list[tuple[str, str, str, str, str]]:
    return [
        (e.group, e.value, e.from_state, e.to_state, e.notice)
        for e in AlarmEvent.objects.filter(rule=rule).order_by("id")
    ]


def test_upload_fires_and_resolves_with_mails(warehouse, smtp) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    sensors_append(
        dataset,
        "a,2026-01-01 00:01:00,31.5\nb,2026-01-01 00:01:00,25\na,2026-01-01 00:02:00,29\n",
    )
    assert _transitions(rule) == [
        ("a", "31.5", "ok", "firing", "fire"),
        ("a", "29.0", "firing", "ok", "resolve"),
    ]
    fired, resolved = smtp.inbox.wait_for(2)
    assert smtp.inbox.recipients[0] == ["ops@example.com"]
    assert fired["Subject"] == "[csvhub] FIRING: too hot [sensor=a] on sensors"
    body = body_of(fired)
    for line in (
        "Group: sensor = a",
        "Value: 31.5",
        "Thresholds: upper 30",
        "When: 2026-01-01T00:01:00Z",
        f"https://csvhub.example.com/datasets/{dataset.slug}/?at=gte%3A2025-12-31T23%3A01%3A00Z"
        "&at=lte%3A2026-01-01T01%3A01%3A00Z&sensor=eq%3Aa",
    ):
        assert line in body
    assert resolved["Subject"].startswith("[csvhub] RESOLVED: too hot [sensor=a]")
    states = {s.group: s.state for s in AlarmState.objects.filter(rule=rule)}
    assert states == {"a": "ok", "b": "ok"}
    assert all(event.mail.sent_at for event in AlarmEvent.objects.filter(rule=rule))


def test_rules_on_one_column_each_keep_their_thresholds_and_groups(warehouse, smtp) -> None:
    """Several rules on one measure, evaluated on the same rows: each steps its own machines
    with its own thresholds and grouping."""
    dataset = sensors_dataset(make_org())
    hot = rule_add(dataset, name="hot", upper="30")
    hotter = rule_add(dataset, name="hotter", upper="35")
    ungrouped = rule_add(dataset, name="any", upper="30", group_by=None)
    sensors_append(dataset, "a,2026-01-01 00:01:00,33\nb,2026-01-01 00:01:00,36\n")
    smtp.inbox.wait_for(4)
    assert _transitions(hot) == [
        ("a", "33", "ok", "firing", "fire"),
        ("b", "36", "ok", "firing", "fire"),
    ]
    assert _transitions(hotter) == [("b", "36", "ok", "firing", "fire")]
    assert _transitions(ungrouped) == [("", "33", "ok", "firing", "fire")]


def test_rows_evaluated_once_are_not_evaluated_again(warehouse, smtp) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    sensors_append(dataset, "a,2026-01-01 00:01:00,40\n")
    smtp.inbox.wait_for(1)
    dataset.refresh_from_db()
    rule.refresh_from_db()
    assert rule.last_evaluated_row_id == dataset.last_row_id
    assert rules_evaluate(dataset_id=str(dataset.pk)) == 0
    assert len(_transitions(rule)) == 1
    assert AlarmState.objects.get(rule=rule, group="a").samples == 1
    assert OutboxMail.objects.count() == 1 and len(smtp.inbox.messages) == 1


def test_rows_are_evaluated_in_sample_order_and_late_rows_change_nothing(warehouse, smtp) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset, for_rows=2)
    # One upload, out of order: sorted by time, 00:03 and 00:04 are two rows in a row above.
    sensors_append(
        dataset,
        "a,2026-01-01 00:04:00,35\na,2026-01-01 00:02:00,20\na,2026-01-01 00:03:00,33\n",
    )
    assert _transitions(rule) == [
        ("a", "33", "ok", "pending", ""),
        ("a", "35", "pending", "firing", "fire"),
    ]
    # A later upload with an older row: late, counted, no transition (it would resolve).
    sensors_append(dataset, "a,2026-01-01 00:01:00,10\n")
    state = AlarmState.objects.get(rule=rule, group="a")
    assert (state.state, state.late_rows) == ("firing", 1)
    assert len(_transitions(rule)) == 2


def test_a_digest_when_many_groups_fire_at_once(warehouse, smtp, settings) -> None:
    settings.CSVHUB_ALARM_DIGEST_GROUPS = 3
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    sensors_append(dataset, "".join(f"s{i},2026-01-01 00:01:00,4{i}\n" for i in range(4)))
    (digest,) = smtp.inbox.wait_for(1)
    assert digest["Subject"] == "[csvhub] too hot: 4 groups changed state on sensors"
    assert all(f"sensor=s{i}: firing, temperature = 4{i}" in body_of(digest) for i in range(4))
    assert AlarmEvent.objects.filter(rule=rule).values("mail").distinct().count() == 1


def test_no_data_sweep_fires_once_and_data_resolves_it(warehouse, smtp) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset, no_data_seconds=60)
    sensors_append(dataset, "a,2026-01-01 00:01:00,20\n")
    later = timezone.now() + timedelta(seconds=61)
    assert no_data_sweep(now=later) == 1
    assert no_data_sweep(now=later + timedelta(seconds=600)) == 0
    (mail,) = smtp.inbox.wait_for(1)
    assert mail["Subject"] == "[csvhub] NO DATA: too hot [sensor=a] on sensors"
    sensors_append(dataset, "a,2026-01-01 00:09:00,21\n")
    assert _transitions(rule)[-1] == ("a", "21", "firing", "ok", "resolve")


def test_a_rule_on_a_renamed_column_is_skipped_not_crashing(smtp) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    rule.column = "gone"
    rule.save()
    sensors_append(dataset, "a,2026-01-01 00:01:00,40\n")
    assert not AlarmEvent.objects.exists()


def test_the_no_data_sweep_is_a_periodic_job(smtp) -> None:
    from csvhub.scheduling.ticks import tick

    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset, no_data_seconds=60)
    sensors_append(dataset, "a,2026-01-01 00:01:00,20\n")
    later = timezone.now() + timedelta(minutes=10)
    tick(now=later, names=["alarms.no_data_sweep"])  # plans the job at its first sight
    assert tick(now=later + timedelta(minutes=1), names=["alarms.no_data_sweep"]) == [
        "alarms.no_data_sweep"
    ]
    assert AlarmState.objects.get(rule=rule, group="a").state == "firing"


def test_rows_that_replace_the_dataset_are_evaluated(warehouse, smtp) -> None:
    from django.core.files.base import ContentFile

    from csvhub.datasets import services
    from csvhub.datasets.models import UploadMode
    from tests.alarms.helpers import HEADER

    if warehouse == "mysql":
        pytest.skip("MariaDB/MySQL warehouses refuse mode=replace (no atomic swap)")
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)

    def replace(rows: str) -> int:  # the new contents' first row id
        services.uploads_create(
            organization=dataset.organization,
            files=[ContentFile((HEADER + rows).encode(), name="sensors.csv")],
            dataset_slug=dataset.slug,
            mode=UploadMode.REPLACE,
        )
        dataset.refresh_from_db()
        assert dataset.first_row_id is not None
        return dataset.first_row_id

    first = replace("a,2026-01-02 00:00:00,20.5\n")  # evaluated: fine
    # The new contents number on from the old (what makes the rule's watermark exact).
    assert replace("a,2026-01-03 00:00:00,41.5\n") > first  # a new row: too hot

    assert _transitions(rule) == [("a", "41.5", "ok", "firing", "fire")]
