"""A stand-in for api.github.com in the session's outside namespace (outside.py), so tests
never leave the machine and functions reach it as they would the internet."""

from __future__ import annotations

import json
import ssl
import subprocess
import tempfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import outside

GITHUB_ROOT = {"current_user_url": "https://api.github.com/user", "emojis_url": "https://api.github.com/emojis"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = json.dumps(GITHUB_ROOT).encode()
        # Counted before answering, so a caller that got its answer is counted.
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


def self_signed(common_name: str, ip: str) -> tuple[ssl.SSLContext, bytes]:
    """A server TLS context with a new self-signed certificate for `common_name` and `ip`,
    and that certificate (PEM), which clients trust as their CA."""
    with tempfile.TemporaryDirectory() as work:
        key, cert = Path(work) / "key.pem", Path(work) / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={common_name}",
             "-addext", f"subjectAltName=DNS:{common_name},IP:{ip}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,digitalSignature,keyCertSign"],
            check=True, capture_output=True, timeout=60,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context, cert.read_bytes()


class FakeGitHub:
    """Serves GITHUB_ROOT at every path, at the outside's address; `url` is its base, `hits`
    its requests. With `https`, over TLS with a certificate of its own for api.github.com and
    its address: `ca_pem` is what a client must trust."""

    def __init__(self, https: bool = False):
        self._https = https
        self._server = None
        self.url = ""
        self.ca_pem = b""

    @property
    def hits(self) -> int:
        return self._server.hits

    def __enter__(self) -> "FakeGitHub":
        world, tls = outside.world(), None
        if self._https:
            tls, self.ca_pem = self_signed("api.github.com", world.address)
        self._server = world.http_server(_Handler, tls)
        self._server.hits = 0
        self.url = self._server.url
        return self

    def __exit__(self, *_exc):
        self._server.shutdown()
        self._server.server_close()
