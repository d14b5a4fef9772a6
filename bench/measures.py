"""Measures figures: JSON appends through csvhub's API against plain psycopg, in the same run.

    .venv/bin/python bench/measures.py [--pg-url URL] [--batches 5] [--singles 300] [--rules 20]
        [--runner thread|celery] [--broker-url redis://127.0.0.1:6379/N] [--evaluation-delay S]
        [--metadata-pg-url URL]

`csvhub serve` (gunicorn, as shipped; bench/ingest.py starts it; with
`--runner celery`, also one `csvhub worker` on --broker-url) on a fresh data directory, a
PostgreSQL warehouse (--pg-url), the embedded SQLite metadata database (or, with
--metadata-pg-url, a PostgreSQL one: a database made for the run on that server and dropped
after it), an organization admin's real API token, and:

  throughput  10,000-row JSON batches (sensor, time, temperature, humidity) POSTed to
              /api/v1/datasets/measures/rows/, rows/s from sending the body to the 201, against
              psycopg inserting the same rows (Python tuples) into a plain table of the same
              types and a bigint key in one transaction: COPY (the fastest way), and
              executemany. Rounds alternate. Target: csvhub >= 0.5x COPY.
  latency     single-row appends, one after the other (the sensor case), p50 and p99, on a
              dataset without alarm rules and, with --rules N, on one with N rules made with
              POST /api/v1/datasets/{slug}/alarms/ (skipped when that endpoint does not answer
              201). Blocks of 50 appends (--block) to one dataset, then to the other, in
              turns; the ruled dataset's evaluations are waited for after each of its blocks,
              so that none runs during the plain appends. Target: p50 and p99 with rules
              <= 1.1x. Evaluations are sent when a dataset's commits pause (or every max
              delay): with blocks that outlast the max delay (e.g. --block 300), a steady
              stream, the ruled appends meet evaluations.

The 1-minute load average is printed: this is a shared machine, only ratios within one run
compare. Figures are not tests: missing a target does not fail the run; a wrong row count does.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest

BATCH_ROWS = 10_000
THROUGHPUT_TARGET = 0.5
LATENCY_TARGET = 1.1
LATENCY_BLOCK = 50
BASELINE_TABLE = "bench_measures_baseline"
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Measure:
    sensor: str
    at: datetime
    temperature: Decimal
    humidity: int

    def to_json(self) -> dict[str, object]:
        return {
            "sensor": self.sensor,
            "time": self.at.isoformat().replace("+00:00", "Z"),
            # A JSON number, written with its two decimals (csvhub keeps the digits as sent).
            "temperature": float(self.temperature),
            "humidity": self.humidity,
        }


def measures(count: int, offset: int) -> list[Measure]:
    return [
        Measure(
            sensor=f"s{(offset + i) % 50:02d}",
            at=START + timedelta(seconds=offset + i),
            temperature=Decimal(15_00 + (offset + i) * 37 % 2_000) / 100,
            humidity=(offset + i) * 7 % 100,
        )
        for i in range(count)
    ]


def json_body(rows: list[Measure]) -> bytes:
    return json.dumps([row.to_json() for row in rows]).encode()


# --- the baseline: psycopg ----------------------------------------------------------------------


def baseline_seconds(pg_url: str, rows: list[Measure], *, copy: bool) -> float:
    """Seconds psycopg takes to insert `rows` into a fresh plain table, in one transaction."""
    values = [(i, r.sensor, r.at, r.temperature, r.humidity) for i, r in enumerate(rows, 1)]
    with psycopg.connect(pg_url) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
        connection.execute(
            f"CREATE TABLE {BASELINE_TABLE} (id bigint PRIMARY KEY, sensor text, "
            "at timestamptz, temperature numeric(19, 2), humidity bigint)"
        )
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if copy:
                with cursor.copy(f"COPY {BASELINE_TABLE} FROM STDIN") as stream:
                    for value in values:
                        stream.write_row(value)
            else:
                cursor.executemany(
                    f"INSERT INTO {BASELINE_TABLE} VALUES (%s, %s, %s, %s, %s)", values
                )
        connection.commit()
        seconds = time.perf_counter() - started
        connection.execute(f"DROP TABLE {BASELINE_TABLE}")
    return seconds


# --- csvhub --------------------------------------------------------------------------------------


@contextmanager
def csvhub_serving(
    pg_url: str,
    runner: str,
    broker_url: str,
    evaluation_delay: float | None,
    metadata_pg_url: str | None,
    server_settings: dict[str, str] | None = None,
) -> Iterator[ingest.Server]:
    with (
        tempfile.TemporaryDirectory(prefix="csvhub-bench-") as workdir,
        _metadata(metadata_pg_url) as database_url,
    ):
        env = ingest._server_env(Path(workdir), pg_url)
        env.update(CSVHUB_TASK_RUNNER=runner, CSVHUB_BROKER_URL=broker_url)
        if evaluation_delay is not None:
            env["CSVHUB_ALARM_EVALUATION_DELAY_SECONDS"] = str(evaluation_delay)
        if database_url is not None:
            env["CSVHUB_DATABASE_URL"] = database_url
        env.update(server_settings or {})
        with ingest._serving(env, Path(workdir)) as server:
            worker = _worker(env) if runner == "celery" else None
            try:
                yield server
            finally:
                if worker is not None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()


@contextmanager
def _metadata(server_url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database for csvhub's metadata on the server of `server_url`
    (dropped after the run); None: the embedded SQLite one in the data directory."""
    if server_url is None:
        yield None
        return
    name = f"csvhub_bench_metadata_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _with_database(url: str, name: str) -> str:
    """`url` (postgresql://user@host:port/db?options, the database optional) naming the
    database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """One `csvhub worker` (Celery, one process) on the server's data directory and broker."""
    return subprocess.Popen(
        [sys.executable, "-m", "csvhub", "worker", "--concurrency=1"],
        cwd=ingest.REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its pool processes go with it (killpg above)
    )


