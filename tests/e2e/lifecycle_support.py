"""Shared pieces of the tests of callers that go away and of shutdown: a function that reports
when its handler starts and ends, and a raw-socket caller that sends an Invoke and hangs up once
the handler runs.

The handler posts `{"id": <event id>, "request_id": ...}` under `<name>-start` when it starts and
under `<name>-end` when it returns, to a recorder on loopback (recorder_double.py).
"""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.parse
import uuid

import pytest

from helpers import REGION, sigv4_headers
from invoke_support import deploy, handler_zip
from recorder_double import CLIENT_SOURCE, Recorder

# The raw-socket callers are unsigned, so they reach functions of the server's own region:
# servers they call are started with these arguments.
RAW_CALLER_ARGS = ("--region", REGION)
# Upper bound for one caller to get its invocation running (it retries while throttled).
START_DEADLINE_SECS = 30


def deploy_reporting(lam, name: str, recorder: Recorder, **kwargs) -> None:
    """A function that records its start and its end, sleeping `event["sleep"]` seconds
    between them."""
    code = handler_zip(f"""
        import time
        from recorder_client import record

        def lambda_handler(event, context):
            doc = {{"id": event.get("id"), "request_id": context.aws_request_id}}
            record("{name}-start", doc)
            time.sleep(event.get("sleep", 0))
            record("{name}-end", doc)
            return "ok"
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(lam, name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}}, **kwargs)


def records(recorder: Recorder, tag: str) -> list[dict]:
    return [json.loads(body) for body in recorder.records(tag)]


def started_ids(recorder: Recorder, name: str) -> set[str]:
    return {r["id"] for r in records(recorder, f"{name}-start")}


def send_invoke(url: str, name: str, event: dict) -> socket.socket:
    """Sends a signed synchronous Invoke on a socket of its own and returns the socket,
    without reading the answer."""
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    body = json.dumps(event).encode()
    path = f"/2015-03-31/functions/{name}/invocations"
    headers = sigv4_headers(
        "POST", url, path,
        {"Host": u.netloc, "Content-Type": "application/json", "Content-Length": str(len(body))}, body,
    )
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body)
    return sock


def start_abandoned_invoke(url: str, recorder: Recorder, name: str, sleep: float) -> socket.socket:
    """An Invoke whose handler is running, its caller still connected (the caller closes the
    returned socket to go away). While the function is throttled (429, its environments busy)
    the caller tries again, for up to START_DEADLINE_SECS."""
    deadline = time.monotonic() + START_DEADLINE_SECS
    answers = []
    while time.monotonic() < deadline:
        event_id = uuid.uuid4().hex
        sock = send_invoke(url, name, {"sleep": sleep, "id": event_id})
        while time.monotonic() < deadline:
            if event_id in started_ids(recorder, name):
                return sock
            readable, _, _ = select.select([sock], [], [], 0.02)
            if readable:
                # Answered before its handler ran: throttled, so the slots are all taken.
                answer = sock.recv(200)
                sock.close()
                status = answer.split(b"\r\n", 1)[0]
                assert status.startswith(b"HTTP/1.1 429"), f"unexpected answer: {answer!r}"
                answers.append(status)
                time.sleep(0.05)
                break
    pytest.fail(f"no invocation of {name} started within {START_DEADLINE_SECS} s "
                f"({len(answers)} answers 429: every slot stayed taken)")
