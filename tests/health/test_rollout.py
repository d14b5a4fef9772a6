"""Zero-downtime rollout on a real gunicorn server (the image's configuration, three workers):
requests keep succeeding across a graceful reload (HUP) and a worker restart, TERM drains
(/readyz says 503 while the server still answers, then it exits cleanly), and an upload whose
worker was killed mid-load is finished by another worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import _drop_dataset_tables
from tests.services import POSTGRES_URL, require
from tests.serving import Server, live_server

pytestmark = pytest.mark.postgres


@pytest.fixture
def warehouse_url() -> str:
    """PostgreSQL, as in production: SQLite's one writer at a time is not what this measures."""
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    _drop_dataset_tables(POSTGRES_URL)
    yield POSTGRES_URL
    _drop_dataset_tables(POSTGRES_URL)


@pytest.fixture
def server(request, tmp_path, warehouse_url) -> Server:
    # Tests may ask for more settings with @pytest.mark.server_env(NAME="value").
    marker = request.node.get_closest_marker("server_env")
    yield from live_server(
        tmp_path,
        workers=3,
        CSVHUB_JOB_STALE_SECONDS="5",
        CSVHUB_WAREHOUSE_URL=warehouse_url,
        **(marker.kwargs if marker else {}),
    )


class Load:
    """Clients that read rows pages and upload small files until stopped, recording every
    answer (status code, or the exception's name when the request itself failed)."""

    def __init__(self, server: Server, slug: str, clients: int = 4) -> None:
        self.server = server
        self.slug = slug
        self.outcomes: Counter[str] = Counter()
        self.uploads: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def done(self) -> int:
        return sum(self.outcomes.values())

    def wait_for(self, requests: int) -> None:
        self.server.wait_until(lambda: self.done >= requests, timeout=120)

    def _run(self, client: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                outcome = self._upload(client, n) if n % 4 == 0 else self._page(n)
            except Exception as exc:  # the load records failures; the test asserts on them
                outcome = type(exc).__name__
            with self._lock:
                self.outcomes[outcome] += 1

    def _page(self, n: int) -> str:
        status, _ = self.server.request(
            f"/api/v1/datasets/{self.slug}/rows/?limit={n % 7},5", timeout=30
        )
        return str(status)

    def _upload(self, client: int, n: int) -> str:
        content = f"client,n\n{client},{n}\n".encode()
        made = self.server.upload(f"load-{client}-{n}.csv", content)
        with self._lock:
            self.uploads.append(made["id"])
        return "202"


def _state(server: Server, upload_id: str) -> dict:
    status, body = server.request(f"/api/v1/uploads/{upload_id}/")
    assert status == 200, body
    return json.loads(body)


def _all_succeeded(server: Server, upload_ids: list[str]) -> None:
    def finished() -> bool:
        return all(_state(server, u)["state"] in ("succeeded", "failed") for u in upload_ids)

    server.wait_until(finished, timeout=120)
    assert {_state(server, u)["state"] for u in upload_ids} == {"succeeded"}


def _dataset(server: Server) -> str:
    made = server.upload("base.csv", ("n\n" + "".join(f"{i}\n" for i in range(100))).encode())
    _all_succeeded(server, [made["id"]])
    return made["dataset"]


def _new_generation(server: Server, old: set[int]) -> None:
    server.wait_until(
        lambda: len(server.worker_pids()) == 3 and not old & set(server.worker_pids()),
        timeout=90,
    )


def test_no_request_fails_across_a_graceful_reload_and_a_worker_restart(server):
    slug = _dataset(server)
    with Load(server, slug) as load:
        load.wait_for(60)
        before = set(server.worker_pids())
        os.kill(server.process.pid, signal.SIGHUP)  # new workers start, old ones finish
        _new_generation(server, before)
        load.wait_for(load.done + 100)

        restarted = server.worker_pids()[0]
        os.kill(restarted, signal.SIGTERM)  # one worker finishes its requests and exits
        _new_generation(server, {restarted})
        load.wait_for(load.done + 100)
    assert load.done >= 260
    assert set(load.outcomes) <= {"200", "202"}, load.outcomes
    _all_succeeded(server, load.uploads)


@pytest.mark.server_env(CSVHUB_DRAIN_SECONDS="4")
def test_term_drains_readyz_first_then_exits_cleanly(server):
    ready, body = server.request("/readyz")
    assert ready == 200, body
    server.process.send_signal(signal.SIGTERM)
    server.wait_until(lambda: server.request("/readyz")[0] == 503, timeout=3)
    assert json.loads(server.request("/readyz")[1])["checks"]["serving"] == "draining"
    # Draining still serves: a load balancer has time to send requests elsewhere.
    assert server.request("/api/v1/datasets/")[0] == 200
    assert server.process.wait(timeout=30) == 0


def _ingesting_worker(server: Server) -> int | None:
    """The web worker running an ingestion: the one with a reader child process (started by
    one of its job threads)."""
    for pid in server.worker_pids():
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            if children.read_text().split():
                return pid
    return None


def _worker_mid_load(server: Server, upload_id: str) -> int:
    """The pid of the worker loading the upload, once some rows are in and before the end
    (looked up in the same poll: a fast machine may finish between two separate looks)."""
    found: dict[str, int | None] = {}

    def loading() -> bool:
        state = _state(server, upload_id)
        assert state["state"] in ("queued", "running"), f"ended before it could be killed: {state}"
        found["pid"] = _ingesting_worker(server) if state["rows_loaded"] > 0 else None
        return found["pid"] is not None

    server.wait_until(loading, timeout=60)
    assert found["pid"] is not None
    return found["pid"]


# Small batches and a million rows: the load lasts long enough to be interrupted.
@pytest.mark.server_env(CSVHUB_MAX_BATCH_SIZE="4096")
def test_upload_of_a_killed_worker_is_finished_by_another(server):
    rows = 1_000_000
    content = ("n,label\n" + "".join(f"{i},row {i}\n" for i in range(rows))).encode()
    upload = server.upload("big.csv", content)
    worker = _worker_mid_load(server, upload["id"])
    # A worker stopped past its grace period (SIGKILL, as an orchestrator does after TERM).
    os.kill(worker, signal.SIGKILL)
    assert _state(server, upload["id"])["state"] == "running"

    # Another worker's sweeper finds the stale heartbeat (CSVHUB_JOB_STALE_SECONDS=5).
    started = time.monotonic()
    _all_succeeded(server, [upload["id"]])
    finished = _state(server, upload["id"])
    assert finished["attempts"] == 2
    assert finished["rows_loaded"] == rows
    dataset = json.loads(server.request(f"/api/v1/datasets/{finished['dataset']}/")[1])
    assert dataset["row_count"] == rows
    assert time.monotonic() - started < 90


def test_serve_reloaded_mid_load_leaves_the_job_to_its_worker(tmp_path, warehouse_url):
    """`csvhub serve` (jobs on its workers' threads) takes every running job for dead when it
    starts, but not after a HUP: an old worker is still loading it, and the job must run once,
    not twice."""
    from tests.serving import api_token, free_port, run_csvhub, server_env

    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    env = server_env(data_dir, CSVHUB_WAREHOUSE_URL=warehouse_url, CSVHUB_MAX_BATCH_SIZE="4096")
    run_csvhub(env, "migrate", "--noinput")
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "csvhub", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log)
    try:
        server.wait_until(lambda: server.status("/healthz") == 200)
        server.token = api_token(env)
        rows = 300_000
        content = ("n\n" + "".join(f"{i}\n" for i in range(rows))).encode()
        upload = server.upload("reloaded.csv", content)
        server.wait_until(lambda: _state(server, upload["id"])["rows_loaded"] > 0, timeout=60)
        old = set(server.worker_pids())
        os.kill(process.pid, signal.SIGHUP)
        # A new generation has started (the old worker loading may still run alongside).
        server.wait_until(lambda: len(set(server.worker_pids()) - old) == len(old), timeout=90)
        _all_succeeded(server, [upload["id"]])
        finished = _state(server, upload["id"])
        assert finished["attempts"] == 1
        dataset = json.loads(server.request(f"/api/v1/datasets/{finished['dataset']}/")[1])
        assert dataset["row_count"] == rows
    finally:
        server.stop()
