"""Fixtures shared by the whole suite: warehouses, storage, S3 and actors."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator

import pytest
from django.test import override_settings
from sqlalchemy import create_engine, inspect, text

from tests.services import POSTGRES_URL, require

pytest_plugins = ["tests.accounts.actors", "tests.browser"]


@pytest.fixture(autouse=True)
def _isolated_storage(tmp_path, settings) -> None:
    """Every test stores files in its own directory and runs jobs inline."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    settings.CSVHUB_WAREHOUSE_URL = f"sqlite:///{tmp_path / 'warehouse.sqlite3'}"


def _drop_dataset_tables(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        for name in inspect(connection).get_table_names():
            if name.startswith("ds_") or name == "csvhub_loads":
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path, settings) -> Iterator[str]:
    """Run the test once against a SQLite warehouse and once against PostgreSQL."""
    if request.param == "postgres":
        require(POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL")
        _drop_dataset_tables(POSTGRES_URL)
        settings.CSVHUB_WAREHOUSE_URL = POSTGRES_URL
    else:
        settings.CSVHUB_WAREHOUSE_URL = f"sqlite:///{tmp_path / 'warehouse.sqlite3'}"
    yield request.param
    if request.param == "postgres":
        _drop_dataset_tables(POSTGRES_URL)


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
