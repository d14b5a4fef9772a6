"""Serving figures: csvhub's rows API against Datasette (SQLite) and pgbench (PostgreSQL).

    .venv/bin/python bench/serve.py --rows 1000000

Real HTTP with a real Bearer token: `csvhub serve` (gunicorn, 8 threads, as shipped: 2 processes
unless --workers says otherwise)
on a fresh data directory, the generated CSV (bench/generate.py) uploaded through the API and
client_id indexed through the API. Then, for each request kind, interleaved rounds of
`wrk -t2 -c8` (a small Python load generator with the same shape when wrk is missing):

  page1     page 1, 100 rows, with the count (unfiltered: from metadata on both sides)
  filtered  client_id >= 500, sorted by client_id (indexed), 100 rows, no count
  count     the unfiltered count alone (a 1-row page: metadata on both sides)
  deep      the cursor page after row 900,000 (90 % of --rows) of the filtered, sorted query

SQLite: Datasette serves the very warehouse file csvhub loaded (immutable, checkpointed), from
its own venv (bench/out/datasette-venv, made on first use: Datasette is no csvhub dependency).
Target: csvhub >= 1.5x Datasette's req/s on every kind.

PostgreSQL: the SQL csvhub runs for each kind (caught in the server with a SQLAlchemy event in
a `csvhub shell`, with its values inlined) runs in pgbench with the same clients (-c8 -j2,
simple protocol: the SQL holds literal colons, which pgbench's other modes take for variables).
Target: csvhub >= 10 % of pgbench's tps.

DuckDB (--only duckdb, or not skipped): csvhub on a DuckDB warehouse against csvhub on SQLite,
both serving the same CSV loaded through the API, same requests. Targets: page 1 and the deep
cursor page within 2x of SQLite's req/s (>= 0.5x); the aggregate (group by client_name, count
and sum) and the monthly time series, one client, median latency <= 150 ms on DuckDB.

The load of the machine (1-minute load average) is printed with every figure: this is a shared
2-core machine, and only figures from the same interleaved run compare.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from shutil import which
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest
from generate import OUT_DIR, ensure_csv

from csvhub.jobs.management.commands.serve import DEFAULT_WORKERS

DATASETTE_VENV = OUT_DIR / "datasette-venv"
DATASETTE_REQUIREMENT = "datasette==0.65.*"
# Its own database: the test suite empties its database of dataset tables (the default
# CSVHUB_TEST_POSTGRES_URL, `test`), which dropped the bench's table under a run of pgbench.
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/csvhub_bench_serve"
KINDS = ("page1", "filtered", "count", "deep")
FILTER_FROM = 500
SQLITE_TARGET = 1.5
DUCKDB_TARGET = 0.5  # of SQLite's req/s: "within 2x"
DUCKDB_ANALYSIS_MS = 150
ANALYSIS_QUERIES = {
    "aggregate": "type=aggregate&group_by=client_name&metrics=count,sum:transaction_amount"
    "&limit=10000",
    "timeseries": "type=timeseries&column=transaction_date&bucket=month"
    "&metric=sum:transaction_amount",
}
PG_TARGET = 0.10


@dataclass(frozen=True)
class Target:
    """One request kind as one URL, with what it needs sent along."""

    url: str
    headers: dict[str, str]


@dataclass
class Figure:
    kind: str
    label: str
    per_second: list[float]
    loads: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.per_second)

    def line(self) -> str:
        runs = ", ".join(f"{value:,.0f}" for value in self.per_second)
        loads = ", ".join(f"{value:.1f}" for value in self.loads)
        return (
            f"   {self.kind:<9} {self.label:<22} {self.median:9,.0f}/s  (runs {runs}; load {loads})"
        )


# --- load generation ----------------------------------------------------------------------------


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def requests_per_second(target: Target, seconds: float, clients: int) -> float:
    """Throughput of `clients` keep-alive clients for `seconds`: wrk when present."""
    if which("wrk"):
        return _wrk(target, seconds, clients)
    return _python_load(target, seconds, clients)


def _wrk(target: Target, seconds: float, clients: int) -> float:
    headers = [arg for key, value in target.headers.items() for arg in ("-H", f"{key}: {value}")]
    command = ["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", *headers, target.url]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    if "Non-2xx or 3xx responses" in done.stdout:
        sample = requests.get(target.url, headers=target.headers, timeout=60)
        raise ingest.BenchFailed(
            f"{target.url} answered errors under load:\n{done.stdout}\n"
            f"a request now: {sample.status_code} {sample.text[:500]}"
        )
    found = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if found is None:
        raise ingest.BenchFailed(f"no Requests/sec in wrk's output:\n{done.stdout}")
    return float(found.group(1))


def _python_load(target: Target, seconds: float, clients: int) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        with requests.Session() as session:
            session.headers.update(target.headers)
            while time.monotonic() < stop:
                session.get(target.url, timeout=60).raise_for_status()
                done[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def interleaved(
    contenders: dict[str, Callable[[], float]], rounds: int, kind: str
) -> dict[str, Figure]:
    """Each contender once per round, the order alternating, so drifting load hits both."""
    figures = {label: Figure(kind, label, [], []) for label in contenders}
    for round_number in range(rounds):
        order = list(contenders) if round_number % 2 == 0 else list(reversed(contenders))
        for label in order:
            load = load_average()
            figures[label].per_second.append(contenders[label]())
            figures[label].loads.append(load)
    return figures


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x  target >= {target:g}x {'ok' if ratio >= target else 'MISSED'}"


# --- csvhub -------------------------------------------------------------------------------------


@contextmanager
def csvhub_serving(
    csv_path: Path, rows: int, warehouse_url: str | None, workers: int | None = None
) -> Iterator[tuple]:
    """A running csvhub (`csvhub serve`, with `--workers` unless None: its default) with the
    CSV loaded and client_id indexed: (server, slug, workdir)."""
    with tempfile.TemporaryDirectory(prefix="csvhub-serve-bench-") as workdir:
        env = ingest._server_env(Path(workdir), warehouse_url)
        serve_args = () if workers is None else ("--workers", str(workers))
        with ingest._serving(env, Path(workdir), serve_args) as server:
            session = server.session()
            upload = ingest._upload(server, csv_path)
            upload = ingest._wait_for(session, upload["status_url"], timeout=120 + rows / 5_000)
            slug = upload["dataset"]
            try:
                _index(session, server.base_url, slug)
                yield server, slug, Path(workdir), env
            finally:
                ingest._delete_dataset(session, server.base_url, slug)


def _index(session: requests.Session, base_url: str, slug: str) -> None:
    url = f"{base_url}/api/v1/datasets/{slug}/indexes/"
    session.post(url, json={"columns": ["client_id"]}, timeout=600).raise_for_status()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        indexes = session.get(url, timeout=30).json()
        # The build is queued: the list is empty until its task starts (an empty list was
        # once taken for "ready", and the figures that followed competed with the build).
        if indexes and all(index["status"] == "ready" for index in indexes):
            return
        time.sleep(0.5)
    raise ingest.BenchFailed(f"client_id index not ready: {indexes}")


def csvhub_targets(server: ingest.Server, slug: str, deep_row: int) -> dict[str, Target]:
    rows_url = f"{server.base_url}/api/v1/datasets/{slug}/rows/"
    headers = {"Authorization": f"Bearer {server.token}"}
    filtered = {"client_id": f"gte:{FILTER_FROM}", "sort": "client_id", "count": "none"}
    return {
        "page1": Target(f"{rows_url}?limit=100", headers),
        "filtered": Target(f"{rows_url}?{urlencode(filtered)}&limit=100", headers),
        "count": Target(f"{rows_url}?limit=1", headers),
        "deep": Target(_deep_cursor_url(server, rows_url, filtered, deep_row), headers),
    }


def _deep_cursor_url(server: ingest.Server, rows_url: str, query: dict, deep_row: int) -> str:
    """The `next` link after the first `deep_row` rows, reached by following cursors (an
    offset that deep runs past the read timeout); then with 100 rows a page."""
    url = f"{rows_url}?{urlencode({**query, 'limit': 1000})}"
    session = server.session()
    for _ in range(deep_row // 1000):
        response = session.get(url, timeout=600)
        response.raise_for_status()
        url = response.json()["next"]
    return url.replace("limit=1000", "limit=100")


# --- Datasette ----------------------------------------------------------------------------------


def datasette_python() -> Path:
    """Datasette's own venv under bench/out, made on first use (never a csvhub dependency)."""
    python = DATASETTE_VENV / "bin" / "python"
    if not (DATASETTE_VENV / "READY").exists():
        venv.create(DATASETTE_VENV, with_pip=True, clear=True)
        pip = [str(python), "-m", "pip", "install", "-q", DATASETTE_REQUIREMENT]
        subprocess.run(pip, check=True)
        (DATASETTE_VENV / "READY").touch()
    return python


