"""Query figures on the 10M-row dataset: pages, cursors, counts, export, requests/s.

    .venv/bin/python bench/query.py

Reuses the datasets bench/analysis.py loaded (10M and 10k generated rows, metadata under
bench/out/analysis-state, tables in the PostgreSQL database of --pg-url); it loads them through
the pipeline only when they are missing. Then, in one run, each figure against a baseline
measured in the same run:

  1  page 1 of FILTERED (client_id=gt:500&sort=client_id:asc, index on client_id made through
     POST /api/v1/datasets/{slug}/indexes/), through the URL router, middleware and DRF view
     in process (rest_framework.test.APIClient, force_authenticate): median of --repeat calls.
     Target < 20 ms.
  2  a cursor page at depth 9,000,000 (the `next` of one `limit=8999900,100` page) against
     page 1, filtered+sorted and unfiltered (upload order). Target <= 1.5x. Also `limit=9000000,50`.
  3  unfiltered count (`?limit=0`) on 10M rows against 10k rows. Target <= 2x.
  4  full CSV export (`format=csv`) rows/s in a child process (VmHWM read from /proc) against
     `psql -c "\\copy (SELECT ...) TO STDOUT CSV" > /dev/null` on the same table. Target >= 0.5x,
     flat memory (the 10M export's peak against a 100k export's).
  5  requests/s of page 1 over HTTP: gunicorn -w 2 -k gthread --threads 4 under wrk
     (Bearer token), --wrk-seconds each.

Figures are printed, not asserted: missing a target does not fail the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from analysis import (  # noqa: E402
    DEFAULT_PG_URL,
    ORG_SLUG,
    STATE_DIR,
    dataset_for,
    ensure_database,
    median_ms,
    setup_django,
    timed_ms,
)

FILTERED = "client_id=gt:500&sort=client_id:asc"
INDEX_COLUMNS = ["client_id"]
DEPTH = 9_000_000
PAGE = 100
MID_ROWS = 100_000  # figure 4's memory baseline: the peak of a 100k-row export
USER = "bench-query"


def status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) if match else -1


class Api:
    """GET through the whole Django stack (URLs, middleware, DRF), in process, as an editor."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from rest_framework.test import APIClient

        from csvhub.accounts.models import Membership, Organization

        organization = Organization.objects.get(slug=ORG_SLUG)
        self.user, _ = get_user_model().objects.get_or_create(username=USER)
        Membership.objects.update_or_create(
            user=self.user, organization=organization, defaults={"role": "editor"}
        )
        self.client = APIClient(SERVER_NAME="localhost")
        self.client.force_authenticate(user=self.user)

    def get(self, url: str):
        response = self.client.get(url)
        if response.status_code != 200:
            raise SystemExit(
                f"GET {url} answered {response.status_code}: {response.content[:300]!r}"
            )
        return response

    def rows(self, slug: str, query: str) -> dict:
        return json.loads(self.get(f"/api/v1/datasets/{slug}/rows/?{query}").content)


def ensure_index(api: Api, slug: str) -> None:
    url = f"/api/v1/datasets/{slug}/indexes/"
    started = time.perf_counter()
    response = api.client.post(url, {"columns": INDEX_COLUMNS}, format="json")
    if response.status_code not in (200, 201, 202):
        raise SystemExit(f"POST {url} answered {response.status_code}: {response.content!r}")
    while True:
        listed = json.loads(api.get(url).content)
        found = [i for i in listed if i["columns"] == INDEX_COLUMNS]
        if found and found[0]["status"] == "ready":
            break
        if found and found[0]["status"] == "failed":
            raise SystemExit(f"index on {INDEX_COLUMNS} failed")
        time.sleep(1)
    took = time.perf_counter() - started
    print(
        f"   index on {INDEX_COLUMNS}: POST answered {response.status_code}, ready ({took:.1f} s)"
    )


def cursor_query(api: Api, slug: str, base: str) -> tuple[str, float]:
    """The query string of the cursor page starting at row DEPTH, and the offset page's ms."""
    sep = "&" if base else ""
    started = time.perf_counter()
    page = api.rows(slug, f"{base}{sep}limit={DEPTH - PAGE},{PAGE}")
    took = (time.perf_counter() - started) * 1000
    if not page["next"]:
        raise SystemExit(f"no next page at depth {DEPTH:,} for {base!r}")
    return page["next"].split("?", 1)[1], took


# -- export child -----------------------------------------------------------------------------


