"""The client watch of streamed exports: what counts as a client gone, on any descriptor."""

from __future__ import annotations

import os
import resource
import socket
import threading
import time
from collections.abc import Callable

import pytest

from csvhub.datasets.client_watch import ClientWatch


def _wait(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    ends = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)
    return True


def test_a_client_on_a_descriptor_past_1023_is_watched() -> None:
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] <= 1500:
        pytest.skip("needs more than 1500 open files")
    served, client = socket.socketpair()
    high = socket.socket(fileno=os.dup2(served.fileno(), 1500))  # select() cannot take it
    served.close()
    gone = threading.Event()
    watch = ClientWatch(high, gone.set, interval=0.05)
    client.close()
    try:
        assert gone.wait(5)
    finally:
        watch.stop()
        high.close()


def test_the_cancel_is_repeated_until_the_watch_stops() -> None:
    # A cancel that lands between two statements stops nothing: the next look cancels again.
    served, client = socket.socketpair()
    calls: list[float] = []
    watch = ClientWatch(served, lambda: calls.append(time.monotonic()), interval=0.05)
    client.close()
    try:
        assert _wait(lambda: len(calls) >= 3)
    finally:
        watch.stop()
        served.close()


def test_a_half_closed_client_is_not_gone_and_gets_one_probe() -> None:
    served, client = socket.socketpair()
    calls: list[float] = []
    watch = ClientWatch(served, lambda: calls.append(time.monotonic()), interval=0.05)
    client.shutdown(socket.SHUT_WR)
    try:
        time.sleep(0.5)
        assert not calls
        assert client.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    finally:
        watch.stop()
        served.close()
        client.close()
