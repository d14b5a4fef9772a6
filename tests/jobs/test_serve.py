"""`csvhub serve` (what `make run` starts): a busy port is refused before anything is printed
or prepared, and a fresh install comes up with gunicorn's control socket in the data dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError

from csvhub.jobs.management.commands.serve import port_check, workers_check

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
