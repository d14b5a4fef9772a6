"""Requests in flight in this process, so that background work on the thread runner gives way.

With the thread runner (the embedded default) jobs run in the web process, on its GIL: a job
that computes while a request is being answered slows that request down, whatever its
priority. Some jobs have no deadline but "soon" (an alarm evaluation: the mail may leave a
few tenths of a second later), and their work comes in short steps. Between two steps such a
job calls `Giving.way()`: while a request is in flight in this process it waits for the
process to be idle, up to a budget per job, so a steady stream of requests delays the job by
the budget at most and never starves it. In a process that serves no request (a Celery
worker, a script) nothing is ever in flight and `way()` returns at once.

Counted by `ForegroundMiddleware`, first in MIDDLEWARE: the view's whole run, not a streamed
body's sending (an export's rows stream after the count has ended; exports are long, and a job
waiting for them would wait its whole budget on every step).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

_lock = threading.Lock()
_in_flight = 0
_idle = threading.Event()
_idle.set()
_answering = threading.local()  # .request: this thread is answering one (a job run inline)


def request_started() -> None:
    global _in_flight
    with _lock:
        _in_flight += 1
        _idle.clear()


def request_finished() -> None:
    global _in_flight
    with _lock:
        _in_flight -= 1
        if _in_flight == 0:
            _idle.set()


def requests_in_flight() -> int:
    return _in_flight


class ForegroundMiddleware:
    """Counts the requests this process is answering (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_started()
        outer = getattr(_answering, "request", False)  # a request answered inside another
        _answering.request = True
        try:
            return self.get_response(request)
        finally:
            _answering.request = outer
            request_finished()


class Giving:
    """One job's budget of waiting for requests: `seconds` in all, spent by `way()`."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def way(self) -> None:
        """Wait until no request is in flight in this process, or the budget is spent. A job
        run inline, by the request itself (tests, scripts), never waits: it is that request's
        own work."""
        if self.left <= 0 or _idle.is_set() or getattr(_answering, "request", False):
            return
        started = time.monotonic()
        _idle.wait(self.left)
        self.left -= time.monotonic() - started
