"""Jobs on the thread runner give way to the requests their process is answering
(csvhub.jobs.foreground): they wait for the process to be idle, within a budget."""

from __future__ import annotations

import threading

from django.http import HttpRequest, HttpResponse

from csvhub.jobs.foreground import ForegroundMiddleware, Giving, requests_in_flight
from tests.jobs.inflight import request_in_flight


def test_a_job_waits_for_the_request_in_flight_to_finish() -> None:
    giving = Giving(30)
    with request_in_flight() as happened:
        waiting = threading.Thread(target=lambda: (giving.way(), happened.append("job went on")))
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and happened == []  # still waiting: the request is answered
    waiting.join(30)
    assert happened == ["request finished", "job went on"]
    assert requests_in_flight() == 0
    assert 0 < giving.left < 30


def test_the_budget_ends_the_waiting_however_long_the_requests() -> None:
    giving = Giving(0.05)
    with request_in_flight() as happened:
        giving.way()  # the request still runs: the budget, not the request, ended the wait
        giving.way()  # spent: no more waiting
        happened.append("job went on")
    assert happened == ["job went on", "request finished"]
    assert giving.left <= 0


def test_a_job_run_inline_by_a_request_does_not_wait_for_that_request_or_others() -> None:
    giving = Giving(30)
    happened: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        giving.way()
        happened.append("inline job went on")
        return HttpResponse()

    with request_in_flight() as elsewhere:
        ForegroundMiddleware(view)(HttpRequest())
        assert happened == ["inline job went on"] and elsewhere == []
    assert giving.left == 30


def test_nothing_in_flight_nothing_waited() -> None:
    giving = Giving(30)
    giving.way()
    assert giving.left == 30 and requests_in_flight() == 0
