"""A real HTTP server on loopback that serves files which change, with or without validators."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Feed:
    """One path's current contents and how the server answers for it."""

    body: bytes = b""
    etag: bool = True
    last_modified: bool = True
    modified_at: float = field(default_factory=time.time)
    status: int = 200
    redirect_to: str = ""
    # Send this many bytes, then hang until `release` is set (a download caught mid-way).
    stall_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def set(self, body: bytes) -> None:
        self.body = body
        self.modified_at = time.time() + 1  # a later second than the previous version

    @property
    def tag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest() + '"'


class FeedServer:
    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> None:
        for feed in self.feeds.values():
            feed.release.set()
        self.server.shutdown()
        self.server.server_close()


def _handler(owner: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            owner.requests.append((self.path, dict(self.headers)))
            feed = owner.feeds.get(self.path)
            if feed is None:
                self.send_error(404)
                return
            if feed.redirect_to:
                self.send_response(302)
                self.send_header("Location", feed.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if feed.status != 200:
                self.send_error(feed.status)
                return
            if self._not_modified(feed):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(feed.body)))
            if feed.etag:
                self.send_header("ETag", feed.tag)
            if feed.last_modified:
                self.send_header("Last-Modified", formatdate(feed.modified_at, usegmt=True))
            self.end_headers()
            self._send(feed)

        def _not_modified(self, feed: Feed) -> bool:
            if feed.etag and self.headers.get("If-None-Match") == feed.tag:
                return True
            since = self.headers.get("If-Modified-Since")
            return bool(feed.last_modified and since == formatdate(feed.modified_at, usegmt=True))

        def _send(self, feed: Feed) -> None:
            if feed.stall_after is None:
                self.wfile.write(feed.body)
                return
            self.wfile.write(feed.body[: feed.stall_after])
            self.wfile.flush()
            feed.release.wait(60)
            with contextlib.suppress(OSError):  # the client gave up
                self.wfile.write(feed.body[feed.stall_after :])

    return Handler
