"""A real csvhub web server for tests: gunicorn with the image's configuration
(csvhub.gunicorn_config) on a loopback port, several workers, its own data directory.

The server is a separate process tree: tests talk to it over HTTP only, as Prometheus, a load
balancer or a client would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "scrape-" + uuid4().hex


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """What the image's environment would hold, on the embedded default (SQLite, local files,
    jobs on threads in the web workers)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CSVHUB_", "PROMETHEUS_", "DJANGO_"))
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "csvhub.settings",
        "CSVHUB_DATA_DIR": str(data_dir),
        "CSVHUB_SECRET_KEY": "test-" + uuid4().hex,
        "CSVHUB_METRICS_TOKEN": METRICS_TOKEN,
        "CSVHUB_TASK_RUNNER": "thread",
        "CSVHUB_DRAIN_SECONDS": "0",
        "CSVHUB_LOG_LEVEL": "WARNING",
        **extra,
    }


def run_csvhub(env: Mapping[str, str], *args: str, python: str = sys.executable) -> str:
    done = subprocess.run(
        [python, "-m", "csvhub", *args], env=dict(env), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


TOKEN_SCRIPT = """
from csvhub.accounts.models import Role
from csvhub.accounts.services import admin_ensure, token_create
made = admin_ensure(org_slug="acme", username="alice", password="a long test password 1")
print(token_create(organization=made.organization, user=made.user, name="t", role=Role.ADMIN).text)
"""


def api_token(env: Mapping[str, str], python: str = sys.executable) -> str:
    """Alice, admin of acme, and an API token of hers (the server's database must exist)."""
    return run_csvhub(env, "shell", "-c", TOKEN_SCRIPT, python=python).strip().splitlines()[-1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    token: str = ""
    log: Path = field(default_factory=Path)

    def request(
        self,
        path: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, bytes]:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def status(self, path: str) -> int:
        """The status code of a GET, 0 when nothing answers (yet)."""
        try:
            return self.request(path, timeout=5)[0]
        except OSError:
            return 0

    def upload(self, name: str, content: bytes, dataset: str | None = None) -> dict:
        body, content_type = multipart(name, content, dataset)
        status, answer = self.request(
            "/api/v1/uploads/", data=body, headers={"Content-Type": content_type}
        )
        assert status in (201, 202), (status, answer[:500])
        (made,) = json.loads(answer)
        return made

    def scrape(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample of /metrics, by name and labels (pid labels dropped)."""
        status, body = self.request(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert status == 200, body[:500]
        return parse_samples(body.decode())

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out; server log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def parse_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = frozenset((k, v) for k, v in sample.labels.items() if k != "pid")
            key = (sample.name, labels)
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def multipart(name: str, content: bytes, dataset: str | None = None) -> tuple[bytes, str]:
    boundary = uuid4().hex
    parts = []
    if dataset:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="dataset"\r\n\r\n'
            f"{dataset}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def start_gunicorn(
    env: Mapping[str, str], log: Path, *, workers: int = 3, python: str = sys.executable
) -> Server:
    """The image's web command without its migrate step (done by the caller), on loopback."""
    port = free_port()
    process = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", "python:csvhub.gunicorn_config", "csvhub.wsgi"],
        env={
            **env,
            "CSVHUB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
        },
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),  # noqa: SIM115
        start_new_session=True,
        cwd=env["CSVHUB_DATA_DIR"],
    )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log)
    server.wait_until(lambda: _answers(server.url + "/healthz"), timeout=60)
    server.wait_until(lambda: len(server.worker_pids()) == workers, timeout=60)
    return server


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def live_server(tmp_path: Path, workers: int = 3, **extra_env: str) -> Iterator[Server]:
    """Migrate a fresh data directory, make alice's token, serve it; stop it afterwards."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    env = server_env(data_dir, **extra_env)
    run_csvhub(env, "migrate", "--noinput")
    run_csvhub(env, "collectstatic", "--noinput")  # as the image does before gunicorn starts
    token = api_token(env)
    server = start_gunicorn(env, tmp_path / "server.log", workers=workers)
    server.token = token
    try:
        yield server
    finally:
        server.stop()
