"""Where the test suite finds PostgreSQL, MariaDB/MySQL, Redis and S3, and what it does when
they are missing.

Outside CI a missing service skips its tests with a message saying how to enable them; under
CI=true it fails them, because CI must run everything.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "CSVHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# A database the tests may fill and empty (created when missing, if the user may).
MYSQL_URL = os.environ.get("CSVHUB_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/csvhub_test")
REDIS_URL = os.environ.get("CSVHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
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