class Dataset:
    def __init__(self, server: ingest.Server, name: str) -> None:
        self.session = server.session()
        self.base_url = server.base_url
        created = self.session.post(f"{self.base_url}/api/v1/datasets/", json={"name": name})
        created.raise_for_status()
        self.slug = created.json()["slug"]
        self.rows_url = f"{self.base_url}/api/v1/datasets/{self.slug}/rows/"

    def append(self, body: bytes) -> dict:
        # A send on a keep-alive connection the server had closed (gunicorn drops one idle
        # for 2 s) fails before the server reads it: sent again once, on a new connection.
        headers = {"Content-Type": "application/json"}
        try:
            response = self.session.post(self.rows_url, data=body, headers=headers, timeout=300)
        except requests.ConnectionError:
            response = self.session.post(self.rows_url, data=body, headers=headers, timeout=300)
        if response.status_code != 201:
            raise ingest.BenchFailed(f"append answered {response.status_code}: {response.text}")
        return response.json()

    def row_count(self) -> int:
        detail = self.session.get(f"{self.base_url}/api/v1/datasets/{self.slug}/")
        detail.raise_for_status()
        return int(detail.json()["row_count"])

    def delete(self) -> None:
        self.session.delete(f"{self.base_url}/api/v1/datasets/{self.slug}/")

    def wait_evaluated(self, row_id: int, timeout: float = 300) -> None:
        """Until every rule of the dataset has evaluated the rows up to `row_id`."""
        url = f"{self.base_url}/api/v1/datasets/{self.slug}/alarms/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = self.session.get(url, params={"limit": 1000})
            listed.raise_for_status()
            body = listed.json()
            rules = body["results"] if isinstance(body, dict) else body
            if all((rule["last_evaluated_row_id"] or 0) >= row_id for rule in rules):
                return
            time.sleep(0.05)
        raise ingest.BenchFailed(f"rules had not evaluated row {row_id} after {timeout} s")

    def add_rules(self, count: int) -> str | None:
        """Make `count` alarm rules; None when done, else why not (no alarms endpoint)."""
        url = f"{self.base_url}/api/v1/datasets/{self.slug}/alarms/"
        for index in range(count):
            rule = {
                "name": f"hot {index}",
                "column": "temperature",
                "upper": 30 + index,
                "group_by": "sensor",
                "recipients": ["ops@example.com"],
            }
            response = self.session.post(url, json=rule)
            if response.status_code != 201:
                return f"POST …/alarms/ answered {response.status_code}: {response.text[:200]}"
        return None


