"""Noticing that the client of a streamed export went away while its query runs.

A server finds a closed connection only when it writes to it; an export whose query works for
minutes before its first row writes nothing, so without a watch the query runs to its end for
nobody. The watch peeks at the client's socket (without reading from it) every `interval`
seconds from a thread of its own, and calls `on_gone` once when the peer has closed it.

Only servers that hand the socket to the application can be watched: gunicorn puts it in the
WSGI environ as `gunicorn.socket` (what `csvhub serve` and the container run). Elsewhere the
export still stops at its next write after a disconnect.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

SOCKET_KEY = "gunicorn.socket"


class ClientWatch:
    def __init__(
        self, client: socket.socket, on_gone: Callable[[], None], *, interval: float = 0.5
    ) -> None:
        self._client = client
        self._on_gone = on_gone
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="csvhub-client-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if _closed_by_peer(self._client):
                logger.info("client went away during an export: cancelling its query")
                self._on_gone()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def client_watch(environ: dict[str, Any], on_gone: Callable[[], None]) -> ClientWatch | None:
    """A watch on the request's client socket, or None when the server does not expose it."""
    client = environ.get(SOCKET_KEY)
    # A TLS socket takes no recv flags (and its bytes are records): not watched.
    if not isinstance(client, socket.socket) or isinstance(client, ssl.SSLSocket):
        return None
    return ClientWatch(client, on_gone)


def _closed_by_peer(client: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([client], [], [], 0)
        if not readable:
            return False
        # Readable with nothing to read is the peer's FIN; bytes (a pipelined request) are not.
        # MSG_PEEK leaves them for the server; MSG_DONTWAIT keeps the socket's own mode.
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset by the peer
        return True
