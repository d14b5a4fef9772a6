"""Running a source: claiming it (single flight), fetching what is new, loading each new file
once through the normal upload pipeline, and recording the run.

Single flight: a run starts only by a conditional UPDATE that takes the source's lease
(`running_until`) when it is free; the process running it renews the lease while it works, so
a process that dies gives the source back within CSVHUB_SOURCE_LEASE_SECONDS. Exactly once: a
file version is taken by inserting its SourceFile row (unique per source and version) in the
transaction that records its upload; the download before it leaves nothing in the database, so
a run killed mid-download loads nothing and the next run downloads the file again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connections
from django.db.models import Q
from django.utils import timezone

from csvhub.datasets.ingest import upload_ingest
from csvhub.datasets.models import Upload, UploadMode, UploadState
from csvhub.datasets.services import upload_create
from csvhub.jobs.registry import task_get
from csvhub.sources.download import Downloaded, download_deadline
from csvhub.sources.errors import FetchFailed, SourceBusy, SourceError
from csvhub.sources.models import LoadMode, Run, RunState, RunTrigger, Source, SourceFile
from csvhub.sources.remote_s3 import S3Location, s3_client, s3_download, s3_list
from csvhub.sources.remote_url import url_fetch
from csvhub.sources.schedules import source_next_run, source_retry_at
from csvhub.sources.secrets import SecretUnreadable, secret_open

logger = logging.getLogger(__name__)


def _lease_free(now: datetime) -> Q:
    return Q(running_until__isnull=True) | Q(running_until__lte=now)


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.CSVHUB_SOURCE_LEASE_SECONDS)


def sources_dispatch(*, now: datetime) -> list[Run]:
    """Start a run of every enabled source due at `now` that this process wins the claim of."""
    due = Source.objects.filter(_lease_free(now), enabled=True, next_run_at__lte=now)
    started = []
    for source in due.select_related("dataset"):
        claimed = Source.objects.filter(
            _lease_free(now), pk=source.pk, enabled=True, next_run_at=source.next_run_at
        ).update(running_until=_lease_end(now), next_run_at=source_next_run(source, now))
        if claimed == 1:
            trigger = RunTrigger.RETRY if source.failures else RunTrigger.SCHEDULE
            started.append(_run_open(source, trigger, now))
    for run in started:
        run_enqueue(run=run)
    return started


def source_run_now(*, source: Source) -> Run:
    """Start a run at once (the "run now" button); 409 while one is going on."""
    now = timezone.now()
    if not Source.objects.filter(_lease_free(now), pk=source.pk).update(
        running_until=_lease_end(now)
    ):
        raise SourceBusy("This source is being fetched right now; wait for that run to finish.")
    run = _run_open(source, RunTrigger.MANUAL, now)
    run_enqueue(run=run)
    run.refresh_from_db()
    return run


def _run_open(source: Source, trigger: RunTrigger, now: datetime) -> Run:
    # A run still marked running holds no lease any more: its process died.
    Run.objects.filter(source=source, state=RunState.RUNNING).update(
        state=RunState.FAILED,
        finished_at=now,
        error="The process running this fetch stopped before it finished.",
    )
    return Run.objects.create(source=source, trigger=trigger, started_at=now)


def run_enqueue(*, run: Run) -> None:
    # By name from the registry (csvhub.sources.tasks is imported at start): the task module
    # calls run_execute here, and importing it back would make an import cycle.
    task_get("csvhub.sources.tasks.source_run").enqueue(str(run.id))


def run_execute(*, run_id: str) -> None:
    """Fetch and load what is new for the run's source, then record the outcome and give the
    source's lease back. Fetch failures are retried with backoff (see source_retry_at)."""
    run = Run.objects.select_related("source__dataset").get(pk=run_id)
    if run.state != RunState.RUNNING:
        return
    source = run.source
    with _lease_kept(source.pk):
        try:
            _fetch(source, run)
        except (FetchFailed, SourceError, SecretUnreadable) as error:
            _run_close(run, source, failure=str(error))
        except Exception:
            logger.exception("run %s of source %s failed", run.id, source.pk)
            _run_close(run, source, failure="csvhub could not fetch this source: internal error.")
        else:
            _run_close(run, source)


