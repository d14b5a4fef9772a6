"""Where the test suite finds PostgreSQL, MariaDB/MySQL, Redis and S3, and what it does when
they are missing.

Outside CI a missing service skips its tests with a message saying how to enable them; under
CI=true it fails them, because CI must run everything.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

# The suite runs on several processes (pytest-xdist, `make test`): each empties and fills its
# own databases, so each gets its own database name (`test_gw1`) and Redis database number
# (15, 14, ...). RabbitMQ is shared: its tests run on one process (tests/conftest.py).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...; "" without xdist
WORKER_NUMBER = int(XDIST_WORKER.removeprefix("gw") or 0)


def _worker_database(url: str) -> str:
    """The URL of this process's own database on the same server (a name suffix per worker)."""
    if not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}_{XDIST_WORKER}").geturl()


def _worker_redis_database(url: str) -> str:
    """The URL of this process's own Redis database: the given number (in the path or in a
    `db=` query, redis-py's precedence), counting down per process, then up past 0."""
    if not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    given = query.get("db", [parts.path.strip("/") or "0"])[0]
    number = int(given) - WORKER_NUMBER
    if number < 0:
        number = int(given) + WORKER_NUMBER
    if "db" in query:
        return parts._replace(query=urlencode({**query, "db": [number]}, doseq=True)).geturl()
    return parts._replace(path=f"/{number}").geturl()


POSTGRES_URL = _worker_database(
    os.environ.get("CSVHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
# A database the tests may fill and empty (created when missing, if the user may).
MYSQL_URL = _worker_database(
    os.environ.get("CSVHUB_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/csvhub_test")
)
REDIS_URL = _worker_redis_database(
    os.environ.get("CSVHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
)
RABBITMQ_URL = os.environ.get("CSVHUB_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def require(url: str, variable: str) -> None:
    if reachable(url):
        return
    message = f"{url} is not reachable; start it or set {variable} to run these tests"
    if IN_CI:
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)
