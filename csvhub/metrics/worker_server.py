"""A small HTTP server inside `csvhub worker`: /metrics for Prometheus, /healthz for the
container's health check. Workers answer no HTTP otherwise, so this is their only door; it
listens on CSVHUB_WORKER_METRICS_BIND only (e.g. `0.0.0.0:9101`), and /metrics asks for
CSVHUB_METRICS_TOKEN as the web server's does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from csvhub.metrics.exposition import CONTENT_TYPE, authorized, scrape

logger = logging.getLogger(__name__)

type StartResponse = Callable[[str, list[tuple[str, str]]], Any]
type WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # health checks every few seconds
        pass


def worker_app(healthy: Callable[[], bool]) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            ok = healthy()
            start_response("200 OK" if ok else "503 Service Unavailable", _text())
            return [b"ok\n" if ok else b"unavailable\n"]
        if path == "/metrics":
            if not authorized(environ.get("HTTP_AUTHORIZATION")):
                start_response("401 Unauthorized", _text())
                return [b"Send the metrics token as a Bearer token.\n"]
            # The backlog comes from the web servers' scrapes: counted once, not per worker.
            body = scrape(backlog=False, sample_self=False)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
            return [body]
        start_response("404 Not Found", _text())
        return [b"not found\n"]

    return app


def _text() -> list[tuple[str, str]]:
    return [("Content-Type", "text/plain; charset=utf-8")]


def serve_in_thread(bind: str, healthy: Callable[[], bool]) -> _Server:
    """Listen on `host:port` and answer from a daemon thread; returns the server."""
    host, _, port = bind.rpartition(":")
    server = make_server(
        host.strip("[]") or "0.0.0.0",
        int(port),
        worker_app(healthy),
        server_class=_Server,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="csvhub-worker-http", daemon=True).start()
    logger.info("worker metrics and health on http://%s/", bind)
    return server
