"""A session engine (SESSION_ENGINE) that raises as soon as a session is built: tests use it to
show which requests never touch the session."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase


class SessionUsed(AssertionError):
    pass


class SessionStore(SessionBase):
    def __init__(self, session_key: str | None = None) -> None:
        raise SessionUsed("this request built a session")
