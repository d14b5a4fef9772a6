"""`csvhub serve` (what `make run` starts): a busy port is refused before anything is printed
or prepared, a fresh install comes up with gunicorn's control socket in the data dir, several
worker processes serve by default (one on DuckDB) and share what must be shared: the bad-token
count, and the jobs a killed server left running."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.management import CommandError

from csvhub.jobs.management.commands.serve import DEFAULT_WORKERS, port_check, workers_check
from tests.serving import Server, api_token, free_port, run_csvhub, server_env

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_busy_port_is_refused_with_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(CommandError) as refused:
            port_check("127.0.0.1", port)

    assert f"Port {port} on 127.0.0.1 is already in use" in str(refused.value)
    assert "make run PORT=8100" in str(refused.value)


def test_free_port_passes() -> None:
    port_check("127.0.0.1", _free_port())


def test_several_workers_are_refused_on_a_duckdb_warehouse(settings) -> None:
    settings.CSVHUB_WAREHOUSE_URL = "duckdb:////tmp/never-opened.duckdb"
    settings.CSVHUB_TASK_RUNNER = "thread"

    workers_check(1)
    with pytest.raises(CommandError) as refused:
        workers_check(2)

    assert "run one web worker process" in str(refused.value)


def test_several_workers_pass_on_sqlite(settings) -> None:
    settings.CSVHUB_WAREHOUSE_URL = "sqlite:////tmp/never-opened.sqlite3"

    workers_check(2)
    with pytest.raises(CommandError):
        workers_check(0)


@pytest.mark.parametrize(
    ("warehouse", "expected"),
    [("sqlite:////tmp/never-opened.sqlite3", DEFAULT_WORKERS), ("duckdb:////tmp/x.duckdb", 1)],
)
def test_default_workers_are_several_but_one_on_duckdb(settings, warehouse, expected) -> None:
    settings.CSVHUB_WAREHOUSE_URL = warehouse
    settings.CSVHUB_TASK_RUNNER = "thread"

    assert DEFAULT_WORKERS > 1
    assert workers_check(None) == expected
    assert workers_check(1) == 1  # --workers 1 still asks for one


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CSVHUB_DATA_DIR": str(data_dir),
        "HOME": str(data_dir.parent),  # nothing may land in the home directory
        "DJANGO_SETTINGS_MODULE": "csvhub.settings",
    }
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "csvhub", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 120) -> str:
    assert process.stdout is not None
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} in:\n{''.join(seen)}")


def test_first_run_serves_and_keeps_the_control_socket_in_the_data_dir(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    server = _serve(data_dir, port)
    try:
        printed = _read_until(server, "Booting worker")
        assert "csvhub changepassword admin" in printed  # how to reset the password later
        assert f"serving on http://127.0.0.1:{port}/" in printed
        deadline = time.monotonic() + 30
        while not (data_dir / "gunicorn.ctl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (data_dir / "gunicorn.ctl").is_socket()
        assert not (tmp_path / ".gunicorn").exists()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10) as page:
            assert page.status == 200

        second = _serve(data_dir, port)
        said, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert f"Port {port} on 127.0.0.1 is already in use" in said
        assert "serving on" not in said
    finally:
        server.terminate()
        server.wait(timeout=30)


def _serve_default(tmp_path: Path, name: str = "serve", **extra: str) -> Server:
    """`csvhub serve` without --workers on a migrated data dir, with alice's token; the caller
    stops it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700, exist_ok=True)
    env = server_env(data_dir, **extra)
    run_csvhub(env, "migrate", "--noinput")
    port, log = free_port(), tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "csvhub", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log)
    server.token = api_token(env)
    try:
        server.wait_until(lambda: server.status("/healthz") == 200, timeout=90)
    except BaseException:
        server.stop()
        raise
    return server


def _workers_settle(server: Server, expected: int) -> None:
    """Until `expected` workers run; then check no more come (gunicorn boots them one by one)."""
    server.wait_until(lambda: len(server.worker_pids()) >= expected, timeout=60)
    time.sleep(1)
    assert len(server.worker_pids()) == expected


