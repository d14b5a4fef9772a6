"""Shortcuts for alarm tests: a sensor dataset loaded by CSV upload, and a rule on it."""

from __future__ import annotations

from typing import Any

from csvhub.accounts.models import Organization
from csvhub.alarms.models import AlarmRule
from csvhub.alarms.services import alarm_rule_create
from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import upload

HEADER = "sensor,at,temperature\n"


def sensors_dataset(
    organization: Organization, rows: str = "a,2026-01-01 00:00:00,20\n"
) -> Dataset:
    loaded = upload(organization, "sensors.csv", HEADER + rows)
    assert loaded.state == "succeeded", loaded.error
    return loaded.dataset


def sensors_append(dataset: Dataset, rows: str) -> None:
    loaded = upload(dataset.organization, "more.csv", HEADER + rows, dataset=dataset.slug)
    assert loaded.state == "succeeded", loaded.error


def rule_add(dataset: Dataset, **data: Any) -> AlarmRule:
    body = {
        "name": "too hot",
        "column": "temperature",
        "time_column": "at",
        "group_by": "sensor",
        "upper": "30",
        "recipients": ["ops@example.com"],
        **data,
    }
    dataset.refresh_from_db()
    return alarm_rule_create(dataset=dataset, data=body, user=None)
