"""Copying a remote body into a temporary file within the download limits, never whole in memory."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from csvhub.sources.errors import FetchFailed

CHUNK_BYTES = 1024 * 1024


@dataclass
class Downloaded:
    """A file fetched into a temporary file (deleted on close), with its size and sha256."""

    body: BinaryIO
    size: int
    sha256: str
    name: str


def download_deadline() -> float:
    """The monotonic time by which a download started now must finish."""
    return time.monotonic() + settings.CSVHUB_SOURCE_DOWNLOAD_SECONDS


def download_copy(read: Callable[[int], bytes], *, name: str, deadline: float) -> Downloaded:
    """Read `read` to its end into a temporary file, refusing more than CSVHUB_SOURCE_MAX_BYTES
    or a download still going at `deadline`."""
    limit = settings.CSVHUB_SOURCE_MAX_BYTES
    # Closed by the caller once stored (or here on failure): it outlives this function.
    body = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise FetchFailed(
                    f"The file is larger than {limit:,} bytes (CSVHUB_SOURCE_MAX_BYTES)."
                )
            if time.monotonic() > deadline:
                seconds = settings.CSVHUB_SOURCE_DOWNLOAD_SECONDS
                raise FetchFailed(
                    f"The download took longer than {seconds:,} s (CSVHUB_SOURCE_DOWNLOAD_SECONDS)."
                )
            digest.update(chunk)
            body.write(chunk)
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return Downloaded(body=body, size=size, sha256=digest.hexdigest(), name=name)
