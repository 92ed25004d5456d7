"""Shared pieces of the function URL and response streaming tests: deploying Python and Node.js
handlers, curl against a URL, and signing a raw request with botocore's SigV4Auth."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from dataclasses import dataclass

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from function_support import ROLE
from helpers import ACCESS_KEY, REGION, SECRET_KEY
from invoke_support import handler_zip
from zips import simple_zip

CURL_TIMEOUT_SECS = 120

# Writes three pieces 700 ms apart, behind an HTTP prelude when the event asks for one.
NODE_STREAMING = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const pause = () => new Promise((ok) => setTimeout(ok, 700));
  let stream = responseStream;
  if (event.requestContext) {
    stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 207, headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' }, cookies: ['s=1'] });
  } else {
    stream.setContentType('text/plain');
  }
  if (event.fail) {
    stream.write('partial;');
    throw new Error('failed midway');
  }
  for (const piece of ['one;', 'two;', 'three;']) {
    stream.write(piece);
    await pause();
  }
  stream.end();
});
"""


def deploy_python(lam, name: str, source: str, **kwargs) -> dict:
    """CreateFunction of a python3.11 handler `lambda_function.lambda_handler` (source dedented)."""
    return lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip(source)}, **kwargs,
    )


def deploy_node(lam, name: str, source: str, **kwargs) -> dict:
    """CreateFunction of a nodejs20.x function whose `index.js` is `source` (handler `index.handler`)."""
    return lam.create_function(
        FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
        Code={"ZipFile": simple_zip({"index.js": source.encode()})}, **kwargs,
    )


def streaming_client(url: str):
    """A boto3 Lambda client without the raw recorder (which would read a streamed body whole)."""
    return boto3.client(
        "lambda", endpoint_url=url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10),
    )


@dataclass
class CurlResponse:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def json(self):
        return json.loads(self.body)


def curl(url: str, *args: str, data: bytes | None = None) -> CurlResponse:
    """Runs `curl -sS -i url args…` (`data` sent as the body from stdin) and parses its answer."""
    cmd = ["curl", "-sS", "-i", "--max-time", str(CURL_TIMEOUT_SECS), *args, url]
    if data is not None:
        cmd[1:1] = ["--data-binary", "@-"]
    done = subprocess.run(cmd, input=data, capture_output=True, timeout=CURL_TIMEOUT_SECS + 10)
    assert done.returncode == 0, f"curl failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
    return parse_http(done.stdout)


def parse_http(raw: bytes) -> CurlResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    # A `100 Continue` comes first when curl sent `Expect`.
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return CurlResponse(status, headers, body)


def curl_pieces(url: str, *args: str) -> list[tuple[float, bytes]]:
    """Runs `curl -sS -N url args…` and returns what its stdout gave, piece by piece, each with
    the seconds since the start at which it arrived."""
    start = time.monotonic()
    proc = subprocess.Popen(["curl", "-sS", "-N", "--max-time", str(CURL_TIMEOUT_SECS), *args, url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pieces = []
    fd = proc.stdout.fileno()
    while True:
        ready, _, _ = select.select([fd], [], [], CURL_TIMEOUT_SECS)
        assert ready, "curl gave nothing for too long"
        data = os.read(fd, 65536)
        if not data:
            break
        pieces.append((time.monotonic() - start, data))
    assert proc.wait(timeout=30) == 0, proc.stderr.read().decode(errors="replace")
    return pieces


def signed_headers(method: str, url: str, body: bytes = b"", secret: str = SECRET_KEY,
                   headers: dict[str, str] | None = None, access_key: str = ACCESS_KEY) -> list[str]:
    """curl `-H` arguments of a request signed with SigV4 for service `lambda` by botocore."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(access_key, secret), "lambda", REGION).add_auth(request)
    args = []
    for name, value in request.headers.items():
        args += ["-H", f"{name}: {value}"]
    return args