@contextmanager
def datasette_serving(database: Path) -> Iterator[str]:
    """Datasette on `database`, immutable (as a published file is served) with its table
    counts from `datasette inspect`, as csvhub's come from its metadata: its base URL."""
    port = ingest._free_port()
    counts = database.with_name("datasette-inspect.json")
    inspect = [str(datasette_python()), "-m", "datasette", "inspect", str(database)]
    subprocess.run([*inspect, "--inspect-file", str(counts)], check=True, timeout=3600)
    command = [
        str(datasette_python()),
        "-m",
        "datasette",
        "serve",
        "-i",
        str(database),
        "--inspect-file",
        str(counts),
        "--port",
        str(port),
        "--setting",
        "suggest_facets",
        "off",
        "--setting",
        "default_page_size",
        "100",
        # Its 1 s default turns slow answers on a loaded machine into errors, not figures.
        "--setting",
        "sql_time_limit_ms",
        "20000",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}/-/versions.json", process)
        yield base_url
    finally:
        ingest._stop(process)


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise ingest.BenchFailed(f"{url} did not come up")


def datasette_targets(
    base_url: str, database: Path, table: str, deep_row: int
) -> dict[str, Target]:
    table_url = f"{base_url}/{database.stem}/{table}.json"
    filtered = {
        "client_id__gte": FILTER_FROM,
        "_sort": "client_id",
        "_nocount": 1,
        "_size": 100,
        "_shape": "objects",
    }
    deep = {**filtered, "_next": _datasette_next(database, table, deep_row)}
    return {
        "page1": Target(f"{table_url}?_size=100&_shape=objects", {}),
        "filtered": Target(f"{table_url}?{urlencode(filtered)}", {}),
        "count": Target(f"{table_url}?_size=1&_shape=objects", {}),
        "deep": Target(f"{table_url}?{urlencode(deep)}", {}),
    }


