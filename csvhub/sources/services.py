"""Writes of sources: create, change, delete. Running them is in runs.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from csvhub.datasets.models import Dataset
from csvhub.scheduling import InvalidSchedule
from csvhub.scheduling.schedules import zone_check
from csvhub.sources.errors import SourceError
from csvhub.sources.models import Source, SourceKind
from csvhub.sources.remote_s3 import s3_check
from csvhub.sources.remote_url import url_check
from csvhub.sources.runs import s3_location
from csvhub.sources.schedules import source_next_run, source_schedule
from csvhub.sources.secrets import SecretUnreadable, secret_open, secret_seal

# Fields a request sets as they are; the secrets (headers, S3 keys) go through _seal.
PLAIN_FIELDS = (
    "kind", "url", "bucket", "prefix", "glob", "endpoint_url", "region",
    "cron", "every_seconds", "time_zone", "enabled", "mode", "stale_after_seconds",
)  # fmt: skip
SECRET_FIELDS = ("headers", "access_key_id", "secret_access_key")
SCHEDULE_FIELDS = ("cron", "every_seconds", "time_zone", "enabled")


def source_create(
    *, dataset: Dataset, data: dict[str, Any], user: User | AnonymousUser | None = None
) -> Source:
    source = Source(
        dataset=dataset,
        time_zone=settings.TIME_ZONE,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return _save(source, data)


def source_update(*, source: Source, data: dict[str, Any]) -> Source:
    """Change the fields in `data` (a PATCH); secrets not in `data` are kept."""
    return _save(source, data)


def source_delete(*, source: Source) -> None:
    """The source and its runs go; the uploads it made stay with the dataset."""
    source.delete()


def _save(source: Source, data: dict[str, Any]) -> Source:
    for field in PLAIN_FIELDS:
        if field in data:
            setattr(source, field, data[field] if data[field] is not None else _empty(field))
    _seal(source, data)
    _check(source)
    if source._state.adding or any(field in data for field in SCHEDULE_FIELDS):
        # Other changes keep the planned time (a retry after a failure among them).
        source.next_run_at = source_next_run(source, timezone.now())
    source.save()
    return source


def _empty(field: str) -> Any:
    return None if field in ("every_seconds", "stale_after_seconds") else ""


def _seal(source: Source, data: dict[str, Any]) -> None:
    if not any(field in data for field in SECRET_FIELDS):
        return
    try:
        secret = secret_open(source.secret)
    except SecretUnreadable:
        secret = {}  # unreadable anyway: what is sent now replaces it
    if "headers" in data:
        secret["headers"] = dict(data["headers"] or {})
    for field in ("access_key_id", "secret_access_key"):
        if field in data:
            secret[field] = data[field] or ""
    source.secret = secret_seal({key: value for key, value in secret.items() if value})


def _check(source: Source) -> None:
    """Refuse a source that could not run: missing location, a schedule that is not one, an
    address inside a private network."""
    if source.kind == SourceKind.URL:
        if not source.url:
            raise SourceError("A URL source needs a `url`.")
        url_check(source.url)
    elif source.kind == SourceKind.S3:
        if not source.bucket:
            raise SourceError("An S3 source needs a `bucket`.")
        s3_check(s3_location(source))
    else:
        raise SourceError("`kind` is `url` or `s3`.")
    _check_schedule(source)


def _check_schedule(source: Source) -> None:
    if bool(source.cron) == bool(source.every_seconds):
        raise SourceError("A source runs on a `cron` expression or `every_seconds`, one of them.")
    minimum = settings.CSVHUB_SOURCE_MIN_INTERVAL_SECONDS
    if source.every_seconds and source.every_seconds < minimum:
        raise SourceError(
            f"`every_seconds` is at least {minimum} (CSVHUB_SOURCE_MIN_INTERVAL_SECONDS)."
        )
    try:
        zone_check(source.time_zone)  # an interval has no zone, but a later cron will
        source_schedule(source)
    except InvalidSchedule as error:
        raise SourceError(str(error)) from None
