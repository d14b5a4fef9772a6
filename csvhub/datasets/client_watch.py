"""Noticing that the client of a streamed export went away while its query runs.

A server finds a closed connection only when it writes to it; an export whose query works for
minutes before its first row writes nothing, so without a watch the query runs to its end for
nobody. The watch looks at the client's socket (without reading from it) every `interval`
seconds from a thread of its own, and calls `on_gone` at each look once the client is gone,
until stopped (a cancel that lands between two statements is not lost).

When is a client gone? A FIN alone does not say: a client that half-closes its side after the
request (`nc -N`, `shutdown(SHUT_WR)`) still reads the response. A socket that was really
closed answers the next bytes it receives with a reset; so the rule is:

- gone means the connection is reset or broken (poll reports POLLERR or POLLHUP);
- before the response has started, a FIN makes the watch send one interim
  `HTTP/1.1 100 Continue` (which every HTTP/1.1 client must read past): a half-closed client
  ignores it and gets its export; a closed one answers with a reset, seen at the next look;
- after the response has started, the server's own writes do that: a client that closes while
  the query finds nothing more is noticed at the next write, or the export's time limit.

Only servers that hand the socket to the application can be watched: gunicorn puts it in the
WSGI environ as `gunicorn.socket` (what `csvhub serve` and the container run). Elsewhere the
export still stops at its next write after a disconnect.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

SOCKET_KEY = "gunicorn.socket"
PROBE = b"HTTP/1.1 100 Continue\r\n\r\n"


class ClientWatch:
    def __init__(
        self,
        client: socket.socket,
        on_gone: Callable[[], None],
        *,
        interval: float = 0.5,
        may_probe: bool = True,
    ) -> None:
        self._client = client
        self._on_gone = on_gone
        self._interval = interval
        self._stop = threading.Event()
        # Held while the probe is written, and by response_started(): the probe never lands
        # inside the response the server writes.
        self._lock = threading.Lock()
        self._may_probe = may_probe
        self._thread = threading.Thread(target=self._run, name="csvhub-client-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        told = False
        while not self._stop.wait(self._interval):
            if not self._gone():
                continue
            if not told:
                logger.info("client went away during an export: cancelling its query")
                told = True
            self._on_gone()  # again at each look: a cancel between statements stops nothing

    def _gone(self) -> bool:
        state = _socket_state(self._client)
        if state == "broken":
            return True
        if state == "fin":
            self._probe()
        return False

    def _probe(self) -> None:
        with self._lock:
            if not self._may_probe:
                return
            self._may_probe = False
            # A broken socket fails here; the next look sees it.
            with contextlib.suppress(OSError):
                self._client.send(PROBE, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)

    def response_started(self) -> None:
        """The server writes from now on: no more probes."""
        with self._lock:
            self._may_probe = False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def client_watch(environ: dict[str, Any], on_gone: Callable[[], None]) -> ClientWatch | None:
    """A watch on the request's client socket, or None when the server does not expose it."""
    client = environ.get(SOCKET_KEY)
    # A TLS socket takes no recv flags (and its bytes are records): not watched.
    if not isinstance(client, socket.socket) or isinstance(client, ssl.SSLSocket):
        return None
    # A 1xx goes to HTTP/1.1 clients only (RFC 9110, 15.2).
    return ClientWatch(client, on_gone, may_probe=environ.get("SERVER_PROTOCOL") == "HTTP/1.1")


def _socket_state(client: socket.socket) -> str:
    """ "broken" (reset, or shut both ways), "fin" (the peer sent all it will), or "open".

    poll, not select: select fails on descriptors past 1023.
    """
    poller = select.poll()
    poller.register(client, select.POLLIN | select.POLLERR | select.POLLHUP)
    try:
        events = dict(poller.poll(0)).get(client.fileno(), 0)
    except (OSError, ValueError):  # closed under us
        return "broken"
    if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
        return "broken"
    if not events & select.POLLIN:
        return "open"
    try:
        # Readable with nothing to read is the peer's FIN; bytes (a pipelined request) are not.
        # MSG_PEEK leaves them for the server; MSG_DONTWAIT keeps the socket's own mode.
        return "fin" if client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"" else "open"
    except BlockingIOError:
        return "open"
    except OSError:  # reset by the peer
        return "broken"