def _datasette_next(database: Path, table: str, deep_row: int) -> str:
    """Datasette's `_next` token for the page after the first `deep_row` rows: the sort value
    and rowid of the last row before it."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        value, rowid = connection.execute(
            f'SELECT client_id, rowid FROM "{table}" WHERE client_id >= ? '
            "ORDER BY client_id, rowid LIMIT 1 OFFSET ?",
            (FILTER_FROM, deep_row - 1),
        ).fetchone()
    return f"{value},{rowid}"


def datasette_plan(database: Path, table: str) -> str:
    """SQLite's plan for the filtered, sorted SQL Datasette runs (printed with the figures)."""
    sql = f'SELECT * FROM "{table}" WHERE "client_id" >= ? ORDER BY client_id LIMIT 101'
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}", (FILTER_FROM,)).fetchall()
    return "; ".join(row[-1] for row in plan)


def checkpoint(database: Path) -> None:
    """Fold the WAL into the file: an immutable reader would not see what is left in it."""
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- pgbench ------------------------------------------------------------------------------------

_CAPTURE_CODE = """
import json
from sqlalchemy import event
from psycopg import ClientCursor
from csvhub.accounts.models import Organization
from csvhub.datasets import rows, selectors
from csvhub.datasets.rowquery import parse_row_query
from csvhub.warehouse.engine import get_engine

engine = get_engine()
caught = []

@event.listens_for(engine, "before_cursor_execute")
def catch(conn, cursor, statement, parameters, context, executemany):
    caught.append(ClientCursor(cursor.connection).mogrify(statement, parameters))

dataset = selectors.dataset_find(organization=Organization.objects.get(slug="bench"), slug=SLUG)
out = {}
for kind, params in QUERIES.items():
    caught.clear()
    rows.rows_page(dataset=dataset, query=parse_row_query(params, accept=""))
    pages = [sql for sql in caught if "SELECT" in sql.upper() and "set_config" not in sql]
    out[kind] = pages[-1]
print("SQL=" + json.dumps(out))
"""


def csvhub_sql(env: dict[str, str], slug: str, targets: dict[str, Target]) -> dict[str, str]:
    """The SQL csvhub runs for each kind, values inlined, caught inside a `csvhub shell`."""
    queries = {kind: _query_pairs(target.url) for kind, target in targets.items()}
    code = f"SLUG = {slug!r}\nQUERIES = {queries!r}\n{_CAPTURE_CODE}"
    output = ingest._csvhub(env, "shell", "--no-imports", "-c", code)
    for line in output.splitlines():
        if line.startswith("SQL="):
            return json.loads(line.removeprefix("SQL="))
    raise ingest.BenchFailed(f"no SQL in the shell's output:\n{output}")


