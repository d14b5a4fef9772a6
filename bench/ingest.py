"""Ingestion figures: csvhub end to end against plain loaders, measured in the same run.

    .venv/bin/python bench/ingest.py --rows 1000000

For a generated seed-like CSV (bench/generate.py, cached under bench/out/) it measures:

  A  `psql -c "\\copy t FROM file CSV HEADER"` into a fresh table of the five columns typed as
     csvhub types them (uuid, timestamptz, numeric, bigint, text; issue 18's baseline);
     csvhub on a PostgreSQL warehouse, end to end: from the start of the HTTP upload until the
     upload's state is `succeeded`, the dataset queryable and typed. Target: >= 0.5x A.
  B  Python's sqlite3 executemany of the csv.reader rows into a fresh file, one transaction;
     csvhub on the SQLite warehouse, end to end. Target: >= 0.5x B.
  C  `mariadb -e "LOAD DATA LOCAL INFILE file ..."` into a fresh table of 5 TEXT columns on the
     MariaDB/MySQL server of --mysql-url; csvhub on that warehouse, end to end. Target: >= 0.5x C.
  D  DuckDB's own `read_csv` of the file into a fresh table of the five typed columns (VARCHAR,
     TIMESTAMPTZ, DECIMAL(19, 2), BIGINT, VARCHAR), in a fresh database file, all threads;
     csvhub on a DuckDB warehouse (duckdb:///...), end to end. Target: >= 0.5x D.

Each end-to-end run starts `csvhub serve` (gunicorn, one worker process, jobs on threads in it)
on a free loopback port with a fresh data directory, uploads with `curl -F file=@PATH` (streamed
from disk), polls the upload's status_url every 0.2 s, then checks the dataset's row count and
column types and reads the peak RSS (VmHWM) of the gunicorn worker. Target: < 300 MB at 10M rows.

Ratios are printed against the baselines; missing a target does not fail the run (figures are
not tests). The exit status is non-zero when a load fails or its result is wrong.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ensure_csv

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/csvhub_test"
WAREHOUSES = ("postgres", "sqlite", "mysql", "duckdb")
POLL_SECONDS = 0.2
EXPECTED_TYPES = {
    "transaction_id": "text",
    "transaction_date": "timestamp",
    "transaction_amount": "decimal",
    "client_id": "integer",
    "client_name": "text",
}
RATIO_TARGET = 0.5
# The DuckDB warehouse of a server, in its data directory ({data} is filled by _server_env).
DUCKDB_IN_DATA_DIR = "duckdb:///{data}/warehouse.duckdb"
RSS_TARGET_MB = 300


class BenchFailed(Exception):
    """The pipeline (or a baseline) did not do its job; the figures would mean nothing."""


@dataclass
class Figure:
    label: str
    seconds: float
    rows: int
    baseline: Figure | None = None
    rss_mb: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.rows_per_second / self.baseline.rows_per_second


# --- baselines ----------------------------------------------------------------------------------


# Baseline A's table: the types a user who knows the file would give it.
PSQL_TYPES = {
    "transaction_id": "uuid",
    "transaction_date": "timestamptz",
    "transaction_amount": "numeric",
    "client_id": "bigint",
    "client_name": "text",
}


def psql_copy(path: Path, rows: int, pg_url: str) -> Figure:
    """Baseline A: psql's client-side \\copy into a fresh table of typed columns."""
    table = f"bench_copy_{os.getpid()}_{secrets.token_hex(3)}"
    columns = ", ".join(f"{name} {kind}" for name, kind in PSQL_TYPES.items())
    _psql(pg_url, f"CREATE TABLE {table} ({columns})")
    try:
        started = time.perf_counter()
        _psql(pg_url, f"\\copy {table} FROM '{path}' CSV HEADER")
        seconds = time.perf_counter() - started
        loaded = int(_psql(pg_url, f"SELECT count(*) FROM {table}", tuples=True))
    finally:
        _psql(pg_url, f"DROP TABLE IF EXISTS {table}")
    _expect(loaded == rows, f"psql \\copy loaded {loaded:,} rows, expected {rows:,}")
    return Figure("A  psql \\copy, 5 typed columns", seconds, rows)


