"""/readyz in-process: not ready while a migration this code knows is not applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from csvhub.health import views

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_migrated(monkeypatch) -> None:
    monkeypatch.setattr(views, "_migrated", False)


def test_ready_when_every_migration_is_applied(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"]["migrations"] == "ok"


def test_not_ready_while_a_migration_is_pending(client):
    recorder = MigrationRecorder(connection)
    latest = recorder.migration_qs.filter(app="datasets").latest("id")
    latest.delete()  # as if the new code's migration had not run yet
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["migrations"] == "1 migration(s) pending: run `csvhub migrate`"
    assert answer.json()["status"] == "unavailable"


def test_readiness_stays_ok_once_migrated(client, django_assert_max_num_queries):
    client.get("/readyz")
    with django_assert_max_num_queries(1):  # SELECT 1; the migration graph is not read again
        assert client.get("/readyz").status_code == 200


def test_not_ready_while_the_static_files_are_another_versions(client, monkeypatch, settings):
    # Code updated in place and reloaded without `collectstatic`: its pages would name
    # scripts of another version. The tests collected this code's files (tests/conftest.py).
    monkeypatch.setattr(views, "_static_collected", False)
    assert client.get("/readyz").json()["checks"]["static"] == "ok"
    collected = Path(settings.STATIC_ROOT) / "csvhub" / "dataset.js"
    kept = collected.read_bytes()
    monkeypatch.setattr(views, "_static_collected", False)
    try:
        collected.write_bytes(b"// an older dataset.js\n" + kept)
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["static"] == (
            "csvhub/dataset.js was collected from another version: run `csvhub collectstatic`"
        )
        collected.unlink()
        assert client.get("/readyz").json()["checks"]["static"] == (
            "csvhub/dataset.js is not collected: run `csvhub collectstatic --noinput`"
        )
    finally:
        collected.write_bytes(kept)
    assert client.get("/readyz").status_code == 200
