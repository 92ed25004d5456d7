"""Small helpers shared by the end-to-end tests: raw HTTP, error checks, data-dir inspection."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import select
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-west-2"
# The root key every test server is started with (LAMINA_ROOT_ACCESS_KEY_ID/SECRET).
ACCESS_KEY = "AKIDLAMINAE2E0000000"
SECRET_KEY = "lamina-e2e-dummy-secret"
CREATED_DATE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
NOT_FOUND = "The resource you requested does not exist."
HTTP_TIMEOUT_SECS = 120


def layer_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{name}"


def layer_version_arn(name: str, version: int, region: str = REGION) -> str:
    return f"{layer_arn(name, region)}:{version}"


def code_sha256(data: bytes) -> str:
    """`Content.CodeSha256` as AWS spells it: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- raw HTTP ---------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes

    def json(self):
        return json.loads(self.body)


def _connect(base_url: str) -> http.client.HTTPConnection:
    u = urllib.parse.urlsplit(base_url)
    assert u.scheme == "http", base_url
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=HTTP_TIMEOUT_SECS)


def sigv4_headers(
    method: str,
    base_url: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = b"",
    region: str = REGION,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
) -> dict[str, str]:
    """`headers` plus the SigV4 headers botocore adds for this request (`X-Amz-Date`,
    `Authorization`), signed with the test servers' root key. With `body=None` the body is
    not hashed: the request says `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD` (for streamed
    bodies). `Host` is signed as given in `headers`, else as the URL's."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = dict(headers or {})
    if body is None:
        headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    request = AWSRequest(method=method, url=base_url + path, data=body or b"", headers=headers)
    SigV4Auth(Credentials(access_key, secret_key), "lambda", region).add_auth(request)
    return dict(request.headers.items())


def raw_request(
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    sign: bool = True,
    region: str = REGION,
) -> RawResponse:
    """One request, signed with the test servers' root key for `region` unless `sign` is
    false (unsigned requests are refused unless the server runs with `--auth none`, which then
    uses its --region for ARNs)."""
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    if sign and "Authorization" not in headers:
        headers = sigv4_headers(method, base_url, path, headers, body or b"", region)
    conn = _connect(base_url)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def http_get(url: str) -> RawResponse:
    """GET an absolute URL (e.g. a `Content.Location`) without following redirects."""
    u = urllib.parse.urlsplit(url)
    path = u.path + (f"?{u.query}" if u.query else "")
    return raw_request(f"{u.scheme}://{u.netloc}", "GET", path, sign=False)


def post_oversize_zip_body(base_url: str, method: str, path: str, head: bytes, tail: bytes, limit: int) -> RawResponse:
    """Streams `head + "AAAA..." + tail`, one JSON body just over `limit` bytes whose ZipFile is
    valid base64, without ever holding it in memory."""
    b64_len = limit + 1 - len(head) - len(tail)
    b64_len += -b64_len % 4
    length = len(head) + b64_len + len(tail)

    def chunks():
        yield head
        chunk = b"A" * (1 << 20)
        left = b64_len
        while left:
            n = min(left, len(chunk))
            yield chunk[:n]
            left -= n
        yield tail

    headers = {"Content-Type": "application/json", "Content-Length": str(length)}
    headers = sigv4_headers(method, base_url, path, headers, None)
    return raw_streamed_request(base_url, method, path, headers, chunks())


def raw_streamed_request(base_url: str, method: str, path: str, head: dict[str, str], chunks) -> RawResponse:
    """Sends `chunks` as the body but stops as soon as the server answers (it may refuse a
    huge body before reading it), then reads the response."""
    u = urllib.parse.urlsplit(base_url)
    sock = socket.create_connection((u.hostname, u.port), timeout=HTTP_TIMEOUT_SECS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        lines = [f"{method} {path} HTTP/1.1"]
        if not any(k.lower() == "host" for k in head):
            lines.append(f"Host: {u.netloc}")
        lines += [f"{k}: {v}" for k, v in head.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        sock.close()


# --- boto3 ------------------------------------------------------------------------------------


class RawRecorder:
    """Keeps the last raw HTTP response a boto3 client received (success or error)."""

    def __init__(self) -> None:
        self.last: RawResponse | None = None

    def __call__(self, http_response, **_kwargs) -> None:
        self.last = RawResponse(
            http_response.status_code,
            {k.lower(): v for k, v in http_response.headers.items()},
            http_response.content,
        )


def raw_of(client) -> RawResponse:
    """The raw response behind the client's last call."""
    last = client._lamina_raw.last
    assert last is not None, "no call recorded"
    return last


def client_error(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return exc.value


def assert_aws_error(
    client,
    err: ClientError,
    status: int,
    code: str,
    message: str | None = None,
    *,
    prefix: str | None = None,
    contains: str | None = None,
) -> str:
    """Checks an error as botocore saw it and as it went over the wire; returns the message."""
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status, err.response
    assert err.response["Error"]["Code"] == code, err.response
    raw = raw_of(client)
    assert raw.status == status
    assert raw.headers.get("x-amzn-errortype", "").split(":")[0] == code, raw.headers
    assert raw.headers.get("x-amzn-requestid"), raw.headers
    text = assert_error_body(raw.body, code)
    if message is not None:
        assert text == message
    if prefix is not None:
        assert text.startswith(prefix), text
    if contains is not None:
        assert contains in text, text
    return text


# Unmodeled errors carry only {"message"}; modeled ones add "Type":"User"; ResourceNotFound
# (and ServiceException) spell it "Message".
_BODY_KEYS = {
    "ValidationException": {"message"},
    "RequestEntityTooLargeException": {"message"},
    "IncompleteSignatureException": {"message"},
    "UnrecognizedClientException": {"message"},
    "InvalidSignatureException": {"message"},
    "MissingAuthenticationTokenException": {"message"},
    "AccessDeniedException": {"message"},
    "ResourceNotFoundException": {"Type", "Message"},
}


def assert_error_body(body: bytes, code: str) -> str:
    doc = json.loads(body)
    expected = _BODY_KEYS.get(code, {"Type", "message"})
    assert set(doc) == expected, f"{code} body keys: {doc}"
    if "Type" in doc:
        assert doc["Type"] == "User", doc
    return doc.get("message", doc.get("Message"))


# --- data dir ---------------------------------------------------------------------------------


def tree_dir(data_dir: Path, zip_bytes: bytes) -> Path:
    hexdigest = hashlib.sha256(zip_bytes).hexdigest()
    return data_dir / "trees" / "sha256" / hexdigest[:2] / hexdigest


def stored_leftovers(data_dir: Path) -> list[str]:
    """Everything under blobs/sha256, trees/sha256 and tmp (without following symlinks)."""
    found = []
    for sub in ("blobs/sha256", "trees/sha256", "tmp"):
        root = data_dir / sub
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                found.append(os.path.relpath(os.path.join(dirpath, name), data_dir))
    return sorted(found)
