"""In-process CPU time of one 10,000-row JSON append, through Django's WSGI handler with a real
Bearer token.

    .venv/bin/python bench/append_cpu.py --pg-url postgresql://postgres@127.0.0.1:5432/NAME
    .venv/bin/python bench/append_cpu.py --pg-url ... --profile --requests 20
    .venv/bin/python bench/append_cpu.py --pg-url ... --check answers.json

A fresh data directory as `csvhub serve` would have (bench/ingest.py's environment, SQLite
metadata), a PostgreSQL warehouse (or SQLite without --pg-url), an admin's API token; the
dataset `measures` gets its columns from a first 10-row append, as bench/measures.py's
throughput run does. Then 10,000-row batches of bench/measures.py's rows are POSTed to
`/api/v1/datasets/measures/rows/` through `WSGIHandler` in this process, the way gunicorn calls
it. Printed: the best of --repeat runs of the mean `time.process_time()` (every thread of the
process: psycopg's COPY writer too) and wall time per request. With --profile, a cProfile of
--requests requests instead. With --check FILE, the answers (status, body) of a set of appends,
errors included, are written to FILE as JSON, to compare two versions of the code.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest
from measures import BATCH_ROWS, json_body, measures
from request_cpu import wsgi_request

JSON = {"CONTENT_TYPE": "application/json"}


class Appender:
    """POSTs to one dataset's rows endpoint through the WSGI handler."""

    def __init__(self, handler, token: str) -> None:
        self.handler, self.token = handler, token
        status, _, body = wsgi_request(
            handler, "POST", "/api/v1/datasets/", token, b'{"name": "measures"}', JSON
        )
        assert status.startswith("201"), body
        self.slug = json.loads(body)["slug"]
        self.url = f"/api/v1/datasets/{self.slug}/rows/"
        self.offset = 0

    def post(self, body: bytes, headers: dict | None = None) -> tuple[str, bytes]:
        status, _, answer = wsgi_request(
            self.handler, "POST", self.url, self.token, body, {**JSON, **(headers or {})}
        )
        return status, answer

    def next_bodies(self, count: int, rows: int = BATCH_ROWS) -> list[bytes]:
        """`count` bodies of the next rows (made before any timing starts)."""
        bodies = []
        for _ in range(count):
            bodies.append(json_body(measures(rows, self.offset)))
            self.offset += rows
        return bodies

    def append(self, body: bytes) -> None:
        status, answer = self.post(body)
        assert status.startswith("201"), answer[:500]

    def delete(self) -> None:
        wsgi_request(self.handler, "DELETE", f"/api/v1/datasets/{self.slug}/", self.token)


def prepare(pg_url: str | None, workdir: Path) -> str:
    """The data directory, migrated, with an admin; the admin's API token."""
    env = ingest._server_env(workdir, pg_url)
    ingest._csvhub(env, "migrate", "--verbosity", "0")
    ingest._csvhub(
        env, "createadmin", "--org", "bench", "--username", "bench", "--password=bench-password-1"
    )
    token = ingest._token_create(env)
    os.environ.update(env)
    return token


def cpu_per_request(appender: Appender, count: int, repeat: int) -> tuple[float, float]:
    """The best of `repeat` runs: CPU seconds and wall seconds per request."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        bodies = appender.next_bodies(count)
        start, started = time.process_time(), time.perf_counter()
        for body in bodies:
            appender.append(body)
        best_cpu = min(best_cpu, (time.process_time() - start) / count)
        best_wall = min(best_wall, (time.perf_counter() - started) / count)
    return best_cpu, best_wall


def profile(appender: Appender, count: int) -> None:
    bodies = appender.next_bodies(count)
    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies:
        appender.append(body)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("tottime")
    stats.print_stats(45)
    stats.sort_stats("cumulative").print_stats(80)


def check_bodies() -> list[tuple[bytes, dict]]:
    """Appends whose answers --check keeps: typed rows, widenings, keys, errors."""
    row = {"sensor": "s01", "time": "2026-01-01T00:00:00Z", "temperature": 21.5, "humidity": 4}
    bodies: list[tuple[bytes, dict]] = [
        (json_body(measures(3, 900_000)), {}),
        (json.dumps([{**row, "temperature": "1.10", "humidity": None}]).encode(), {}),
        (json.dumps([{**row, "SENSOR": "s02", "humidity": True}]).encode(), {}),
        (json.dumps([{**row, "sensor": 7, "time": "2026-01-01"}]).encode(), {}),
        (json.dumps([row, {"sensor": "s03"}, {"Humidity": 1e3}]).encode(), {}),
        (json.dumps([{**row, "nosuch": 1}]).encode(), {}),
        (json.dumps([{**row, "temperature": {"a": 1}}]).encode(), {}),
        (json.dumps([{**row, "sensor": "a\u0000b"}]).encode(), {}),
        (json.dumps([row, 3]).encode(), {}),
        (b"[1e999, NaN]", {}),
        (b"{not json", {}),
        (json.dumps(row).encode(), {"HTTP_IDEMPOTENCY_KEY": "k1"}),
        (json.dumps(row).encode(), {"HTTP_IDEMPOTENCY_KEY": "k1"}),
        (json.dumps([row, row]).encode(), {"HTTP_IDEMPOTENCY_KEY": "k1"}),
        (json.dumps([{**row, "humidity": "x"}]).encode(), {}),
        (json.dumps([{**row, "humidity": 12345678901234567890123}]).encode(), {}),
        (json.dumps([{**row, "temperature": 1.123}]).encode(), {}),
    ]
    return bodies


def write_answers(path: Path, appender: Appender) -> None:
    answers = []
    for body, headers in check_bodies():
        status, answer = appender.post(body, headers)
        answers.append({"body": body.decode(), "status": status, "answer": answer.decode()})
    # The rows as stored (the values read, after the widenings): the check appends' and some
    # before them.
    _, _, stored = wsgi_request(
        appender.handler, "GET", f"{appender.url}?limit=30&offset=30000", appender.token
    )
    answers.append({"stored": json.loads(stored)["rows"]})  # less the signed cursors
    path.write_text(json.dumps(answers, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", help="a PostgreSQL warehouse (default: SQLite)")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--check", type=Path, help="write the answers of check_bodies here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csvhub-append-bench-") as workdir:
        token = prepare(args.pg_url, Path(workdir))
        import django

        django.setup()
        from django.core.handlers.wsgi import WSGIHandler

        appender = Appender(WSGIHandler(), token)
        try:
            appender.append(json_body(measures(10, 0)))  # the dataset's columns
            appender.offset = 10
            for body in appender.next_bodies(3):  # warm: statements built, connections open
                appender.append(body)
            if args.check:
                write_answers(args.check, appender)
                return
            print(f"load {Path('/proc/loadavg').read_text().split()[0]}")
            if args.profile:
                profile(appender, args.requests)
                return
            cpu, wall = cpu_per_request(appender, args.requests, args.repeat)
            print(f"10,000-row append {cpu * 1000:.2f} ms CPU, {wall * 1000:.2f} ms wall")
        finally:
            appender.delete()


if __name__ == "__main__":
    main()
