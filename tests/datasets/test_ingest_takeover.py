"""A job thought dead and queued again must not be finished twice.

A worker whose heartbeat went stale (a stop, a frozen machine) may still be running when the
sweeper gives its job to another worker. The first one then writes nothing more: no progress,
no failure, no publish (which would count the rows twice); the second finds the load already
committed and publishes it once. And a live job keeps its heartbeat fresh even when no batch
finishes for a long time, so the sweeper does not take it away in the first place.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import transaction
from django.utils import timezone

from csvhub.datasets import ingest, services
from csvhub.datasets.models import Dataset, Upload
from csvhub.jobs.heartbeat import Heartbeat
from tests.datasets.pipeline import make_org, table_row_count

pytestmark = pytest.mark.django_db(transaction=True)


def _queued_upload(content: bytes) -> Upload:
    dataset = services.dataset_create(organization=make_org(), name="takeover")
    job = Upload.objects.create(dataset=dataset, original_name="t.csv")
    job.file.save("t.csv", __import__("io").BytesIO(content))
    return job


def test_a_superseded_attempt_publishes_nothing_and_the_rows_count_once(warehouse):
    job = _queued_upload(b"a\n1\n2\n3\n")
    first = ingest._claim(job.pk)
    assert first is not None
    result = ingest._load(first, ingest._ProgressReport(first), publish=False)  # not published
    # The sweeper thought the first worker dead; a second worker claims and finishes the job.
    Upload.objects.filter(pk=job.pk).update(state="queued")
    ingest.upload_ingest(upload_id=job.pk)

    with transaction.atomic():
        ingest._publish(first, result)  # the first worker wakes up and publishes
    ingest._fail(first, "late failure", ingest._ProgressReport(first))

    job.refresh_from_db()
    dataset = Dataset.objects.get(pk=job.dataset_id)
    assert (job.state, job.attempts, job.error) == ("succeeded", 2, "")
    assert dataset.row_count == 3 == table_row_count(table_name=dataset.table_name)


def test_a_superseded_attempt_stops_at_its_next_progress_report(warehouse):
    job = _queued_upload(b"a\n1\n")
    first = ingest._claim(job.pk)
    assert first is not None
    Upload.objects.filter(pk=job.pk).update(state="queued")
    assert ingest._claim(job.pk) is not None  # attempt 2

    with pytest.raises(ingest.JobSuperseded):
        ingest._ProgressReport(first).send(rows=1, force=True)
    assert Upload.objects.get(pk=job.pk).rows_loaded == 0


def _heartbeat_age(job: Upload) -> float:
    beat = Upload.objects.get(pk=job.pk).heartbeat_at
    assert beat is not None
    return (timezone.now() - beat).total_seconds()


def _age_after_beats(job: Upload, seconds: float) -> float:
    stale = timezone.now() - dt.timedelta(hours=1)
    Upload.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    with Heartbeat(lambda: ingest._this_attempt(job).update(heartbeat_at=timezone.now()), "t"):
        time.sleep(seconds)
    return _heartbeat_age(job)


def test_a_running_job_beats_without_progress_and_a_superseded_one_does_not(settings):
    settings.CSVHUB_JOB_STALE_SECONDS = 5  # beats every second
    job = _queued_upload(b"a\n1\n")
    claimed = ingest._claim(job.pk)
    assert claimed is not None

    assert _age_after_beats(claimed, 2.5) < 3

    Upload.objects.filter(pk=job.pk).update(attempts=claimed.attempts + 1)  # taken over
    assert _age_after_beats(claimed, 2.5) > 3000
