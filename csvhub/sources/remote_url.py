"""Fetching a URL source: a conditional GET, to a checked address, following checked redirects."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3

from csvhub.sources.addresses import address_resolve
from csvhub.sources.download import Downloaded, download_copy
from csvhub.sources.errors import FetchFailed, SourceRefused

MAX_REDIRECTS = 5
CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class UrlFetched:
    """What a conditional GET answered: None for "not modified", else the downloaded file and
    the validators to send next time."""

    downloaded: Downloaded | None
    etag: str
    last_modified: str


def url_check(url: str) -> None:
    """Refuse a URL that is not http(s) or whose host is not public (before saving a source)."""
    parts = _parts(url)
    address_resolve(parts.hostname or "", _port(parts))


def url_fetch(
    url: str, *, headers: dict[str, str], etag: str, last_modified: str, deadline: float
) -> UrlFetched:
    conditional = dict(headers)
    if etag:
        conditional["If-None-Match"] = etag
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    response = _get(url, conditional, deadline)
    try:
        if response.status == 304:
            return UrlFetched(None, etag, last_modified)
        if response.status != 200:
            raise FetchFailed(f"The server answered HTTP {response.status}.")
        downloaded = download_copy(response.read, name=_file_name(url), deadline=deadline)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise FetchFailed(f"The download broke off: {type(error).__name__}.") from None
    finally:
        response.release_conn()
    return UrlFetched(
        downloaded, response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
    )


def _get(url: str, headers: dict[str, str], deadline: float) -> urllib3.BaseHTTPResponse:
    """GET `url`, each hop to an address checked by address_resolve. Redirects are followed
    here (never by urllib3), so every hop is checked; credentials go to the first host only."""
    first_host = urlsplit(url).hostname
    for _ in range(MAX_REDIRECTS + 1):
        parts = _parts(url)
        if parts.hostname != first_host:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        response = _get_once(parts, headers, deadline)
        location = response.headers.get("Location")
        if response.status not in REDIRECTS or not location:
            return response
        response.drain_conn()
        response.release_conn()
        url = urljoin(url, location)
    raise FetchFailed(f"More than {MAX_REDIRECTS} redirects.")


def _get_once(
    parts: SplitResult, headers: dict[str, str], deadline: float
) -> urllib3.BaseHTTPResponse:
    host = parts.hostname or ""
    port = _port(parts)
    address = address_resolve(host, port)
    timeout = urllib3.Timeout(
        connect=CONNECT_SECONDS, read=max(1.0, min(READ_SECONDS, deadline - time.monotonic()))
    )
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, server_hostname=host, assert_hostname=host,
            cert_reqs="CERT_REQUIRED", retries=False, maxsize=1,
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    try:
        return pool.urlopen(
            "GET",
            target,
            headers={**headers, "Host": host_header, "Accept-Encoding": "identity"},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as error:
        raise FetchFailed(f"Could not reach {host}: {type(error).__name__}.") from None


def _parts(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceRefused("A URL source needs an http:// or https:// URL with a host.")
    return parts


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _file_name(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).name or "download.csv"
