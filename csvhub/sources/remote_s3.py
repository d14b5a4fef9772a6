"""Listing and fetching an S3 source's objects (any S3-compatible endpoint)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from csvhub.sources.addresses import address_resolve
from csvhub.sources.download import Downloaded, download_copy
from csvhub.sources.errors import FetchFailed, SourceRefused


@dataclass(frozen=True)
class S3Object:
    key: str
    etag: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    glob: str
    endpoint_url: str
    region: str


def s3_check(location: S3Location) -> None:
    """Refuse an endpoint that is not http(s) or whose host is not public (see addresses)."""
    if not location.endpoint_url:
        return  # AWS itself
    parts = urlsplit(location.endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceRefused("An S3 endpoint URL is an http:// or https:// URL with a host.")
    address_resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def s3_client(location: S3Location, credentials: dict[str, Any]) -> Any:
    """A boto3 client for the location; without credentials, the instance's own (environment,
    instance profile). The endpoint is checked again at each run, as its DNS may change."""
    import boto3
    from botocore.config import Config

    s3_check(location)
    return boto3.client(
        "s3",
        endpoint_url=location.endpoint_url or None,
        region_name=location.region or None,
        aws_access_key_id=credentials.get("access_key_id") or None,
        aws_secret_access_key=credentials.get("secret_access_key") or None,
        config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 2}),
    )


def s3_list(client: Any, location: S3Location) -> Iterator[S3Object]:
    """Every object under the prefix whose key matches the glob (fnmatch on the whole key)."""
    from botocore.exceptions import BotoCoreError, ClientError

    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=location.bucket, Prefix=location.prefix
    )
    try:
        for page in pages:
            for item in page.get("Contents", ()):
                if fnmatch.fnmatchcase(item["Key"], location.glob or "*"):
                    yield S3Object(item["Key"], item["ETag"], item["Size"], item["LastModified"])
    except (BotoCoreError, ClientError) as error:
        raise FetchFailed(f"Listing the bucket failed: {_reason(error)}") from None


def s3_download(client: Any, location: S3Location, item: S3Object, deadline: float) -> Downloaded:
    """The object's bytes as listed: IfMatch refuses a version replaced since the listing."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.get_object(Bucket=location.bucket, Key=item.key, IfMatch=item.etag)
        body = answer["Body"]
        try:
            return download_copy(body.read, name=PurePosixPath(item.key).name, deadline=deadline)
        finally:
            body.close()
    except (BotoCoreError, ClientError, OSError) as error:
        raise FetchFailed(f"Downloading {item.key} failed: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        return f"{code or type(error).__name__}"
    return type(error).__name__
