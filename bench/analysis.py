"""Analysis figures: O(1) answers at 10M rows, and aggregate SQL overhead against psql.

    .venv/bin/python bench/analysis.py --rows 10000000

Loads two generated seed-like datasets (bench/generate.py, cached under bench/out/) through the
real upload pipeline into a PostgreSQL warehouse, once: a small one (--small-rows, 10k) and a
big one (--rows). Their metadata lives in a data directory under bench/out/ and their tables in
the database of --pg-url (created if missing), so later runs reuse them (--reload starts over).
Then, in one run:

  A  row_count and time_span (no filters) through the API view (auth, organization, dataset
     lookup, answer, JSON) on the big dataset against the small one: median of --repeat calls
     each. Target: big within 2x of small, and under 10 ms.
  B  aggregate (group_by=client_name, metrics=count,sum:transaction_amount) through the API
     view on the big dataset against the very SQL it runs (compiled with its values inlined)
     run by `psql -c` with \\timing: median of --aggregate-repeat runs each, interleaved.
     Target: within 1.5x of psql.

  C  (--split) the time chart split by client_name (issue 19): one request with split=
     against what the page sent before, an aggregate for the 10 commonest values and one
     filtered timeseries per line (11 requests), each through the API view, interleaved,
     median of --aggregate-repeat. Target: the one request well under the eleven.

Figures are printed as ratios; missing a target does not fail the run (figures are not tests).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from generate import ensure_csv  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/csvhub_bench_analysis"
STATE_DIR = REPO / "bench" / "out" / "analysis-state"
ORG_SLUG = "bench-analysis"
AGGREGATE_QUERY = (
    "type=aggregate&group_by=client_name&metrics=count,sum:transaction_amount&limit=10000"
)
O1_QUERIES = ("type=row_count", "type=time_span")
SPLIT_SERIES = "type=timeseries&column=transaction_date&bucket=week"


def setup_django(pg_url: str) -> None:
    os.environ["CSVHUB_DATA_DIR"] = str(STATE_DIR)
    os.environ["CSVHUB_WAREHOUSE_URL"] = pg_url
    os.environ["CSVHUB_TASK_RUNNER"] = "immediate"  # ingestion finishes inside uploads_create
    os.environ.setdefault("CSVHUB_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def ensure_database(pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    server = pg_url.rsplit("/", 1)[0] + "/postgres"
    exists = _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'", tuples=True)
    if not exists:
        _psql(server, f'CREATE DATABASE "{name}"')


def _psql(pg_url: str, *commands: str, tuples: bool = False) -> str:
    args = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", pg_url]
    if tuples:
        args += ["-A", "-t"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


# -- datasets --------------------------------------------------------------------------------


def dataset_for(rows: int, *, reload: bool):
    """The loaded dataset of `rows` generated rows, loading it through the pipeline if needed."""
    from django.core.files import File

    from csvhub.accounts.models import Organization
    from csvhub.datasets import services
    from csvhub.datasets.models import Dataset
    from csvhub.warehouse.tables import table_exists

    organization, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench"})
    slug = f"transactions-{rows}"
    found = Dataset.objects.filter(organization=organization, slug=slug).first()
    if found is not None and (reload or not _complete(found, rows, table_exists)):
        services.dataset_delete(dataset=found)
        found = None
    if found is not None:
        return found
    path = ensure_csv(rows)
    print(f"loading {rows:,} rows from {path} (once; later runs reuse it) ...", file=sys.stderr)
    started = time.perf_counter()
    dataset = services.dataset_create(organization=organization, name=slug)
    with open(path, "rb") as stream:
        (upload,) = services.uploads_create(
            organization=organization, files=[File(stream, name=path.name)], dataset_slug=slug
        )
    upload.refresh_from_db()
    if upload.state != "succeeded":
        raise SystemExit(f"loading {path} failed: {upload.error}")
    print(f"  loaded in {time.perf_counter() - started:,.0f} s", file=sys.stderr)
    dataset.refresh_from_db()
    return dataset


def _complete(dataset, rows: int, table_exists: Callable) -> bool:
    return dataset.row_count == rows and table_exists(table_name=dataset.table_name)


# -- measuring -------------------------------------------------------------------------------


class ApiCaller:
    """Calls the analysis view in process, as a signed-in viewer: everything but the socket."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from rest_framework.test import APIRequestFactory, force_authenticate

        from csvhub.accounts.models import Membership, Organization
        from csvhub.datasets.analysis_apis import DatasetAnalysisApi

        organization = Organization.objects.get(slug=ORG_SLUG)
        self.user, _ = get_user_model().objects.get_or_create(username="bench-analysis")
        Membership.objects.get_or_create(
            user=self.user, organization=organization, defaults={"role": "viewer"}
        )
        self.factory = APIRequestFactory()
        self.force_authenticate = force_authenticate
        self.view = DatasetAnalysisApi.as_view()

    def __call__(self, slug: str, query: str) -> bytes:
        request = self.factory.get(f"/api/v1/datasets/{slug}/analysis/?{query}")
        self.force_authenticate(request, user=self.user)
        response = self.view(request, slug=slug)
        response.render()
        if response.status_code != 200:
            raise SystemExit(f"{query} answered {response.status_code}: {response.content!r}")
        return response.content