def export_child(slug: str) -> None:
    """Runs in its own process: export every row as CSV through the view, print the figures."""
    api = Api()
    rss_before = status_kb("VmRSS")
    started = time.perf_counter()
    response = api.client.get(f"/api/v1/datasets/{slug}/rows/?format=csv")
    if response.status_code != 200:
        raise SystemExit(f"export answered {response.status_code}")
    size = lines = 0
    with open(os.devnull, "wb") as sink:
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
            sink.write(chunk)
    response.close()
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "bytes": size,
                "rows": lines - 1,
                "rss_before_kb": rss_before,
                "hwm_kb": status_kb("VmHWM"),
            }
        )
    )


def run_export(slug: str, pg_url: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--pg-url", pg_url, "--export-child", slug],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"export child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def psql_copy_seconds(pg_url: str, dataset) -> float:
    names = ", ".join(dataset.schema.names)
    sql = f"\\copy (SELECT {names} FROM {dataset.table_name} ORDER BY _row_id) TO STDOUT CSV HEADER"
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["psql", "-X", "-d", pg_url, "-c", sql], stdout=sink, check=True)
    return time.perf_counter() - started


# -- HTTP -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_figures(slug: str, queries: list[tuple[str, str]], seconds: int) -> None:
    from csvhub.accounts.models import Organization, Role
    from csvhub.accounts.services import token_create

    wrk = shutil.which("wrk")
    if wrk is None:
        print("   wrk is not installed (apt-get install -y wrk): skipped")
        return
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    organization = Organization.objects.get(slug=ORG_SLUG)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=USER)
    created = token_create(
        organization=organization, user=user, name="bench-query wrk", role=Role.VIEWER
    )
    port = free_port()
    command = [
        gunicorn, "csvhub.wsgi", "-w", "2", "-k", "gthread", "--threads", "4",
        "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=REPO, env=os.environ.copy())
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {created.text}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"{base}/api/v1/datasets/{slug}/rows/?limit=1", headers=headers
                )
                with urllib.request.urlopen(request, timeout=10) as answer:
                    answer.read()
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not answer within 60 s: {error}") from None
                time.sleep(0.5)
        print(f"   {' '.join(command[1:])}")
        print(f"   wrk -t2 -c8 -d{seconds}s --latency -H 'Authorization: Bearer ...' URL")
        width = max(len(label) for label, _ in queries)
        for label, query in queries:
            url = f"{base}/api/v1/datasets/{slug}/rows/?{query}"
            for _ in range(20):  # warm both workers' caches
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as a:
                    a.read()
            done = subprocess.run(
                [wrk, "-t2", "-c8", f"-d{seconds}s", "--latency", "-H",
                 f"Authorization: Bearer {created.text}", url],
                capture_output=True, text=True, timeout=seconds + 60,
            )  # fmt: skip
            out = done.stdout
            rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
            pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(
                f"   {label:<{width}} {float(rps.group(1)) if rps else float('nan'):8.1f} req/s   "
                f"p50 {pct.get('50', '?')}  p90 {pct.get('90', '?')}  p99 {pct.get('99', '?')}"
                + (f"   NON-2xx: {errors.group(1)}" if errors else "")
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        created.token.delete()


# -- the run ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--pg-url", default=os.environ.get("CSVHUB_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--offset-repeat", type=int, default=3)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--skip", default="", help="comma list of figures to skip: 1..5")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    skip = set(args.skip.split(","))

    if args.export_child:
        setup_django(args.pg_url)
        export_child(args.export_child)
        return 0

    ensure_database(args.pg_url)
    setup_django(args.pg_url)
    print(f"state {STATE_DIR.relative_to(REPO)}, warehouse {args.pg_url.rsplit('@', 1)[-1]}")
    small = dataset_for(args.small_rows, reload=False)
    big = dataset_for(args.rows, reload=False)
    # Loaded before any figure, so that a failing load stops the run before minutes of work.
    mid = dataset_for(MID_ROWS, reload=False) if "4" not in skip else None
    api = Api()
    print(f"datasets: {big.slug} {big.row_count:,} rows, {small.slug} {small.row_count:,} rows")
    ensure_index(api, big.slug)
    page1_query = f"{FILTERED}&limit={PAGE}"

    if "1" not in skip:
        print(f"\n1  page 1: {page1_query}; in-process APIClient, median of {args.repeat}")
        page1 = median_ms(lambda: api.rows(big.slug, page1_query), args.repeat)
        first = api.rows(big.slug, page1_query)
        print(
            f"   {page1:7.2f} ms  (count {first['count']:,}, capped {first['count_capped']}) "
            f"target < 20 ms {verdict(page1 < 20)}"
        )

    if "2" not in skip:
        print(f"\n2  cursor page at depth {DEPTH:,} vs page 1; median of {args.repeat} each")
        for label, base in (("filtered+sorted", FILTERED), ("unfiltered (upload order)", "")):
            sep = "&" if base else ""
            first_q = f"{base}{sep}limit={PAGE}"
            deep_q, offset_once = cursor_query(api, big.slug, base)
            deep_page = api.rows(big.slug, deep_q)
            one = median_ms(lambda q=first_q: api.rows(big.slug, q), args.repeat)
            deep = median_ms(lambda q=deep_q: api.rows(big.slug, q), args.repeat)
            print(
                f"   {label:<26} page 1 {one:7.2f} ms   cursor@9M {deep:7.2f} ms   "
                f"ratio {deep / one:4.2f}x (target <= 1.5x) {verdict(deep <= 1.5 * one)}"
                f"   [first row at depth: {json.dumps(deep_page['rows'][0])[:90]}...]"
            )
            offset_q = f"{base}{sep}limit={DEPTH},50"
            offset_pages: list[dict] = []
            offsets = timed_ms(
                lambda q=offset_q, kept=offset_pages: kept.append(api.rows(big.slug, q)),
                args.offset_repeat,
                0,
            )
            # The cursor page and the offset page both start at row DEPTH: the same row.
            same = offset_pages[-1]["rows"][0] == deep_page["rows"][0]
            print(
                f"   {'':<26} offset limit={DEPTH},50: median {statistics.median(offsets):,.0f} ms "
                f"of {args.offset_repeat} ({offsets[0]:,.0f} ms first; finding the cursor with "
                f"limit={DEPTH - PAGE},{PAGE} took {offset_once:,.0f} ms once); "
                f"same first row as the cursor page: {'yes' if same else 'NO'}"
            )

    if "3" not in skip:
        print(f"\n3  unfiltered count (?limit=0); median of {args.repeat * 4} each")
        small_ms = median_ms(lambda: api.rows(small.slug, "limit=0"), args.repeat * 4)
        big_ms = median_ms(lambda: api.rows(big.slug, "limit=0"), args.repeat * 4)
        print(
            f"   {small.row_count:>11,} rows {small_ms:6.2f} ms   {big.row_count:>11,} rows "
            f"{big_ms:6.2f} ms   ratio {big_ms / small_ms:4.2f}x (target <= 2x) "
            f"{verdict(big_ms <= 2 * small_ms)}   count={api.rows(big.slug, 'limit=0')['count']:,}"
        )

    if "4" not in skip:
        print("\n4  full CSV export (format=csv) in a child process vs psql \\copy > /dev/null")
        assert mid is not None
        base_s = psql_copy_seconds(args.pg_url, big)
        small_export = run_export(mid.slug, args.pg_url)
        export = run_export(big.slug, args.pg_url)
        base_s2 = psql_copy_seconds(args.pg_url, big)
        base_s = min(base_s, base_s2)
        rows_s = export["rows"] / export["seconds"]
        base_rows_s = big.row_count / base_s
        print(f"   psql \\copy (best of 2)   {base_s:6.1f} s  {base_rows_s:12,.0f} rows/s")
        print(
            f"   csvhub format=csv        {export['seconds']:6.1f} s  {rows_s:12,.0f} rows/s  "
            f"({export['rows']:,} rows, {export['bytes'] / 1e6:,.0f} MB)   ratio "
            f"{rows_s / base_rows_s:4.2f}x (target >= 0.5x) {verdict(rows_s >= 0.5 * base_rows_s)}"
        )
        for label, figures in (("100k-row export", small_export), ("10M-row export", export)):
            print(
                f"   {label:<16} child RSS before {figures['rss_before_kb'] / 1024:6.1f} MB, "
                f"peak (VmHWM) {figures['hwm_kb'] / 1024:6.1f} MB"
            )

    if "5" not in skip:
        print("\n5  requests/s over HTTP, page-1 queries")
        http_figures(
            big.slug,
            [
                (f"{page1_query}", page1_query),
                (f"limit={PAGE} (unfiltered)", f"limit={PAGE}"),
            ],
            args.wrk_seconds,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