# --- the runs ---------------------------------------------------------------------------------


def throughput(server: ingest.Server, pg_url: str, batches: int) -> None:
    dataset = Dataset(server, "measures")
    try:
        dataset.append(json_body(measures(10, 0)))  # the dataset's columns, from JSON
        csvhub, copy, many = [], [], []
        for batch in range(batches):
            rows = measures(BATCH_ROWS, 10 + batch * BATCH_ROWS)
            body = json_body(rows)
            started = time.perf_counter()
            answer = dataset.append(body)
            csvhub.append(BATCH_ROWS / (time.perf_counter() - started))
            if answer["rows_appended"] != BATCH_ROWS or answer["type_changes"]:
                raise ingest.BenchFailed(f"unexpected answer: {answer}")
            copy.append(BATCH_ROWS / baseline_seconds(pg_url, rows, copy=True))
            many.append(BATCH_ROWS / baseline_seconds(pg_url, rows, copy=False))
        expected = 10 + batches * BATCH_ROWS
        if dataset.row_count() != expected:
            raise ingest.BenchFailed(f"row count {dataset.row_count()}, expected {expected}")
    finally:
        dataset.delete()
    csvhub_rate, copy_rate, many_rate = map(statistics.median, (csvhub, copy, many))
    ratio = csvhub_rate / copy_rate
    print(f"throughput, {batches} batches of {BATCH_ROWS:,} rows (medians), load {_load()}")
    print(f"  psycopg COPY, one transaction         {copy_rate:>10,.0f} rows/s   baseline")
    print(
        f"  psycopg executemany, one transaction  {many_rate:>10,.0f} rows/s   "
        f"{many_rate / copy_rate:.2f}x COPY"
    )
    print(
        f"  csvhub POST …/rows/ (JSON over HTTP)  {csvhub_rate:>10,.0f} rows/s   "
        f"{ratio:.2f}x COPY (>= {THROUGHPUT_TARGET}: "
        f"{'met' if ratio >= THROUGHPUT_TARGET else 'MISSED'}), "
        f"{csvhub_rate / many_rate:.2f}x executemany"
    )