def timed_ms(call: Callable[[], object], repeat: int, warmup: int = 5) -> list[float]:
    """Milliseconds of each of `repeat` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def median_ms(call: Callable[[], object], repeat: int, warmup: int = 5) -> float:
    return statistics.median(timed_ms(call, repeat, warmup))


def psql_ms(pg_url: str, sql: str) -> float:
    output = _psql(pg_url, "\\timing on", sql, tuples=True)
    times = re.findall(r"^Time: ([0-9.]+) ms", output, flags=re.MULTILINE)
    if not times:
        raise SystemExit(f"psql printed no timing: {output[-500:]}")
    return float(times[-1])


def aggregate_sql(dataset) -> str:
    from urllib.parse import parse_qsl

    from csvhub.datasets import analysis

    query = analysis.parse_analysis_query(parse_qsl(AGGREGATE_QUERY))
    return analysis.analysis_aggregate_sql(dataset=dataset, query=query)


def split_requests(call: ApiCaller, slug: str) -> int:
    """What the dataset page sent for a split chart before split=: the top values, then one
    filtered time series per line (the empty cell's, and "other"'s too)."""
    import json
    from urllib.parse import quote

    top = json.loads(
        call(
            slug,
            "type=aggregate&group_by=client_name&metrics=count&sort=count:desc&limit=10",
        )
    )
    named = [row["client_name"] for row in top["rows"]]
    asks = ["client_name__isnull=" if v is None else f"client_name__eq={quote(v)}" for v in named]
    if top["truncated"]:
        values = json.dumps([v for v in named if v is not None])
        asks.append(f"client_name__notin={quote(values)}")
    for ask in asks:
        call(slug, f"{SPLIT_SERIES}&{ask}")
    return len(asks) + 1


def split_figures(call: ApiCaller, big, repeat: int) -> int:
    one_query = f"{SPLIT_SERIES}&split=client_name"
    requests = split_requests(call, big.slug)  # warm the cache for both
    call(big.slug, one_query)
    before, after = [], []
    for _ in range(repeat):
        before.append(median_ms(lambda: split_requests(call, big.slug), 1, warmup=0))
        after.append(median_ms(lambda: call(big.slug, one_query), 1, warmup=0))
    before_ms, after_ms = statistics.median(before), statistics.median(after)
    print(f"C  split chart on {big.row_count:,} rows ({SPLIT_SERIES}, by client_name)")
    print(f"   median of {repeat} runs each, interleaved; load {os.getloadavg()}")
    print(f"   before: {requests} requests          {before_ms:9.1f} ms")
    print(f"   after:  1 request with split=  {after_ms:9.1f} ms")
    print(f"   ratio {after_ms / before_ms:4.2f}x")
    return 0


# -- the run ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--pg-url", default=os.environ.get("CSVHUB_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--aggregate-repeat", type=int, default=7)
    parser.add_argument("--reload", action="store_true", help="load both datasets again")
    parser.add_argument("--split", action="store_true", help="only C: the split time chart")
    args = parser.parse_args()

    ensure_database(args.pg_url)
    setup_django(args.pg_url)
    small = dataset_for(args.small_rows, reload=args.reload)
    big = dataset_for(args.rows, reload=args.reload)
    call = ApiCaller()
    if args.split:
        return split_figures(call, big, args.aggregate_repeat)

    print(f"analysis figures, PostgreSQL warehouse {args.pg_url.rsplit('@', 1)[-1]}")
    print(f"datasets: {small.row_count:,} and {big.row_count:,} rows\n")
    print("A  no filters, through the API view; median of", args.repeat, "calls")
    for query in O1_QUERIES:
        small_ms = median_ms(lambda q=query: call(small.slug, q), args.repeat)
        big_ms = median_ms(lambda q=query: call(big.slug, q), args.repeat)
        verdict = "ok" if big_ms <= 2 * small_ms and big_ms < 10 else "MISSED"
        print(
            f"   {query:<16} {small.row_count:>11,} rows {small_ms:7.2f} ms   "
            f"{big.row_count:>11,} rows {big_ms:7.2f} ms   "
            f"ratio {big_ms / small_ms:4.2f}x (target <= 2x, < 10 ms) {verdict}"
        )

    sql = aggregate_sql(big)
    groups = len(_psql(args.pg_url, sql, tuples=True).splitlines())
    print(f"\nB  {AGGREGATE_QUERY}")
    print(
        f"   {big.row_count:,} rows, {groups:,} groups; "
        f"median of {args.aggregate_repeat} runs each, interleaved"
    )
    api_times, psql_times = [], []
    call(big.slug, AGGREGATE_QUERY)  # warm the cache for both
    for _ in range(args.aggregate_repeat):
        api_times.append(median_ms(lambda: call(big.slug, AGGREGATE_QUERY), 1, warmup=0))
        psql_times.append(psql_ms(args.pg_url, sql))
    api_ms, base_ms = statistics.median(api_times), statistics.median(psql_times)
    verdict = "ok" if api_ms <= 1.5 * base_ms else "MISSED"
    print(f"   psql -c (same SQL, \\timing)  {base_ms:9.1f} ms")
    print(f"   csvhub API view              {api_ms:9.1f} ms")
    print(f"   ratio {api_ms / base_ms:4.2f}x (target <= 1.5x) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
