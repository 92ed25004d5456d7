"""A local stand-in for api.github.com, so tests never leave the machine."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GITHUB_ROOT = {"current_user_url": "https://api.github.com/user", "emojis_url": "https://api.github.com/emojis"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = json.dumps(GITHUB_ROOT).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.hits += 1

    def log_message(self, *_args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits = 0

    def server_bind(self):
        # Without TCP_NODELAY each small response waits ~40 ms on Nagle's algorithm.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


class FakeGitHub:
    """Serves GITHUB_ROOT at every path on 127.0.0.1; `url` is its base, `hits` its requests."""

    def __init__(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def hits(self) -> int:
        return self._server.hits

    def __enter__(self) -> "FakeGitHub":
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._server.shutdown()
        self._server.server_close()
