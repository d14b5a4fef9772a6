"""Fixtures shared by the whole suite: warehouses, storage, S3 and actors."""

from __future__ import annotations

import io
import os
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from sqlalchemy import create_engine, inspect, text

from tests.services import MYSQL_URL, POSTGRES_URL, XDIST_WORKER, reachable, require

pytest_plugins = ["tests.accounts.actors", "tests.browser", "tests.jobs.celery_workers"]


# On several processes (`make test`: pytest-xdist with --dist loadscope), each test is its own
# unit of work, except tests that must not be spread over processes: the RabbitMQ tests share
# its vhost and the Celery queue in it, where one process's worker would take another's jobs;
# a module whose tests share a module-scoped fixture (a live server) shares its setup.
# (xdist_group marks cannot do this: xdist 3.8 renames node ids in a way pytest 9 ignores.)
_RABBITMQ_TEST = re.compile(r"\[(.*-)?rabbitmq(-.*)?\]$")
_KEPT_TOGETHER = ("tests/metrics/test_metrics_scrape.py",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    # `load` too: plain `pytest -n 3` asks for it, and would spread what must not be.
    if config.getvalue("dist") not in ("load", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedServiceScopes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit_of(nodeid)

    return SharedServiceScopes(config, log)


def work_unit_of(nodeid: str) -> str:
    """The unit of work a test goes to a process with (see above)."""
    if _RABBITMQ_TEST.search(nodeid):
        return "rabbitmq"
    module = nodeid.split("::", 1)[0]
    return module if module in _KEPT_TOGETHER else nodeid


@pytest.fixture(scope="session", autouse=True)
def _static_files_collected() -> None:
    """`collectstatic` into this process's data directory, as `csvhub serve` and the image do
    before serving: pages name the hashed copies that only its manifest knows (a page rendered
    without it is an error, as it would be in production)."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest, _static_files_collected: None) -> Iterator[Any]:
    """pytest-django's live server, serving /static/ as `csvhub serve` does: Whitenoise over the
    collected files. (pytest-django's own static handler looks each path up in the apps'
    folders, where the content-hashed names the pages use do not exist.)"""
    from pytest_django.live_server_helper import LiveServer

    address = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(address, start=False)
    server.thread.static_handler = _whitenoise_serves_static
    server.start()
    yield server
    server.stop()


def _whitenoise_serves_static(application: Any) -> Any:
    return application


@pytest.fixture(scope="session", autouse=True)
def _worker_databases() -> None:
    """Each process of a parallel run has its own PostgreSQL and MariaDB databases
    (tests/services.py): created here when missing, before any test names them."""
    if not XDIST_WORKER:
        return
    if reachable(MYSQL_URL):
        _create_mysql_database(MYSQL_URL)
    if not reachable(POSTGRES_URL):
        return
    from sqlalchemy import make_url

    parsed = make_url(POSTGRES_URL)
    server = create_engine(
        parsed._replace(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).first()
        if exists is None:
            quote = server.dialect.identifier_preparer.quote_identifier
            connection.exec_driver_sql(f"CREATE DATABASE {quote(parsed.database or '')}")
    server.dispose()


@pytest.fixture(autouse=True)
def _isolated_storage(tmp_path, settings) -> Iterator[None]:
    """Every test stores files in its own directory and rows in its own SQLite warehouse."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    url = settings.CSVHUB_WAREHOUSE_URL = f"sqlite:///{tmp_path / 'warehouse.sqlite3'}"
    yield
    from csvhub.warehouse.engine import engine_discard

    # The file goes with tmp_path; its engine's pooled connections must go too, or the suite's
    # process collects thousands of open descriptors (and select() fails past 1024).
    engine_discard(url)


_SERVERS = {
    "postgres": (POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL"),
    "mysql": (MYSQL_URL, "CSVHUB_TEST_MYSQL_URL"),
}
_CSVHUB_TABLES = ("csvhub_loads", "csvhub_swaps")
# Emptied, not dropped: a process remembers that it made it (csvhub.warehouse.edits).
_CSVHUB_EMPTIED = ("csvhub_edit_journal", "csvhub_edit_marks")


def _drop_dataset_tables(url: str) -> None:
    """Empty a test warehouse of what csvhub made there (dataset tables, stages, records)."""
    from csvhub.warehouse.engine import engine_for_url

    engine = engine_for_url(url)
    quote = engine.dialect.identifier_preparer.quote_identifier
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
    # One transaction per table: a transaction dropping several would hold each table's lock
    # while waiting for the next, and deadlock with a job of the test still reading two of them.
    for name in names:
        with engine.begin() as connection:
            if name.startswith("ds_") or name in _CSVHUB_TABLES:
                connection.execute(text(f"DROP TABLE IF EXISTS {quote(name)}"))
            elif name in _CSVHUB_EMPTIED:
                connection.execute(text(f"DELETE FROM {quote(name)}"))
    engine.dispose()


def _create_mysql_database(url: str) -> None:
    """The test database, created on first use where the user may (root on a dev machine)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    # URL.set ignores database=None: the URL of the server itself, no database in it.
    server = create_engine(parsed._replace(drivername="mysql+pymysql", database=None))
    with server.connect() as connection:
        name = server.dialect.identifier_preparer.quote_identifier(parsed.database or "")
        connection.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {name}")
    server.dispose()


# The embedded engines: a file in the test's directory, no server needed.
_EMBEDDED = {
    "sqlite": "sqlite:///{}/warehouse.sqlite3",
    "duckdb": "duckdb:///{}/warehouse.duckdb",
}


@pytest.fixture(params=["sqlite", "postgres", "mysql", "duckdb"])
def warehouse(request, tmp_path, settings) -> Iterator[str]:
    """Run the test against each warehouse engine: SQLite, PostgreSQL, MariaDB/MySQL and
    DuckDB.

    This is the conformance suite: every test using it must pass, with the same answers, on
    all four."""
    server = _SERVERS.get(request.param)
    if server is None:
        url = _EMBEDDED[request.param].format(tmp_path)
        settings.CSVHUB_WAREHOUSE_URL = url
        yield request.param
        from csvhub.warehouse.engine import engine_discard

        engine_discard(url)  # DuckDB keeps its file open, with its memory, while connected
        return
    url, variable = server
    require(url, variable)
    if request.param == "mysql":
        _create_mysql_database(url)
    _drop_dataset_tables(url)
    settings.CSVHUB_WAREHOUSE_URL = url
    yield request.param
    _drop_dataset_tables(url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a loopback port: a real HTTP endpoint that boto3 talks to."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_endpoint, settings) -> str:
    """Django's default storage pointed at a fresh bucket on the moto server."""
    import uuid

    import boto3

    from csvhub.config import storage_backend

    bucket = f"csvhub-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_backend(
            f"s3://{bucket}/files?endpoint_url={s3_endpoint}&region=us-east-1", default_root=""
        ),
    }
    return bucket


def csv_bytes(text_: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text_.encode(encoding))


__all__ = ["csv_bytes", "override_settings"]
