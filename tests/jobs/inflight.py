"""A request in flight in this process, held open by the test (csvhub.jobs.foreground)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse

from csvhub.jobs.foreground import ForegroundMiddleware


@contextmanager
def request_in_flight() -> Iterator[list[str]]:
    """A request answered through the middleware on another thread, until the block ends;
    the list collects what happened, in order."""
    happened: list[str] = []
    release, entered = threading.Event(), threading.Event()

    def view(request: HttpRequest) -> HttpResponse:
        entered.set()
        release.wait(30)
        happened.append("request finished")
        return HttpResponse()

    answering = threading.Thread(target=ForegroundMiddleware(view), args=[HttpRequest()])
    answering.start()
    assert entered.wait(30)
    try:
        yield happened
    finally:
        release.set()
        answering.join(30)