def latency(server: ingest.Server, singles: int, rules: int, block: int = LATENCY_BLOCK) -> None:
    plain = Dataset(server, "plain")
    ruled = Dataset(server, "ruled") if rules else None
    try:
        for dataset in filter(None, (plain, ruled)):
            dataset.append(json_body(measures(10, 0)))
        why_not = ruled.add_rules(rules) if ruled else None
        if why_not:
            print(f"  {rules} alarm rules: skipped ({why_not})")
            ruled = None
        times: dict[str, list[float]] = {"plain": [], "ruled": []}
        # Blocks of one dataset's appends, in turns: a sensor posts to one dataset, and the
        # evaluations a ruled append starts (in the server's process with the thread runner)
        # would otherwise run during the plain append that follows it and be counted there.
        # Between blocks, the ruled dataset's evaluations are waited for.
        for start in range(0, singles, block):
            count = min(block, singles - start)
            for name, dataset in (("plain", plain), ("ruled", ruled)):
                if dataset is None:
                    continue
                for index in range(start, start + count):
                    body = json.dumps(measures(1, 10 + index)[0].to_json()).encode()
                    started = time.perf_counter()
                    last = dataset.append(body)["row_ids"]["last"]
                    times[name].append((time.perf_counter() - started) * 1000)
                if name == "ruled":
                    dataset.wait_evaluated(last)
    finally:
        for dataset in filter(None, (plain, ruled)):
            dataset.delete()
    print(f"latency of single-row appends, {singles} each in blocks of {block}, load {_load()}")
    base = _percentiles(times["plain"])
    print(f"  no alarm rules        p50 {base[0]:6.1f} ms   p99 {base[1]:6.1f} ms")
    if times["ruled"]:
        with_rules = _percentiles(times["ruled"])
        ratios = [mine / theirs for mine, theirs in zip(with_rules, base, strict=True)]
        verdict = "met" if max(ratios) <= LATENCY_TARGET else "MISSED"
        print(
            f"  {rules} alarm rules  p50 {with_rules[0]:6.1f} ms   p99 {with_rules[1]:6.1f} ms"
            f"   {ratios[0]:.2f}x / {ratios[1]:.2f}x (<= {LATENCY_TARGET}: {verdict})"
        )


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CSVHUB_TEST_POSTGRES_URL", ingest.DEFAULT_PG_URL),
        help="the PostgreSQL warehouse (default: $CSVHUB_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--batches", type=int, default=5, help="10,000-row batches (default 5)")
    parser.add_argument("--singles", type=int, default=300, help="single-row appends timed")
    parser.add_argument("--rules", type=int, default=0, help="alarm rules on the second dataset")
    parser.add_argument(
        "--block",
        type=int,
        default=LATENCY_BLOCK,
        help=f"appends to one dataset before turning to the other (default {LATENCY_BLOCK}); "
        "a block that lasts longer than CSVHUB_ALARM_EVALUATION_MAX_DELAY_SECONDS is a "
        "steady stream, whose appends meet evaluations",
    )
    parser.add_argument(
        "--runner",
        choices=["thread", "celery"],
        default="thread",
        help="the job runner (default thread; celery starts one `csvhub worker`)",
    )
    parser.add_argument(
        "--broker-url", default="redis://127.0.0.1:6379/0", help="Celery's broker (--runner celery)"
    )
    parser.add_argument(
        "--evaluation-delay",
        type=float,
        default=None,
        help="CSVHUB_ALARM_EVALUATION_DELAY_SECONDS for the server (default: csvhub's)",
    )
    parser.add_argument(
        "--metadata-pg-url",
        default=None,
        help="a PostgreSQL server (URL with a database to connect to) where a metadata "
        "database is made for the run (default: the embedded SQLite one)",
    )
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a CSVHUB_ setting for the server (repeatable), "
        "e.g. CSVHUB_ALARM_EVALUATION_DELAY_SECONDS=1",
    )
    args = parser.parse_args()
    server_settings = dict(item.split("=", 1) for item in args.server_setting)
    print(
        f"csvhub JSON appends, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
        f"{args.runner} runner, evaluation delay "
        f"{'default' if args.evaluation_delay is None else args.evaluation_delay}, metadata "
        f"{'PostgreSQL' if args.metadata_pg_url else 'SQLite'}, "
        f"settings {server_settings or 'default'}"
    )
    try:
        with csvhub_serving(
            args.pg_url,
            args.runner,
            args.broker_url,
            args.evaluation_delay,
            args.metadata_pg_url,
            server_settings,
        ) as server:
            try:
                throughput(server, args.pg_url, args.batches)
                if args.singles:
                    latency(server, args.singles, args.rules, args.block)
            except ingest.BenchFailed:
                # The server's log goes with its data directory: show why it answered 500.
                print(server.log.read_text(errors="replace")[-4000:], file=sys.stderr)
                raise
    except ingest.BenchFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
