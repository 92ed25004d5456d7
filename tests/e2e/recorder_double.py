"""An HTTP server that functions call to leave evidence: it records every request and can
hold a caller until the test opens a gate. It listens in the session's outside namespace
(outside.py), so functions reach it on their private network (through NAT) as on the host's.

    POST /record/<tag>   body recorded under <tag>; answers {"count": <records of tag>}
    GET  /gate/<name>    answers only once the test called `open_gate(name)` (or after 60 s)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

import outside

GATE_MAX_WAIT_SECS = 60


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        tag = self.path.removeprefix("/record/")
        count = self.server.owner._record(tag, body)
        self._answer({"count": count})

    def do_GET(self):  # noqa: N802
        name = self.path.removeprefix("/gate/")
        opened = self.server.owner._gate(name).wait(GATE_MAX_WAIT_SECS)
        self._answer({"opened": opened})

    def _answer(self, doc):
        data = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args):
        pass


class Recorder:
    """`url` is the base; `records(tag)` the bodies posted under a tag, oldest first."""

    def __init__(self):
        self._server = None
        self.url = ""
        self._changed = threading.Condition()
        self._records: dict[str, list[bytes]] = {}
        self._gates: dict[str, threading.Event] = {}

    def _record(self, tag: str, body: bytes) -> int:
        with self._changed:
            bodies = self._records.setdefault(tag, [])
            bodies.append(body)
            self._changed.notify_all()
            return len(bodies)

    def _gate(self, name: str) -> threading.Event:
        with self._changed:
            return self._gates.setdefault(name, threading.Event())

    def open_gate(self, name: str) -> None:
        self._gate(name).set()

    def records(self, tag: str) -> list[bytes]:
        with self._changed:
            return list(self._records.get(tag, []))

    def wait_for(self, tag: str, count: int, timeout: float = 30) -> list[bytes]:
        """The records of `tag` once there are at least `count`; fails after `timeout` s."""
        with self._changed:
            ok = self._changed.wait_for(lambda: len(self._records.get(tag, [])) >= count, timeout)
            found = list(self._records.get(tag, []))
        assert ok, f"expected {count} record(s) under {tag!r} within {timeout} s, got {len(found)}"
        return found

    def __enter__(self) -> "Recorder":
        self._server = outside.world().http_server(_Handler)
        self._server.owner = self
        self.url = self._server.url
        return self

    def __exit__(self, *_exc):
        for gate in list(self._gates.values()):
            gate.set()
        self._server.shutdown()
        self._server.server_close()


# The code a handler uses to reach the recorder (stdlib only). RECORDER_URL comes from the
# function's environment variables.
CLIENT_SOURCE = '''
import json as _json
import os as _os
import urllib.request as _request

def record(tag, doc):
    req = _request.Request(
        _os.environ["RECORDER_URL"] + "/record/" + tag, data=_json.dumps(doc).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with _request.urlopen(req, timeout=60) as resp:
        return _json.loads(resp.read())["count"]

def wait_gate(name):
    with _request.urlopen(_os.environ["RECORDER_URL"] + "/gate/" + name, timeout=90) as resp:
        return _json.loads(resp.read())["opened"]
'''
