"""In-process CPU time of one rows request, through Django's WSGI handler with a real Bearer token.

    .venv/bin/python bench/request_cpu.py [--pg-url postgresql://...] [--rows 100000]
    .venv/bin/python bench/request_cpu.py --profile page1 --requests 300

A fresh data directory as `csvhub serve` would have (bench/ingest.py's environment), the
generated CSV loaded with `csvhub ingest` and `client_id` indexed; then the four request kinds
of bench/serve.py (page 1, filtered and sorted, the count, a cursor page at 90 % of the rows)
are sent to `WSGIHandler` in this process, the way gunicorn calls it (the metadata connection
kept across requests, request_finished sent). Per kind: the best of --repeat runs of the mean
`time.process_time()` per request; with --profile KIND, a cProfile of --requests requests of
that kind instead. With --check FILE, every answer's status, headers (less Date and Expires)
and body are written to FILE (JSON), to compare two versions of the code byte for byte.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest
from generate import ensure_csv

HOST = "127.0.0.1:8000"
FILTERED = {"client_id": "gte:500", "sort": "client_id", "count": "none"}


def wsgi_get(handler, url: str, token: str) -> tuple[str, list[tuple[str, str]], bytes]:
    return wsgi_request(handler, "GET", url, token)


def wsgi_request(
    handler, method: str, url: str, token: str, body: bytes = b"", headers: dict | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """One request through `handler` as gunicorn sends it; `headers` as WSGI keys
    (CONTENT_TYPE, HTTP_IDEMPOTENCY_KEY)."""
    parts = urlsplit(url)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **(headers or {}),
    }
    answer: list = []
    response = handler(environ, lambda status, headers: answer.extend((status, headers)))
    body = b"".join(response)
    response.close()  # request_finished: the connection kept or closed as CONN_MAX_AGE says
    return answer[0], answer[1], body


def prepare(args: argparse.Namespace, workdir: Path) -> str:
    """The data directory with the rows loaded and indexed; the API token."""
    env = ingest._server_env(workdir, args.pg_url or args.warehouse_url)
    ingest._csvhub(env, "migrate", "--verbosity", "0")
    ingest._csvhub(
        env, "createadmin", "--org", "bench", "--username", "bench", "--password=bench-password-1"
    )
    token = ingest._token_create(env)
    ingest._csvhub(env, "ingest", str(ensure_csv(args.rows, quiet=True)))
    os.environ.update(env)
    return token


def targets(handler, token: str, rows: int) -> dict[str, str]:
    from csvhub.datasets.models import Dataset

    slug = Dataset.objects.get().slug
    base = f"/api/v1/datasets/{slug}/rows/"
    indexes = f"/api/v1/datasets/{slug}/indexes/"
    environ_post(handler, indexes, token, {"columns": ["client_id"]})
    wait_until_built(handler, indexes, token)
    url = f"{base}?{urlencode({**FILTERED, 'limit': 1000})}"
    for _ in range(rows * 9 // 10 // 1000):
        url = json.loads(wsgi_get(handler, url, token)[2])["next"]
    return {
        "page1": f"{base}?limit=100",
        "filtered": f"{base}?{urlencode(FILTERED)}&limit=100",
        "count": f"{base}?limit=1",
        "deep": url.replace("limit=1000", "limit=100"),
    }


def environ_post(handler, path: str, token: str, data: dict) -> None:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST=HOST)
    response = client.post(path, data, content_type="application/json")
    assert response.status_code in (200, 201, 202), response.content


def wait_until_built(handler, indexes_path: str, token: str) -> None:
    """The index build is queued (202): the figures must not compete with it."""
    for _ in range(1200):
        listed = json.loads(wsgi_get(handler, indexes_path, token)[2])
        if listed and all(index["status"] == "ready" for index in listed):
            return
        time.sleep(0.5)
    raise RuntimeError(f"index not built: {listed}")


def cpu_per_request(handler, url: str, token: str, count: int, repeat: int) -> tuple[float, float]:
    """The best of `repeat` runs: CPU seconds and wall seconds per request."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        start, started = time.process_time(), time.perf_counter()
        for _ in range(count):
            wsgi_get(handler, url, token)
        best_cpu = min(best_cpu, (time.process_time() - start) / count)
        best_wall = min(best_wall, (time.perf_counter() - started) / count)
    return best_cpu, best_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg-url", help="a PostgreSQL warehouse (default: SQLite)")
    parser.add_argument(
        "--warehouse-url",
        help="any other warehouse, {data} for the data directory: duckdb:///{data}/w.duckdb",
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", choices=("page1", "filtered", "count", "deep"))
    parser.add_argument("--check", type=Path, help="write every answer to this JSON file")
    args = parser.parse_args()
    if args.pg_url:
        serve_bench = __import__("serve")
        serve_bench.ensure_database(args.pg_url)
    with tempfile.TemporaryDirectory(prefix="csvhub-cpu-bench-") as workdir:
        token = prepare(args, Path(workdir))
        import django

        django.setup()
        from django.core.handlers.wsgi import WSGIHandler

        handler = WSGIHandler()
        urls = targets(handler, token, args.rows)
        for url in urls.values():  # warm: statements built, connections open
            for _ in range(20):
                status, _headers, body = wsgi_get(handler, url, token)
                assert status.startswith("200"), (url, status, body[:300])
        if args.check:
            write_answers(args.check, handler, token, urls)
        print(f"load {Path('/proc/loadavg').read_text().split()[0]}")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                wsgi_get(handler, urls[args.profile], token)
            profile.disable()
            stats = pstats.Stats(profile).sort_stats("tottime")
            stats.print_stats(45)
            stats.sort_stats("cumulative").print_stats(70)
            return
        for kind, url in urls.items():
            cpu, wall = cpu_per_request(handler, url, token, args.requests, args.repeat)
            print(f"{kind:9} {cpu * 1000:.3f} ms CPU, {wall * 1000:.3f} ms wall per request")


def write_answers(path: Path, handler, token: str, urls: dict[str, str]) -> None:
    """Status, headers and body of many query shapes, errors included (bench/request_shapes)."""
    base = urls["page1"].split("?")[0]
    queries = [*(url.split("?", 1)[1] for url in urls.values()), *SHAPES]
    answers = []
    for query in queries:
        status, headers, body = wsgi_get(handler, f"{base}?{query}", token)
        kept = [(k, v) for k, v in headers if k not in ("Date", "Expires")]
        answers.append({"query": query, "status": status, "headers": kept, "body": body.decode()})
    path.write_text(json.dumps(answers, indent=1))


SHAPES = [
    "",
    "limit=0",
    "limit=5&offset=10",
    "limit=3&sort=-transaction_amount",
    "limit=3&sort=client_name,-client_id",
    "client_name=like:client 1&limit=4",
    "client_id=in:1,2,3&limit=2&count=exact",
    "client_id=gt:59990&count=exact",
    "transaction_date=gte:2024-06-01&limit=2",
    "nosuch=1",
    "sort=nosuch",
    "limit=abc",
    "limit=100000",
    "cursor=garbage",
    "cursor=garbage&offset=3",
    "client_id=between:1",
    "format=ndjson&limit=2&client_id=eq:3",
    "format=csv&client_id=eq:3",
    "q=client&limit=2",
]


if __name__ == "__main__":
    main()