def _query_pairs(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def ensure_database(url: str) -> None:
    """Create the bench's PostgreSQL database when it is missing."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pgbench_tps(pg_url: str, sql: str, seconds: float, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(sql.replace("\n", " ") + ";\n")
        script.flush()
        # pgbench reads `:word` as a variable even inside string literals ('HH24:MI:SS'): each
        # is defined as itself, which only the simple protocol substitutes as plain text.
        words = sorted(set(re.findall(r"(?<!:):([A-Za-z_]\w*)", sql)))
        defines = [arg for word in words for arg in ("-D", f"{word}=:{word}")]
        command = ["pgbench", "-n", "-M", "simple", *defines, "-f", script.name]
        command += ["-c", str(clients), "-j", "2", "-T", str(int(seconds)), pg_url]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ingest.BenchFailed(f"pgbench failed: {done.stderr}")
    found = re.search(r"tps = ([\d.]+)", done.stdout)
    if found is None:
        raise ingest.BenchFailed(f"no tps in pgbench's output:\n{done.stdout}")
    return float(found.group(1))


# --- the runs -----------------------------------------------------------------------------------


def run_sqlite(csv_path: Path, args: argparse.Namespace, deep_row: int) -> None:
    print(f"\nSQLite warehouse, {args.rows:,} rows: csvhub vs Datasette on the same file")
    with csvhub_serving(csv_path, args.rows, None, args.workers) as (server, slug, workdir, _e):
        database = workdir / "data" / "warehouse.sqlite3"
        wal = database.with_name(database.name + "-wal")
        print(f"   WAL after the load and index: {_size_mb(wal)}")
        checkpoint(database)
        table = _only_table(database)
        mine = csvhub_targets(server, slug, deep_row)
        print(f"   Datasette's filtered SQL is planned as: {datasette_plan(database, table)}")
        with datasette_serving(database) as base_url:
            theirs = datasette_targets(base_url, database, table, deep_row)
            for kind in KINDS:
                _check_same_rows(mine[kind], theirs[kind])
                figures = interleaved(
                    {
                        "csvhub": _runner(mine[kind], args),
                        "Datasette": _runner(theirs[kind], args),
                    },
                    args.rounds,
                    kind,
                )
                _report(figures["csvhub"], figures["Datasette"], SQLITE_TARGET)


def run_postgres(csv_path: Path, args: argparse.Namespace, deep_row: int) -> None:
    print(f"\nPostgreSQL warehouse, {args.rows:,} rows: csvhub vs pgbench, same SQL, same clients")
    ensure_database(args.pg_url)
    serving = csvhub_serving(csv_path, args.rows, args.pg_url, args.workers)
    with serving as (server, slug, _workdir, env):
        mine = csvhub_targets(server, slug, deep_row)
        statements = csvhub_sql(env, slug, mine)
        for kind in KINDS:
            print(f"   {kind} SQL: {statements[kind][:160]}")
            figures = interleaved(
                {
                    "csvhub": _runner(mine[kind], args),
                    "pgbench": lambda sql=statements[kind]: pgbench_tps(
                        args.pg_url, sql, args.seconds, args.clients
                    ),
                },
                args.rounds,
                kind,
            )
            _report(figures["csvhub"], figures["pgbench"], PG_TARGET)


def run_duckdb(csv_path: Path, args: argparse.Namespace, deep_row: int) -> None:
    if args.analysis_only:
        run_duckdb_analysis(csv_path, args)
        return
    print(f"\nDuckDB warehouse, {args.rows:,} rows: csvhub on DuckDB vs csvhub on SQLite")
    with (
        csvhub_serving(csv_path, args.rows, None) as (lite, lite_slug, _w1, _e1),
        csvhub_serving(csv_path, args.rows, ingest.DUCKDB_IN_DATA_DIR) as (duck, slug, _w2, _e2),
    ):
        theirs = csvhub_targets(lite, lite_slug, deep_row)
        mine = csvhub_targets(duck, slug, deep_row)
        for kind in ("page1", "deep"):
            _check_same_rows(mine[kind], theirs[kind])
            figures = interleaved(
                {"DuckDB": _runner(mine[kind], args), "SQLite": _runner(theirs[kind], args)},
                args.rounds,
                kind,
            )
            _report(figures["DuckDB"], figures["SQLite"], DUCKDB_TARGET)
        for kind, query in ANALYSIS_QUERIES.items():
            duck_ms = analysis_ms(duck, slug, query, args.analysis_repeat)
            lite_ms = analysis_ms(lite, lite_slug, query, max(args.analysis_repeat // 5, 1))
            verdict_text = "ok" if duck_ms <= DUCKDB_ANALYSIS_MS else "MISSED"
            print(
                f"   {kind:<11} DuckDB {duck_ms:8.1f} ms  SQLite {lite_ms:8.1f} ms  "
                f"(median, one client; load {load_average():.1f})  "
                f"target <= {DUCKDB_ANALYSIS_MS} ms {verdict_text}"
            )


def run_duckdb_analysis(csv_path: Path, args: argparse.Namespace) -> None:
    """The analysis requests alone on a DuckDB warehouse (no SQLite, no row pages): the 10M
    figures, where loading SQLite and following 9M rows of cursors takes hours on this machine."""
    print(f"\nDuckDB warehouse, {args.rows:,} rows: analysis requests, one client")
    with csvhub_serving(csv_path, args.rows, ingest.DUCKDB_IN_DATA_DIR) as (duck, slug, _w, _e):
        for kind, query in ANALYSIS_QUERIES.items():
            duck_ms = analysis_ms(duck, slug, query, args.analysis_repeat)
            verdict_text = "ok" if duck_ms <= DUCKDB_ANALYSIS_MS else "MISSED"
            print(
                f"   {kind:<11} DuckDB {duck_ms:8.1f} ms (median of {args.analysis_repeat}; "
                f"load {load_average():.1f})  target <= {DUCKDB_ANALYSIS_MS} ms {verdict_text}"
            )


def analysis_ms(server: ingest.Server, slug: str, query: str, repeat: int) -> float:
    """Median latency of the analysis request, one client, after one warm-up request."""
    session = server.session()
    url = f"{server.base_url}/api/v1/datasets/{slug}/analysis/?{query}"
    times = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        response = session.get(url, timeout=600)
        response.raise_for_status()
        if attempt:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _runner(target: Target, args: argparse.Namespace) -> Callable[[], float]:
    return lambda: requests_per_second(target, args.seconds, args.clients)


def _report(mine: Figure, theirs: Figure, target: float) -> None:
    print(mine.line())
    print(theirs.line())
    print(f"   {'':<9} ratio {verdict(mine.median / theirs.median, target)}")


def _check_same_rows(mine: Target, theirs: Target) -> None:
    """Both sides answer the same rows (by client_id), so the figures compare like with like."""
    ours = requests.get(mine.url, headers=mine.headers, timeout=60).json()["rows"]
    other = requests.get(theirs.url, headers=theirs.headers, timeout=60).json()["rows"]
    if [row["client_id"] for row in ours] != [row["client_id"] for row in other]:
        raise ingest.BenchFailed(f"csvhub and Datasette disagree on {mine.url} / {theirs.url}")


def _only_table(database: Path) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        names = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ds_%'"
            )
        ]
    if len(names) != 1:
        raise ingest.BenchFailed(f"expected one dataset table in {database}, found {names}")
    return names[0]


def _size_mb(path: Path) -> str:
    return f"{path.stat().st_size / 1024**2:,.1f} MB" if path.exists() else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10, help="per run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved runs per contender")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="made when missing")
    parser.add_argument(
        "--skip", choices=("sqlite", "postgres", "duckdb"), action="append", default=[]
    )
    parser.add_argument(
        "--only", choices=("sqlite", "postgres", "duckdb"), help="run this comparison alone"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="csvhub's worker processes on SQLite and PostgreSQL (default: what `csvhub serve` "
        f"ships, {DEFAULT_WORKERS})",
    )
    parser.add_argument("--analysis-repeat", type=int, default=20)
    parser.add_argument(
        "--analysis-only", action="store_true", help="DuckDB: the analysis requests alone"
    )
    args = parser.parse_args()
    csv_path = ensure_csv(args.rows)
    deep_row = args.rows * 9 // 10
    print(f"{os.cpu_count()} CPUs, load {Path('/proc/loadavg').read_text().strip()}")
    print(
        f"load generator: {'wrk -t2' if which('wrk') else 'Python threads'}, {args.clients} "
        f"connections, {args.seconds:g} s per run, {args.rounds} interleaved rounds; "
        f"csvhub with {args.workers or DEFAULT_WORKERS} worker process(es) on SQLite and PostgreSQL"
    )
    runs = {"sqlite": run_sqlite, "postgres": run_postgres, "duckdb": run_duckdb}
    for name, run in runs.items():
        if name not in args.skip and args.only in (None, name):
            run(csv_path, args, deep_row)


if __name__ == "__main__":
    main()