def _psql(pg_url: str, command: str, *, tuples: bool = False) -> str:
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg_url, "-c", command]
    if tuples:
        args[1:1] = ["-A", "-t"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BenchFailed(f"psql {command!r} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def mariadb_load_data(path: Path, rows: int, mysql_url: str) -> Figure:
    """Baseline C: the mariadb client's LOAD DATA LOCAL INFILE into a fresh 5-TEXT-column
    table (the server parses the CSV; csvhub's load sends it typed, escaped text)."""
    table = f"bench_load_{secrets.token_hex(4)}"
    columns = ", ".join(f"{c} TEXT" for c in EXPECTED_TYPES)
    _mariadb(mysql_url, f"CREATE TABLE {table} ({columns}) ENGINE=InnoDB CHARSET=utf8mb4")
    try:
        started = time.perf_counter()
        _mariadb(
            mysql_url,
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            "LINES TERMINATED BY '\\n' IGNORE 1 LINES",
        )
        seconds = time.perf_counter() - started
        loaded = int(_mariadb(mysql_url, f"SELECT count(*) FROM {table}"))
    finally:
        _mariadb(mysql_url, f"DROP TABLE IF EXISTS {table}")
    _expect(loaded == rows, f"LOAD DATA loaded {loaded:,} rows, expected {rows:,}")
    return Figure("C  mariadb LOAD DATA LOCAL, 5 TEXT", seconds, rows)


def _mariadb(mysql_url: str, command: str) -> str:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(mysql_url)
    args = [
        "mariadb",
        "--local-infile=1",
        "-N",
        "-B",
        f"-h{parts.hostname or '127.0.0.1'}",
        f"-P{parts.port or 3306}",
        f"-u{unquote(parts.username or 'root')}",
        *([f"-p{unquote(parts.password)}"] if parts.password else []),
        parts.path.lstrip("/"),
        "-e",
        command,
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchFailed(f"mariadb {command!r} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def sqlite_executemany(path: Path, rows: int, workdir: Path) -> Figure:
    """Baseline B: csv.reader rows, executemany into a fresh file DB, one transaction."""
    database = workdir / "baseline.sqlite3"
    columns = list(EXPECTED_TYPES)
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        started = time.perf_counter()
        connection.execute(f"CREATE TABLE t ({', '.join(f'{c} TEXT' for c in columns)})")
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.reader(file)
            next(reader)
            connection.execute("BEGIN")
            insert = f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})"
            connection.executemany(insert, reader)
            connection.execute("COMMIT")
        seconds = time.perf_counter() - started
        (loaded,) = connection.execute("SELECT count(*) FROM t").fetchone()
    finally:
        connection.close()
        database.unlink(missing_ok=True)
    _expect(loaded == rows, f"sqlite3 executemany loaded {loaded:,} rows, expected {rows:,}")
    return Figure("B  sqlite3 executemany, 5 TEXT columns", seconds, rows)


def duckdb_read_csv(path: Path, rows: int, workdir: Path) -> Figure:
    """Baseline D: DuckDB's read_csv into typed columns of a fresh database file."""
    import duckdb

    database = workdir / "baseline.duckdb"
    columns = {
        "transaction_id": "VARCHAR",
        "transaction_date": "TIMESTAMPTZ",
        "transaction_amount": "DECIMAL(19, 2)",
        "client_id": "BIGINT",
        "client_name": "VARCHAR",
    }
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    connection = duckdb.connect(str(database), config=config)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        started = time.perf_counter()
        connection.execute(
            "CREATE TABLE t AS SELECT * FROM read_csv(?, header = true, columns = "
            + "{"
            + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
            + "})",
            [str(path)],
        )
        connection.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
        (loaded,) = connection.execute("SELECT count(*) FROM t").fetchone()
    finally:
        connection.close()
        database.unlink(missing_ok=True)
    _expect(loaded == rows, f"DuckDB read_csv loaded {loaded:,} rows, expected {rows:,}")
    return Figure("D  DuckDB read_csv, 5 typed columns", seconds, rows)


# --- csvhub end to end --------------------------------------------------------------------------


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    token: str
    log: Path

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def csvhub_end_to_end(
    path: Path, rows: int, *, label: str, warehouse_url: str | None, baseline: Figure
) -> Figure:
    with tempfile.TemporaryDirectory(prefix="csvhub-bench-") as workdir:
        env = _server_env(Path(workdir), warehouse_url)
        with _serving(env, Path(workdir)) as server:
            try:
                return _measure(server, path, rows, label=label, baseline=baseline)
            except BenchFailed:
                _print_log_tail(server.log)
                raise


def _measure(server: Server, path: Path, rows: int, *, label: str, baseline: Figure) -> Figure:
    session = server.session()
    started = time.perf_counter()
    upload = _upload(server, path)
    uploaded = time.perf_counter() - started
    try:
        with _ReaderPeak(server.process.pid) as reader_peak:
            upload = _wait_for(session, upload["status_url"], timeout=120 + rows / 5_000)
        seconds = time.perf_counter() - started
        rss_mb = _worker_peak_rss_mb(server.process.pid)
        _verify(session, server.base_url, upload, rows, path)
    finally:
        # The warehouse table (on PostgreSQL) outlives the server's temp dir otherwise.
        _delete_dataset(session, server.base_url, upload["dataset"])
    rss_mb = max(rss_mb, reader_peak.mb)
    figure = Figure(label, seconds, rows, baseline=baseline, rss_mb=rss_mb)
    figure.notes.append(_breakdown(upload, uploaded))
    figure.notes.append(
        f"peak RSS: worker {_worker_peak_rss_mb(server.process.pid):,.0f} MB, "
        f"reader child (csvhub.csvread.child) {reader_peak.mb:,.0f} MB"
        if reader_peak.mb
        else "no reader child seen (file under CSVHUB_CHILD_READER_MIN_BYTES)"
    )
    return figure


class _ReaderPeak:
    """Samples the VmHWM of the workers' own children (the reader child), which exit before
    the upload is reported finished."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _ReaderPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            with suppress(OSError):
                for worker in _children(self.server_pid):
                    for child in _children(worker):
                        self.mb = max(self.mb, (_vm_hwm_kb(child) or 0) / 1024)


def _server_env(workdir: Path, warehouse_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSVHUB_")}
    env.update(
        CSVHUB_DATA_DIR=str(workdir / "data"),
        CSVHUB_UPLOAD_TEMP_DIR=str(workdir),
        CSVHUB_TASK_RUNNER="thread",
        CSVHUB_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="csvhub.settings",
    )
    if warehouse_url:
        env["CSVHUB_WAREHOUSE_URL"] = warehouse_url.replace("{data}", str(workdir / "data"))
    # The one setting passed through: `CSVHUB_LOAD_WHILE_ARRIVING=true bench/ingest.py ...`
    # measures loads that start while their upload arrives (off by default).
    if "CSVHUB_LOAD_WHILE_ARRIVING" in os.environ:
        env["CSVHUB_LOAD_WHILE_ARRIVING"] = os.environ["CSVHUB_LOAD_WHILE_ARRIVING"]
    return env


@contextmanager
def _serving(
    env: dict[str, str], workdir: Path, serve_args: tuple[str, ...] = ()
) -> Iterator[Server]:
    """`csvhub serve` (with `serve_args`) in its own process group, with an admin and an API
    token; killed on exit."""
    _csvhub(env, "migrate", "--verbosity", "0")
    password = secrets.token_urlsafe(16)
    # `--password=…`: a generated password may start with "-", which argparse would take for
    # an option (1 run in 64).
    _csvhub(env, "createadmin", "--org", "bench", "--username", "bench", f"--password={password}")
    token = _token_create(env)
    port = _free_port()
    log = workdir / "serve.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "csvhub", "serve", "--host", "127.0.0.1"),
                *("--port", str(port), *serve_args),
            ],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        server = Server(f"http://127.0.0.1:{port}", process, token, log)
        _wait_ready(server)
        yield server
    finally:
        _stop(process)


def _csvhub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "csvhub", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise BenchFailed(f"csvhub {args[0]} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


_TOKEN_CODE = """
from django.contrib.auth import get_user_model
from csvhub.accounts.models import Organization, Role
from csvhub.accounts.services import token_create
created = token_create(
    organization=Organization.objects.get(slug="bench"),
    user=get_user_model().objects.get(username="bench"),
    name="bench", role=Role.ADMIN,
)
print("TOKEN=" + created.text)
"""


def _token_create(env: dict[str, str]) -> str:
    """An admin API token for the bench user, made with the accounts service in a `shell`."""
    output = _csvhub(env, "shell", "--no-imports", "-c", _TOKEN_CODE)
    for line in output.splitlines():
        if line.startswith("TOKEN="):
            return line.removeprefix("TOKEN=")
    raise BenchFailed(f"no token in the shell's output:\n{output}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if requests.get(f"{server.base_url}/readyz", timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or its first warehouse connection still opening
        time.sleep(0.1)
    _print_log_tail(server.log)
    raise BenchFailed("csvhub serve did not become ready")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left of it after 10 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker may outlive the arbiter
    process.wait()


def _upload(server: Server, path: Path) -> dict:
    """POST the file with curl, which streams it from disk; answers the first upload object."""
    done = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--fail-with-body",
            "-H",
            f"Authorization: Bearer {server.token}",
            "-H",
            "Expect:",  # no 100-continue round trip
            "-F",
            f"file=@{path};type=text/csv",
            f"{server.base_url}/api/v1/uploads/",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise BenchFailed(f"upload failed (curl {done.returncode}): {done.stderr}{done.stdout}")
    uploads = json.loads(done.stdout)
    _expect(len(uploads) == 1, f"expected one upload object, got {done.stdout}")
    return uploads[0]


def _wait_for(session: requests.Session, status_url: str, *, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = session.get(status_url, timeout=30)
        response.raise_for_status()
        upload = response.json()
        if upload["state"] == "succeeded":
            return upload
        if upload["state"] == "failed":
            raise BenchFailed(f"upload failed: {upload['error']!r}\n{json.dumps(upload, indent=1)}")
        time.sleep(POLL_SECONDS)
    raise BenchFailed(f"upload not finished after {timeout:.0f} s: {upload}")


def _verify(session: requests.Session, base_url: str, upload: dict, rows: int, path: Path) -> None:
    _expect(upload["rows_loaded"] == rows, f"rows_loaded {upload['rows_loaded']:,} != {rows:,}")
    _expect(upload["rows_rejected"] == 0, f"rows_rejected {upload['rows_rejected']:,} != 0")
    response = session.get(f"{base_url}/api/v1/datasets/{upload['dataset']}/", timeout=30)
    response.raise_for_status()
    dataset = response.json()
    _expect(dataset["row_count"] == rows, f"dataset row_count {dataset['row_count']:,} != {rows:,}")
    types = {column["name"]: column["type"] for column in dataset["columns"]}
    _expect(types == EXPECTED_TYPES, f"column types {types} != {EXPECTED_TYPES}")
    _verify_values(session, base_url, upload["dataset"], path)


def _verify_values(session: requests.Session, base_url: str, slug: str, path: Path) -> None:
    """The first rows read back through the rows API equal the file's, value for value."""
    count = 200
    url = f"{base_url}/api/v1/datasets/{slug}/rows/?limit={count}"
    response = session.get(url, timeout=60)
    response.raise_for_status()
    stored = [_normalized(row) for row in response.json()["rows"]]
    with open(path, newline="", encoding="utf-8") as file:
        written = [_normalized(dict(row)) for row in islice(csv.DictReader(file), count)]
    for line, (got, want) in enumerate(zip(stored, written, strict=False), start=2):
        _expect(got == want, f"line {line}: stored {got} != written {want}")
    _expect(len(stored) == len(written), f"rows API gave {len(stored)} rows, expected {count}")


def _normalized(row: dict) -> tuple:
    """Values compared by meaning: the API answers 20.6 for 20.60 and ISO 8601 with Z."""
    when = datetime.fromisoformat(str(row["transaction_date"]).replace("Z", "+00:00"))
    return (
        row["transaction_id"],
        when.replace(tzinfo=None) if when.utcoffset() in (None, timedelta(0)) else when,
        Decimal(str(row["transaction_amount"])),
        int(row["client_id"]),
        row["client_name"],
    )


def _delete_dataset(session: requests.Session, base_url: str, slug: str) -> None:
    """Delete the dataset and its warehouse table."""
    response = session.delete(f"{base_url}/api/v1/datasets/{slug}/", timeout=600)
    if response.status_code != 204:
        print(f"warning: DELETE dataset {slug} answered {response.status_code}", file=sys.stderr)


def _worker_peak_rss_mb(server_pid: int) -> float:
    """Largest VmHWM among the gunicorn workers (the serve process's children)."""
    peaks = [_vm_hwm_kb(pid) for pid in _children(server_pid)]
    peaks = [kb for kb in peaks if kb is not None]
    _expect(bool(peaks), f"no gunicorn worker found under pid {server_pid}")
    return max(peaks) / 1024


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def _breakdown(upload: dict, uploaded_seconds: float) -> str:
    """Where the time went, from the server's own timestamps."""
    created = datetime.fromisoformat(upload["created_at"])
    started = datetime.fromisoformat(upload["started_at"])
    finished = datetime.fromisoformat(upload["finished_at"])
    return (
        f"HTTP upload (curl) {uploaded_seconds:.1f} s; "
        f"queued {(started - created).total_seconds():.1f} s; "
        f"ingest job {(finished - started).total_seconds():.1f} s"
    )


def _print_log_tail(log: Path, lines: int = 40) -> None:
    if log.exists():
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- last lines of {log.name} ---", *tail, "---", sep="\n", file=sys.stderr)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailed(message)


# --- report -------------------------------------------------------------------------------------


def report(figures: list[Figure], path: Path, rows: int, started_load: float) -> str:
    size_mb = path.stat().st_size / 1e6
    lines = [
        f"csvhub ingestion, {rows:,} rows, {size_mb:,.0f} MB ({path.name}); "
        f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, {platform.platform()}",
        f"load average at start {started_load:.1f}, at end {os.getloadavg()[0]:.1f} "
        "(other work on the machine skews the figures, the ratios less so)",
        "",
        f"{'measurement':<40} {'seconds':>8} {'rows/s':>10}  {'ratio vs baseline':<26} "
        f"{'peak RSS (worker)':<30}",
    ]
    for figure in figures:
        lines.append(
            f"{figure.label:<40} {figure.seconds:>8.2f} {figure.rows_per_second:>10,.0f}  "
            f"{_ratio_text(figure):<26} {_rss_text(figure, size_mb):<30}"
        )
        lines += [f"{'':<43}{note}" for note in figure.notes]
    return "\n".join(lines)


def _ratio_text(figure: Figure) -> str:
    if figure.ratio is None:
        return "baseline"
    verdict = "met" if figure.ratio >= RATIO_TARGET else "MISSED"
    letter = figure.baseline.label.split()[0]
    return f"{figure.ratio:.2f}x {letter} (>= {RATIO_TARGET}: {verdict})"


def _rss_text(figure: Figure, size_mb: float) -> str:
    if figure.rss_mb is None:
        return ""
    verdict = "met" if figure.rss_mb < RSS_TARGET_MB else "MISSED"
    share = figure.rss_mb / size_mb
    return f"{figure.rss_mb:,.0f} MB = {share:.2f}x file (< {RSS_TARGET_MB} MB: {verdict})"


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"default: {DEFAULT_PG_URL}")
    parser.add_argument(
        "--mysql-url", default=DEFAULT_MYSQL_URL, help=f"default: {DEFAULT_MYSQL_URL}"
    )
    parser.add_argument(
        "--warehouses",
        "--warehouse",
        default="postgres,sqlite",
        help="comma-separated subset of postgres,sqlite,mysql,duckdb",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each baseline and csvhub pair this many times, interleaved; report medians",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    warehouses = set(args.warehouses.split(","))
    if not warehouses or not warehouses <= set(WAREHOUSES):
        parser.error("--warehouses takes postgres, sqlite, mysql, duckdb or a comma-separated mix")
    # SIGTERM unwinds like Ctrl-C, so the servers and temp dirs are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    path = ensure_csv(args.rows)
    started_load = os.getloadavg()[0]
    figures: list[Figure] = []
    failed = False
    for name in WAREHOUSES:
        if name not in warehouses:
            continue
        url = args.mysql_url if name == "mysql" else args.pg_url
        try:
            runs = [_pair(name, path, args.rows, url) for _ in range(args.repeat)]
            figures += _medians(runs)
        except BenchFailed as exc:
            failed = True
            print(f"FAILED ({name}): {exc}", file=sys.stderr)
    if figures:
        print(report(figures, path, args.rows, started_load))
    return 1 if failed else 0


def _pair(name: str, path: Path, rows: int, url: str) -> tuple[Figure, Figure]:
    """The baseline and csvhub's end-to-end figure on one warehouse (`url`: its server)."""
    if name == "postgres":
        baseline = psql_copy(path, rows, url)
        label, warehouse_url = "   csvhub -> PostgreSQL, end to end", url
    elif name == "mysql":
        baseline = mariadb_load_data(path, rows, url)
        label, warehouse_url = "   csvhub -> MariaDB, end to end", url
    elif name == "duckdb":
        with tempfile.TemporaryDirectory(prefix="csvhub-bench-") as workdir:
            baseline = duckdb_read_csv(path, rows, Path(workdir))
        # The file lives in the server's fresh data directory (see _server_env).
        label, warehouse_url = "   csvhub -> DuckDB, end to end", DUCKDB_IN_DATA_DIR
    else:
        with tempfile.TemporaryDirectory(prefix="csvhub-bench-") as workdir:
            baseline = sqlite_executemany(path, rows, Path(workdir))
        label, warehouse_url = "   csvhub -> SQLite, end to end", None
    print(f"{baseline.label.strip()}: {baseline.seconds:.2f} s", file=sys.stderr)
    figure = csvhub_end_to_end(
        path, rows, label=label, warehouse_url=warehouse_url, baseline=baseline
    )
    print(f"{figure.label.strip()}: {figure.seconds:.2f} s", file=sys.stderr)
    return baseline, figure


def _medians(runs: list[tuple[Figure, Figure]]) -> list[Figure]:
    """The median baseline and median csvhub run; the ratio of medians; every run's ratio."""
    if len(runs) == 1:
        return list(runs[0])
    baseline = _median([baseline for baseline, _ in runs])
    figure = _median([figure for _, figure in runs])
    ratios = ", ".join(f"{f.ratio:.2f}" for _, f in runs)
    summary = Figure(figure.label, figure.seconds, figure.rows, baseline=baseline)
    summary.rss_mb = max(f.rss_mb or 0 for _, f in runs)
    summary.notes = [
        f"median of {len(runs)} interleaved runs; ratio in each run: {ratios}; "
        "peak RSS: the largest of the runs",
        *(f"median run: {note}" for note in figure.notes),
    ]
    return [baseline, summary]


def _median(figures: list[Figure]) -> Figure:
    return sorted(figures, key=lambda f: f.seconds)[len(figures) // 2]


if __name__ == "__main__":
    sys.exit(main())
