"""Alarms on both job runners: the thread runner (the embedded default) and a real Celery
worker on Redis. With Celery, the proof that evaluation is never done by whoever committed
the rows: the commit's signal returns with nothing evaluated while no worker runs, and the
evaluation (and its mail) happen once a worker starts."""

from __future__ import annotations

import time

import pytest
from django.tasks import task_backends

from csvhub.alarms.models import AlarmEvent, AlarmRule
from csvhub.datasets.signals import send_rows_committed
from tests.alarms.helpers import HEADER, rule_add, sensors_append, sensors_dataset
from tests.alarms.smtp import body_of
from tests.datasets.pipeline import make_org, upload
from tests.services import REDIS_URL

pytestmark = pytest.mark.django_db(transaction=True)

INLINE = {"default": {"BACKEND": "csvhub.jobs.backends.InlineBackend"}}
THREADS = {"default": {"BACKEND": "csvhub.jobs.backends.ThreadBackend", "OPTIONS": {"threads": 2}}}


def test_thread_runner_evaluates_and_mails_in_the_background(smtp, settings) -> None:
    dataset = sensors_dataset(make_org())
    rule_add(dataset)
    settings.TASKS = THREADS
    # Loaded on a job thread: the upload returns queued, the mail comes later.
    upload(dataset.organization, "more.csv", HEADER + "a,2026-01-01 00:01:00,45\n", dataset.slug)
    (mail,) = smtp.inbox.wait_for(1)
    assert "Value: 45" in body_of(mail)
    # The sender records the send after the server took the mail: let the job threads finish.
    task_backends["default"].wait()
    assert AlarmEvent.objects.get().mail.sent_at is not None


@pytest.mark.redis
@pytest.mark.parametrize("broker_url", [(REDIS_URL, "CSVHUB_TEST_REDIS_URL")], indirect=True)
def test_celery_worker_evaluates_after_the_commit_not_in_it(celery_runner, smtp, settings) -> None:
    celery = settings.TASKS
    settings.TASKS = INLINE  # load the rows here, with the rule paused
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset, enabled=False)
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\n")
    rule.enabled = True
    rule.save()
    dataset.refresh_from_db()
    settings.TASKS = celery
    rows = (dataset.last_row_id, dataset.last_row_id)
    started = time.monotonic()
    send_rows_committed(dataset_id=dataset.pk, row_id_range=rows, origin="upload")
    returned_after = time.monotonic() - started
    assert not AlarmEvent.objects.exists()
    assert AlarmRule.objects.get(pk=rule.pk).last_evaluated_row_id == rows[0] - 1
    celery_runner(
        CSVHUB_EMAIL_HOST="127.0.0.1",
        CSVHUB_EMAIL_PORT=str(smtp.port),
        CSVHUB_BASE_URL="https://csvhub.example.com",
    )
    (mail,) = smtp.inbox.wait_for(1, timeout=90)
    assert mail["Subject"] == "[csvhub] FIRING: too hot [sensor=a] on sensors"
    assert AlarmRule.objects.get(pk=rule.pk).last_evaluated_row_id == rows[1]
    assert returned_after < 5  # an enqueue, not an evaluation with a mail
