"""Celery runs the same jobs in a real worker process, through a real Redis or RabbitMQ broker.

Also the crash test: a worker killed with SIGKILL in the middle of a load leaves the dataset
exactly as it was, and the next worker finishes the job once, without duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile

from csvhub.datasets import services
from csvhub.datasets.models import Dataset, Upload
from tests.datasets.pipeline import make_org, table_exists, table_row_count
from tests.jobs.celery_workers import _kill

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(predicate: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def _state(upload: Upload) -> Upload:
    return Upload.objects.get(pk=upload.pk)


def test_celery_worker_ingests_an_upload(celery_runner, warehouse):
    celery_runner()
    org = make_org()
    (upload,) = services.uploads_create(
        organization=org, files=[ContentFile(b"a,b\n1,x\n2,y\n", name="celery.csv")]
    )
    _wait_for(lambda: _state(upload).is_finished)
    upload = _state(upload)
    assert upload.state == "succeeded", upload.error
    assert Dataset.objects.get(pk=upload.dataset_id).row_count == 2


def test_killed_worker_leaves_dataset_untouched_and_job_finishes_once(celery_runner, warehouse):
    rows = 400_000
    content = "n,label\n" + "".join(f"{i},row {i}\n" for i in range(rows))
    worker = celery_runner()
    org = make_org()
    (upload,) = services.uploads_create(
        organization=org, files=[ContentFile(content.encode(), name="big.csv")]
    )
    # Wait until rows are flowing into the (uncommitted) load, then kill the worker.
    _wait_for(lambda: _state(upload).rows_loaded > 0)
    _kill(worker)

    crashed = _state(upload)
    assert crashed.state == "running"
    dataset = Dataset.objects.get(pk=upload.dataset_id)
    assert dataset.row_count == 0
    assert (
        not table_exists(table_name=dataset.table_name)
        or table_row_count(table_name=dataset.table_name) == 0
    )

    # A new worker notices the stale heartbeat and runs the job again, to the end, once.
    celery_runner(CSVHUB_JOB_STALE_SECONDS="5")
    _wait_for(lambda: _state(upload).is_finished, timeout=180)
    finished = _state(upload)
    assert finished.state == "succeeded", finished.error
    assert finished.attempts == 2
    dataset.refresh_from_db()
    assert dataset.row_count == rows == table_row_count(table_name=dataset.table_name)


def test_worker_ignores_remote_control_sent_through_the_broker(celery_runner, broker_url):
    worker = celery_runner()
    org = make_org()
    (first,) = services.uploads_create(organization=org, files=[ContentFile(b"a\n1\n", "1.csv")])
    _wait_for(lambda: _state(first).is_finished)  # the worker listens from here on

    # What `celery -b BROKER control shutdown` sends: an app of its own, on the test's broker.
    from celery import Celery

    Celery(broker=broker_url).control.broadcast("shutdown")
    with pytest.raises(subprocess.TimeoutExpired):
        worker.wait(timeout=10)
    (second,) = services.uploads_create(organization=org, files=[ContentFile(b"a\n2\n", "2.csv")])
    _wait_for(lambda: _state(second).is_finished)
    assert _state(second).state == "succeeded", _state(second).error


def _send(broker_url: str, name: str, args: list) -> None:
    """Write a message to the broker by hand, as anyone who can reach it could."""
    from csvhub.celery import app

    with app.connection_for_write(broker_url) as connection:
        app.send_task(name, args=args, queue="default", connection=connection)


def test_worker_runs_only_registered_tasks_and_logs_the_rest(celery_runner, broker_url, tmp_path):
    marker = tmp_path / "owned"
    touch = [["touch", str(marker)]]
    # Names the dispatcher used to import and call: the proof (the `subprocess` module
    # imported by csvhub.csvread.child, whose `.call` runs a command) and plain callables.
    hostile = [
        "csvhub.csvread.child.subprocess",
        "subprocess.run",
        "os.system",
        "csvhub.datasets.ingest.upload_ingest",
    ]
    celery_runner()
    for name in hostile:
        _send(broker_url, "csvhub.run_task", [name, touch, {}])
    _send(broker_url, "subprocess.call", touch)  # a Celery task name of its own: unregistered

    # A registered task still runs, after the hostile messages (one worker, one at a time).
    org = make_org()
    (upload,) = services.uploads_create(
        organization=org, files=[ContentFile(b"a\n1\n", name="after.csv")]
    )
    _wait_for(lambda: _state(upload).is_finished)
    assert _state(upload).state == "succeeded", _state(upload).error
    assert not marker.exists()
    worker_log = tmp_path / "worker-0.log"
    _wait_for(lambda: "'subprocess.call'" in worker_log.read_text(), timeout=10)
    log = worker_log.read_text()
    for name in hostile:
        assert f"Refused a message naming {name!r}: not a registered csvhub task." in log


def test_upload_of_a_stopped_worker_is_resumed_by_a_worker_already_running(
    celery_runner, warehouse, tmp_path
):
    """A rollout stops a worker with TERM and kills it when its grace period ends: the job it
    was loading is finished by a worker that was running all along (its sweeper)."""
    rows = 400_000
    content = "n,label\n" + "".join(f"{i},row {i}\n" for i in range(rows))
    stopping = celery_runner(CSVHUB_JOB_STALE_SECONDS="5")
    org = make_org()
    (upload,) = services.uploads_create(
        organization=org, files=[ContentFile(content.encode(), name="big.csv")]
    )
    _wait_for(lambda: _state(upload).rows_loaded > 0)
    celery_runner(CSVHUB_JOB_STALE_SECONDS="5")  # the job is claimed: this one waits
    # TERM to the whole group, as systemd and a terminal send it: the pool process exits by
    # a SystemExit raised wherever it is, even inside the driver mid-COPY, and its load rolls
    # back, leaving the job running (tests/warehouse/test_warehouse_load_stopped.py) ...
    os.killpg(stopping.pid, signal.SIGTERM)
    time.sleep(1)
    _kill(stopping)  # ... and the main process is killed when its grace period ends
    assert _state(upload).state == "running", _logs_of_workers(tmp_path, _state(upload).error)

    _wait_for(lambda: _state(upload).is_finished, timeout=180)
    finished = _state(upload)
    assert finished.state == "succeeded", _logs_of_workers(tmp_path, finished.error)
    assert finished.attempts == 2
    assert Dataset.objects.get(pk=upload.dataset_id).row_count == rows


def test_worker_serves_its_own_metrics_and_health(celery_runner, warehouse):
    from tests.serving import METRICS_TOKEN, free_port, parse_samples

    port = free_port()
    celery_runner(
        CSVHUB_WORKER_METRICS_BIND=f"127.0.0.1:{port}", CSVHUB_METRICS_TOKEN=METRICS_TOKEN
    )
    base = f"http://127.0.0.1:{port}"
    _wait_for(lambda: _http(base + "/healthz")[0] == 200)

    org = make_org()
    content = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(25)) + b"1,2,3\n"
    (upload,) = services.uploads_create(organization=org, files=[ContentFile(content, "w.csv")])
    _wait_for(lambda: _state(upload).is_finished)
    assert _state(upload).state == "succeeded", _state(upload).error

    status, body = _http(base + "/metrics", token=METRICS_TOKEN)
    assert status == 200
    samples = parse_samples(body.decode())
    assert samples[("csvhub_ingest_rows_total", frozenset())] == 25
    assert samples[("csvhub_ingest_rejected_rows_total", frozenset())] == 1
    assert samples[("csvhub_ingest_bytes_total", frozenset())] == len(content)
    succeeded = frozenset({("kind", "ingest"), ("state", "succeeded")})
    assert samples[("csvhub_jobs_finished_total", succeeded)] == 1
    assert samples[("csvhub_process_resident_memory_bytes", frozenset({("role", "worker")}))] > 0
    assert _http(base + "/metrics")[0] == 401
    assert _http(base + "/metrics", token="wrong")[0] == 401


def _http(url: str, token: str | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _logs_of_workers(tmp_path, error: str) -> str:
    """The upload's error, then the end of each worker's log: why a job failed is there (a
    full CI run once saw this test's load fail with an internal error right after the TERM)."""
    tails = [
        f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}"
        for log in sorted(tmp_path.glob("worker-*.log"))
    ]
    return "\n".join([error, *tails])
