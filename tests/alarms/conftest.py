"""Fixtures of the alarm tests: a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from csvhub.mail import SMTP_BACKEND
from tests.alarms.smtp import SmtpServer, free_port

# The browser fixtures of the web UI tests, for the Alarms panel's (test_alarms_panel_e2e.py).
from tests.web.chromium import server, signed_in  # noqa: F401  (fixtures)


@pytest.fixture
def smtp_down(settings) -> Iterator[SmtpServer]:
    """csvhub's mailer pointed at a loopback port where no server listens yet: `.start()`
    brings the server up on that port."""
    mail_server = SmtpServer(free_port())
    settings.MAILERS = {
        "default": {
            "BACKEND": SMTP_BACKEND,
            "OPTIONS": {"host": "127.0.0.1", "port": mail_server.port, "timeout": 5},
        }
    }
    settings.DEFAULT_FROM_EMAIL = "csvhub@example.com"
    settings.CSVHUB_BASE_URL = "https://csvhub.example.com"
    yield mail_server
    mail_server.stop()


@pytest.fixture
def smtp(smtp_down: SmtpServer) -> SmtpServer:
    """A real SMTP server on loopback that csvhub's mailer sends to."""
    smtp_down.start()
    return smtp_down
