from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.feeds import FeedServer


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    yield server
    server.stop()


@pytest.fixture
def loopback_allowed(settings) -> None:
    """The tests' servers listen on loopback, which sources refuse unless allowed."""
    settings.CSVHUB_SOURCE_ALLOWED_HOSTS = ["127.0.0.1"]