@contextmanager
def _lease_kept(source_id: UUID) -> Iterator[None]:
    """Renew the source's lease while the run works, from a thread of its own."""
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(settings.CSVHUB_SOURCE_LEASE_SECONDS / 4):
                Source.objects.filter(pk=source_id).update(running_until=_lease_end(timezone.now()))
        finally:
            connections.close_all()  # this thread's own

    keeper = threading.Thread(target=renew, name="csvhub-source-lease", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()


def _run_close(run: Run, source: Source, *, failure: str = "") -> None:
    now = timezone.now()
    run.error = "\n".join(filter(None, [failure, run.error]))[:5000]
    if run.error:
        run.state = RunState.FAILED
    else:
        run.state = RunState.SUCCEEDED if run.files_loaded else RunState.NOT_MODIFIED
    run.finished_at = now
    run.save()
    changes: dict[str, Any] = {"running_until": None}
    if failure:  # the fetch failed: try again soon, a few times (the file's own errors: no)
        source.failures += 1
        changes["failures"] = source.failures
        changes["next_run_at"] = source_retry_at(source, now)
    else:
        changes["failures"] = 0
    if run.files_loaded:
        changes.update(last_new_file_at=now, stale_alerted_at=None)
    Source.objects.filter(pk=source.pk).update(**changes)


def _fetch(source: Source, run: Run) -> None:
    secret = secret_open(source.secret)
    if source.kind == "s3":
        _fetch_s3(source, run, secret)
    else:
        _fetch_url(source, run, secret)


def _fetch_url(source: Source, run: Run, secret: dict[str, Any]) -> None:
    fetched = url_fetch(
        source.url,
        headers=secret.get("headers", {}),
        etag=source.etag,
        last_modified=source.last_modified,
        deadline=download_deadline(),
    )
    run.files_found = 1
    if fetched.downloaded is None:  # 304: nothing downloaded
        run.files_skipped = 1
        return
    downloaded = fetched.downloaded
    with downloaded.body:
        # A server without validators sends the same bytes again: their hash is the version.
        upload = _take(source, run, source.url, f"sha256:{downloaded.sha256}", downloaded)
    Source.objects.filter(pk=source.pk).update(
        etag=fetched.etag[:500], last_modified=fetched.last_modified[:100]
    )
    if upload is None:
        run.files_skipped = 1
    else:
        _ingest(upload, run)


def _fetch_s3(source: Source, run: Run, secret: dict[str, Any]) -> None:
    location = s3_location(source)
    client = s3_client(location, secret)
    listed = list(s3_list(client, location))
    taken = set(SourceFile.objects.filter(source=source).values_list("version", flat=True))
    new = [item for item in listed if version_of(item.key, item.etag, item.size) not in taken]
    # Oldest first, whatever the listing order, so that appended files keep their arrival order.
    new.sort(key=lambda item: (item.last_modified, item.key))
    run.files_found, run.files_skipped = len(listed), len(listed) - len(new)
    if source.mode == LoadMode.REPLACE and len(new) > 1:
        # Only the newest file becomes the dataset's contents; the older ones are passed over
        # for good (recorded without an upload), never loaded later.
        for item in new[:-1]:
            _record(source, run, item.key, item.etag, item.size, upload=None)
        run.files_skipped += len(new) - 1
        new = new[-1:]
    for item in new:
        downloaded = s3_download(client, location, item, download_deadline())
        with downloaded.body:
            upload = _take(source, run, item.key, item.etag, downloaded, size=item.size)
        if upload is None:
            run.files_skipped += 1
        else:
            _ingest(upload, run)


def s3_location(source: Source) -> S3Location:
    return S3Location(
        bucket=source.bucket,
        prefix=source.prefix,
        glob=source.glob,
        endpoint_url=source.endpoint_url,
        region=source.region,
    )


def version_of(key: str, etag: str, size: int) -> str:
    return hashlib.sha256(f"{key}\0{etag}\0{size}".encode()).hexdigest()


def _take(
    source: Source,
    run: Run,
    key: str,
    etag: str,
    downloaded: Downloaded,
    *,
    size: int | None = None,
) -> Upload | None:
    """Record the downloaded version as an upload of the source's dataset, or None when this
    version was taken before (by an earlier run, or by a racing one: the unique constraint)."""
    size = downloaded.size if size is None else size
    if SourceFile.objects.filter(source=source, version=version_of(key, etag, size)).exists():
        return None
    file = File(downloaded.body, name=downloaded.name)
    file.size = downloaded.size
    try:
        return upload_create(
            dataset=source.dataset,
            file=file,
            mode=UploadMode(source.mode),
            record=lambda upload: _record(source, run, key, etag, size, upload=upload),
            enqueue=False,
        )
    except IntegrityError:
        return None


def _record(
    source: Source, run: Run, key: str, etag: str, size: int, *, upload: Upload | None
) -> None:
    SourceFile.objects.create(
        source=source,
        run=run,
        upload=upload,
        key=key[:1024],
        etag=etag[:500],
        size=size,
        version=version_of(key, etag, size),
    )


def _ingest(upload: Upload, run: Run) -> None:
    """Load the upload now, in this run, so the run's rows and outcome are its own. A process
    that dies here leaves a normal upload that csvhub resumes like any other."""
    try:
        upload_ingest(upload_id=upload.id)
    except Exception:
        logger.exception("loading upload %s of run %s failed", upload.id, run.id)
    upload.refresh_from_db()
    if upload.state == UploadState.SUCCEEDED:
        run.files_loaded += 1
        run.rows += upload.rows_loaded
    else:  # the file's own fault: the run fails with the reason, and is not retried
        problem = f"{upload.original_name}: {upload.error or 'not loaded'}"
        run.error = "\n".join(filter(None, [run.error, problem]))
