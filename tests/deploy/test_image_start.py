"""The image, without Docker: build the wheel the Dockerfile builds (from the files it copies),
install it apart from this checkout, and run the image's start command (its CMD, as written)
and `csvhub worker` against PostgreSQL, Redis and an S3 endpoint, as the containers would.

About a minute: the wheel's C extensions are compiled, and a real upload goes through S3, the
broker and a worker into PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import _drop_dataset_tables
from tests.services import POSTGRES_URL, REDIS_URL, require
from tests.serving import Server, api_token, free_port, server_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]


def _image_cmd() -> list[str]:
    """The Dockerfile's CMD, exec form."""
    (line,) = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    ]
    return json.loads(line.removeprefix("CMD "))


def _dockerfile_env() -> dict[str, str]:
    """The ENV the image sets (CSVHUB_BIND and the like)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"(\w+)=(\S+)", line))
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """csvhub built as the Dockerfile's build stage does, installed into a directory of its own."""
    work = tmp_path_factory.mktemp("image")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):  # COPY pyproject.toml README.md ./
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(  # COPY csvhub ./csvhub (without what .dockerignore leaves out)
        ROOT / "csvhub", source / "csvhub", ignore=shutil.ignore_patterns("__pycache__", "*.so")
    )
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--wheel-dir", work / "wheels", "."], cwd=source, check=True
    )
    (wheel,) = (work / "wheels").glob("csvhub-*.whl")
    site = work / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)
    assert list(site.glob("csvhub/csvread/_splitter*.so")), "the wheel lost its C extension"
    return site


@pytest.fixture
def services_env(installed, tmp_path, s3_endpoint) -> dict[str, str]:
    require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
    require(REDIS_URL, "CSVHUB_TEST_REDIS_URL")
    import boto3
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    _drop_dataset_tables(POSTGRES_URL)
    bucket = f"image-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    data_dir = tmp_path / "var-lib-csvhub"
    data_dir.mkdir(mode=0o700)
    settings = {
        **_dockerfile_env(),
        "CSVHUB_DATA_DIR": str(data_dir),
        "CSVHUB_BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "2",
        "CSVHUB_WAREHOUSE_URL": POSTGRES_URL,
        "CSVHUB_STORAGE_URL": f"s3://{bucket}/files?endpoint_url={s3_endpoint}&region=us-east-1",
        "CSVHUB_TASK_RUNNER": "celery",
        "CSVHUB_BROKER_URL": REDIS_URL,
        "CSVHUB_CACHE_URL": REDIS_URL,
        "CSVHUB_WORKER_METRICS_BIND": f"127.0.0.1:{free_port()}",
        "CSVHUB_UPLOAD_TEMP_DIR": str(tmp_path),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
    }
    env = server_env(data_dir, **settings)
    # Only the installed wheel: this checkout's csvhub (an editable install) comes after it.
    env["PYTHONPATH"] = str(installed)
    env["PATH"] = f"{installed / 'bin'}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    yield env
    _drop_dataset_tables(POSTGRES_URL)
    redis.Redis.from_url(REDIS_URL).flushdb()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=env,
        cwd=env["CSVHUB_DATA_DIR"],  # the image's WORKDIR holds no csvhub source either
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_image_start_command_serves_health_readiness_metrics_and_ingests(
    services_env, installed, tmp_path
):
    env = services_env
    web = _start(_image_cmd(), env, tmp_path / "web.log")
    worker = _start(["csvhub", "worker", "--concurrency", "1"], env, tmp_path / "worker.log")
    try:
        server = Server(process=web, url=f"http://{env['CSVHUB_BIND']}", log=tmp_path / "web.log")
        # The command migrates, collects static files, then starts gunicorn.
        server.wait_until(lambda: server.status("/healthz") == 200, timeout=90)
        ready, body = server.request("/readyz")
        assert ready == 200, body
        assert json.loads(body)["checks"]["migrations"] == "ok"
        assert server.request("/static/csvhub/upload.js")[0] == 200  # collectstatic ran

        where = subprocess.run(
            ["csvhub", "shell", "-c", "import csvhub; print(csvhub.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert where.strip().splitlines()[-1].startswith(str(installed)), where

        server.token = api_token(env, python=sys.executable)
        made = server.upload("image.csv", b"a,b\n1,x\n2,y\n3,z\n")

        def finished() -> bool:
            state = json.loads(server.request(f"/api/v1/uploads/{made['id']}/")[1])["state"]
            return state in ("succeeded", "failed")

        server.wait_until(finished, timeout=90)
        upload = json.loads(server.request(f"/api/v1/uploads/{made['id']}/")[1])
        assert (upload["state"], upload["rows_loaded"]) == ("succeeded", 3), upload["error"]

        samples = server.scrape()
        key = (
            "csvhub_http_requests_total",
            frozenset({("route", "upload-create"), ("method", "POST"), ("status", "202")}),
        )
        assert samples[key] == 1
        assert server.request("/metrics", headers={"Authorization": ""})[0] == 401

        worker_url = f"http://{env['CSVHUB_WORKER_METRICS_BIND']}"
        worker_server = Server(process=worker, url=worker_url, log=tmp_path / "worker.log")
        assert worker_server.request("/healthz")[0] == 200
        worker_samples = worker_server.scrape()
        assert worker_samples[("csvhub_ingest_rows_total", frozenset())] == 3
    finally:
        _stop(web)
        _stop(worker)
    assert web.returncode == 0, (tmp_path / "web.log").read_text()[-2000:]