@pytest.mark.parametrize(("warehouse", "expected"), [("sqlite", DEFAULT_WORKERS), ("duckdb", 1)])
def test_serve_runs_several_worker_processes_by_default_but_one_on_duckdb(
    tmp_path: Path, warehouse: str, expected: int
) -> None:
    url = f"{warehouse}:///{tmp_path / 'data' / 'warehouse'}"
    server = _serve_default(tmp_path, CSVHUB_WAREHOUSE_URL=url)
    try:
        _workers_settle(server, expected)
        assert server.request("/api/v1/datasets/")[0] == 200
    finally:
        server.stop()


TOKEN_LIMIT = 8


def _bad_tokens(server: Server, count: int) -> list[int]:
    """`count` requests with a bad token at once, each on a new connection (urllib opens one
    per request), so that every worker gets some: their status codes."""

    def one(_: int) -> int:
        request = urllib.request.Request(
            server.url + "/api/v1/datasets/", headers={"Authorization": "Bearer nope"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def test_bad_tokens_answered_by_every_worker_count_toward_one_lockout(tmp_path: Path) -> None:
    """The limit is the configured one, not once per process: the embedded default counts in
    the metadata database (a LocMemCache would count in each worker apart)."""
    server = _serve_default(
        tmp_path,
        CSVHUB_TOKEN_FAILURE_LIMIT=str(TOKEN_LIMIT),
        CSVHUB_FAILURE_WINDOW_SECONDS="3600",
    )
    try:
        _workers_settle(server, DEFAULT_WORKERS)
        # At most TOKEN_LIMIT failures are counted while these run: none is refused yet.
        assert _bad_tokens(server, TOKEN_LIMIT) == [401] * TOKEN_LIMIT

        assert _bad_tokens(server, 4 * TOKEN_LIMIT) == [429] * (4 * TOKEN_LIMIT)
        assert server.request("/api/v1/datasets/")[0] == 200  # a good token still passes
    finally:
        server.stop()


def _upload_state(server: Server, upload_id: str) -> dict:
    status, body = server.request(f"/api/v1/uploads/{upload_id}/")
    assert status == 200, body[:500]
    return json.loads(body)


def test_an_upload_left_running_by_a_killed_serve_is_loaded_by_the_next_one(
    tmp_path: Path,
) -> None:
    """Several workers, and the dead job's heartbeat is far from stale: only `csvhub serve`
    reviving it before its workers start loads it at once (once: attempts 2, every row)."""
    slow = {"CSVHUB_MAX_BATCH_SIZE": "2048", "CSVHUB_JOB_STALE_SECONDS": "3600"}
    rows = 400_000
    first = _serve_default(tmp_path, "first", **slow)
    try:
        content = ("n,label\n" + "".join(f"{i},row {i}\n" for i in range(rows))).encode()
        upload = first.upload("big.csv", content)["id"]
        first.wait_until(lambda: _upload_state(first, upload)["rows_loaded"] > 0, timeout=60)
    finally:
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole server, mid-load
        first.process.wait(timeout=30)
    assert _upload_state_after_kill(tmp_path, upload) == "running"

    second = _serve_default(tmp_path, "second", **slow)
    try:
        _workers_settle(second, DEFAULT_WORKERS)
        second.wait_until(
            lambda: _upload_state(second, upload)["state"] in ("succeeded", "failed"), timeout=120
        )
        finished = _upload_state(second, upload)
        assert (finished["state"], finished["attempts"], finished["rows_loaded"]) == (
            "succeeded",
            2,
            rows,
        )
    finally:
        second.stop()


def _upload_state_after_kill(tmp_path: Path, upload_id: str) -> str:
    """The upload's state as the killed server left it, read from its metadata database."""
    with sqlite3.connect(tmp_path / "data" / "csvhub.sqlite3") as db:
        (state,) = db.execute(
            "SELECT state FROM datasets_upload WHERE id = ?", (upload_id.replace("-", ""),)
        ).fetchone()
    return str(state)
