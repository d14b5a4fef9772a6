from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.feeds import FeedServer

# The browser fixtures of the web UI tests, for the Sources panel's (test_sources_panel_e2e.py).
from tests.web.chromium import server, signed_in  # noqa: F401  (fixtures; `browser` is tests/browser.py)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    feed_server = FeedServer()
    feed_server.thread.start()
    yield feed_server
    feed_server.stop()


@pytest.fixture
def loopback_allowed(settings) -> None:
    """The tests' servers listen on loopback, which sources refuse unless allowed."""
    settings.CSVHUB_SOURCE_ALLOWED_HOSTS = ["127.0.0.1"]
