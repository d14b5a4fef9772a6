"""Scheduled-import figures: a scheduled run against a plain upload of the same file, and an
S3 manifest check against listing the bucket, measured in the same run.

    .venv/bin/python bench/sources.py --rows 1000000 --objects 10000

  A  a plain upload of a generated seed-like CSV (bench/generate.py) through the upload
     service, ingested at once; against it, a URL source's run that fetches the same file from a
     loopback HTTP server and loads it through the same pipeline. Target: run <= 1.2x upload.
  B  listing --objects S3 objects (moto server on loopback) with the source's own lister;
     against it, a run of an S3 source whose manifest already holds every object (nothing new,
     nothing downloaded). Target: run <= 1.1x listing.

Both run in this process on a fresh data directory (SQLite metadata, the warehouse given by
--warehouse-url, SQLite by default), with tasks run inline, best of --repeats. Ratios are
printed against the baselines; missing a target does not fail the run (figures are not tests).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from generate import ensure_csv

RUN_TARGET = 1.2
MANIFEST_TARGET = 1.1


def _setup(data_dir: str, warehouse_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="csvhub.settings",
        CSVHUB_DATA_DIR=data_dir,
        CSVHUB_TASK_RUNNER="immediate",
        CSVHUB_SOURCE_ALLOWED_HOSTS="127.0.0.1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
    )
    if warehouse_url:
        os.environ["CSVHUB_WAREHOUSE_URL"] = warehouse_url
    import django
    from django.core.management import call_command

    django.setup()
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)


def _best_pair(
    repeats: int, baseline: Callable[[], float], measured: Callable[[], float]
) -> tuple[float, float]:
    """Best of `repeats` of each, taken in turns, so that a busy moment of the machine weighs
    on both alike."""
    pairs = [(baseline(), measured()) for _ in range(repeats)]
    return min(p[0] for p in pairs), min(p[1] for p in pairs)


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@contextmanager
def _file_server(folder: Path) -> Iterator[str]:
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def figure_run_over_upload(rows: int, repeats: int) -> tuple[float, float]:
    from django.core.files import File

    from csvhub.accounts.models import Organization
    from csvhub.datasets.models import Upload
    from csvhub.datasets.services import dataset_create, uploads_create
    from csvhub.sources.models import Run
    from csvhub.sources.runs import source_run_now
    from csvhub.sources.services import source_create

    path = ensure_csv(rows)
    organization = Organization.objects.create(slug="bench-a", name="bench")

    def upload() -> None:
        with path.open("rb") as stream:
            (created,) = uploads_create(organization=organization, files=[File(stream, path.name)])
        created.refresh_from_db()
        assert created.state == "succeeded" and created.rows_loaded == rows, created.error

    with _file_server(path.parent) as base:

        def scheduled() -> None:
            dataset = dataset_create(organization=organization, name="scheduled")
            source = source_create(
                dataset=dataset,
                data={"kind": "url", "url": f"{base}/{path.name}", "every_seconds": 3600},
            )
            run = source_run_now(source=source)
            assert run.state == "succeeded" and run.rows == rows, run.error

        plain, run = _best_pair(repeats, lambda: _timed(upload), lambda: _timed(scheduled))
    assert Upload.objects.filter(state="succeeded").count() == 2 * repeats
    assert Run.objects.count() == repeats
    return plain, run


def figure_manifest_over_listing(objects: int, repeats: int) -> tuple[float, float]:
    import boto3
    from moto.server import ThreadedMotoServer

    from csvhub.accounts.models import Organization
    from csvhub.datasets.services import dataset_create
    from csvhub.sources.models import Run, RunTrigger, SourceFile
    from csvhub.sources.remote_s3 import s3_client, s3_list
    from csvhub.sources.runs import s3_location, source_run_now, version_of
    from csvhub.sources.services import source_create

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        with ThreadPoolExecutor(8) as pool:  # moto answers one request at a time per thread
            keys = (f"exports/{i:06d}.csv" for i in range(objects))
            list(
                pool.map(
                    lambda key: client.put_object(Bucket="bench", Key=key, Body=b"id\n1\n"), keys
                )
            )
        organization = Organization.objects.create(slug="bench-b", name="bench")
        dataset = dataset_create(organization=organization, name="manifest")
        source = source_create(
            dataset=dataset,
            data={
                "kind": "s3", "bucket": "bench", "prefix": "exports/", "glob": "*.csv",
                "endpoint_url": endpoint, "region": "us-east-1", "every_seconds": 3600,
            },
        )  # fmt: skip
        location = s3_location(source)
        lister = s3_client(location, {})
        listed = list(s3_list(lister, location))
        assert len(listed) == objects
        # The manifest of earlier runs: every object taken once already.
        earlier = Run.objects.create(
            source=source, trigger=RunTrigger.SCHEDULE, started_at=listed[0].last_modified
        )
        SourceFile.objects.bulk_create(
            SourceFile(source=source, run=earlier, key=o.key, etag=o.etag, size=o.size,
                       version=version_of(o.key, o.etag, o.size))
            for o in listed
        )  # fmt: skip

        def check() -> None:
            run = source_run_now(source=source)
            assert run.state == "not_modified" and run.files_skipped == objects, run.error

        listing, run = _best_pair(
            repeats, lambda: _timed(lambda: list(s3_list(lister, location))), lambda: _timed(check)
        )
    finally:
        server.stop()
    return listing, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warehouse-url", default="", help="default: SQLite in the data dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csvhub-bench-sources-") as data_dir:
        _setup(data_dir, args.warehouse_url)
        plain, run = figure_run_over_upload(args.rows, args.repeats)
        _print(
            "A",
            f"scheduled run of a {args.rows:,}-row file",
            run,
            "plain upload",
            plain,
            RUN_TARGET,
        )
        listing, check = figure_manifest_over_listing(args.objects, args.repeats)
        _print(
            "B",
            f"manifest check of {args.objects:,} unchanged objects",
            check,
            "listing",
            listing,
            MANIFEST_TARGET,
        )


def _print(key: str, what: str, seconds: float, baseline: str, base: float, target: float) -> None:
    ratio = seconds / base
    verdict = "meets" if ratio <= target else "MISSES"
    print(
        f"{key}  {what}: {seconds:.2f} s; {baseline}: {base:.2f} s; "
        f"ratio {ratio:.2f}x ({verdict} the <= {target}x target)"
    )


if __name__ == "__main__":
    main()
