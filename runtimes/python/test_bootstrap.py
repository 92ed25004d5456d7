"""Tests for Lamina's Python runtime bootstrap (runtimes/python/bootstrap.py).

Run from the repository root with any Python that has pytest:

    python3 -m pytest runtimes/python -q

Environment variables:

LAMINA_RIC_PYTHON
    REQUIRED for the parity tests (they FAIL, never skip, without it): a
    python executable that has the real ``awslambdaric`` installed, e.g.

        /usr/bin/python3 -m venv /tmp/ric
        /tmp/ric/bin/pip install awslambdaric pytest
        LAMINA_RIC_PYTHON=/tmp/ric/bin/python /tmp/ric/bin/python -m pytest runtimes/python -q

    awslambdaric 4.x needs Python >= 3.10.  Both awslambdaric and our
    bootstrap are run with that same interpreter, so stack traces that name
    stdlib files (importlib) compare byte for byte.

LAMINA_BOOTSTRAP_PYTHON
    Interpreter that runs bootstrap.py in the other tests (default: the one
    running pytest).  Use it to check each supported version (3.8 - 3.13).

Every test starts a fake Runtime API (http.server, HTTP/1.1 keep-alive,
TCP_NODELAY) on 127.0.0.1 that serves scripted events and records every
request the runtime makes.
"""

import ast
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP = os.path.join(HERE, "bootstrap.py")
BOOT_PY = os.environ.get("LAMINA_BOOTSTRAP_PYTHON") or sys.executable
API_PREFIX = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
RUN_TIMEOUT = 60


# ---------------------------------------------------------------------------
# Fake Runtime API


class Recorded(object):
    def __init__(self, method, path, headers, body, client):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.client = client

    def __repr__(self):
        return "Recorded(%s %s %r %r)" % (self.method, self.path, self.headers, self.body[:200])


class FakeRuntimeAPI(object):
    """Serves ``events`` to GET next, then ends as ``when_done`` says:

    "500"   answer 500 (the runtime must exit non-zero),
    "hold"  keep the request open until close() (the runtime stays idle),
    "drop"  close the connection without an answer.
    """

    def __init__(self, events=(), prefix="", when_done="500", post_status=202,
                 connection_close=False, silent_close_after_next=False):
        self.events = list(events)
        self.prefix = prefix
        self.when_done = when_done
        self.post_status = post_status
        self.connection_close = connection_close
        self.silent_close_after_next = silent_close_after_next
        self.requests = []
        self.cond = threading.Condition()
        self.released = threading.Event()
        self.served = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                BaseHTTPRequestHandler.setup(self)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def do_GET(self):
                api._on_get(self)

            def do_POST(self):
                api._on_post(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d%s" % (self.port, self.prefix)

    def close(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- recording ---------------------------------------------------------

    def _record(self, handler, body):
        rec = Recorded(handler.command, handler.path,
                       dict((k.lower(), v) for k, v in handler.headers.items()),
                       body, handler.client_address)
        with self.cond:
            self.requests.append(rec)
            self.cond.notify_all()
        return rec

    def posts(self):
        with self.cond:
            return [r for r in self.requests if r.method == "POST"]

    def wait_for(self, predicate, timeout=20):
        deadline = time.time() + timeout
        with self.cond:
            while not predicate(self.requests):
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timed out; requests so far: %r" % (self.requests,))
                self.cond.wait(left)

    # -- serving -----------------------------------------------------------

    def _send(self, handler, status, body, headers=()):
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        if self.connection_close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    def _on_get(self, handler):
        self._record(handler, b"")
        if handler.path != self.prefix + API_PREFIX + "/invocation/next":
            self._send(handler, 404, b'{"errorType":"NotFound","errorMessage":"bad path"}',
                       [("Content-Type", "application/json")])
            return
        with self.cond:
            event = self.events.pop(0) if self.events else None
        if event is None:
            if self.when_done == "500":
                self._send(handler, 500,
                           b'{"errorType":"Runtime.Shutdown","errorMessage":"no more events"}',
                           [("Content-Type", "application/json")])
            else:
                if self.when_done == "hold":
                    self.released.wait(RUN_TIMEOUT)
                handler.close_connection = True
            return
        self.served += 1
        if event.get("delay"):
            time.sleep(event["delay"])  # a long poll
        request_id = event.get("request_id") or "req-%d" % self.served
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60000),
            "Lambda-Runtime-Invoked-Function-Arn": ARN,
            "Lambda-Runtime-Trace-Id": "Root=1-5e1b4151-5ac6c58f3bd7e5d1e2a3a9c4;Parent=1;Sampled=0",
        }
        headers.update(event.get("headers") or {})
        body = event.get("body", b"{}")
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._send(handler, 200, body,
                   [(k, v) for k, v in headers.items() if v is not None])
        if self.silent_close_after_next:
            handler.close_connection = True

    def _on_post(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self._record(handler, body)
        if self.post_status == 202:
            self._send(handler, 202, b'{"status":"OK"}', [("Content-Type", "application/json")])
        else:
            self._send(handler, self.post_status,
                       b'{"errorType":"X","errorMessage":"rejected"}',
                       [("Content-Type", "application/json")])


# ---------------------------------------------------------------------------
# Helpers


def write_files(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))


@pytest.fixture
def task(tmp_path):
    root = tmp_path / "task"
    root.mkdir()
    return str(root)


def base_env(api, task_dir, extra=None):
    env = dict(
        (k, v) for k, v in os.environ.items()
        if not (k.startswith("AWS_") or k.startswith("_") or k.startswith("LAMBDA_")
                or k.startswith("LAMINA_") or k.startswith("PYTHON"))
    )
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": task_dir,
        "LAMINA_OPT_ROOT": os.path.join(os.path.dirname(task_dir), "no-opt"),
        "TZ": ":UTC",
    })
    env.update(extra or {})
    return env


def run_bootstrap(api, task_dir, handler, extra_env=None, python=None, timeout=RUN_TIMEOUT):
    env = base_env(api, task_dir, extra_env)
    env["_HANDLER"] = handler
    return subprocess.run([python or BOOT_PY, BOOTSTRAP], cwd=task_dir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def run_ric(api, task_dir, handler, extra_env=None, timeout=RUN_TIMEOUT):
    env = base_env(api, task_dir, extra_env)
    env["_HANDLER"] = handler
    return subprocess.run([ric_python(), "-m", "awslambdaric", handler], cwd=task_dir,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def one_post(api):
    posts = api.posts()
    assert len(posts) == 1, posts
    return posts[0]


def ev(body, **kw):
    kw["body"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return kw


# ---------------------------------------------------------------------------
# Invocations


def test_success_response_exact(task):
    write_files(task, {"app.py": """
        def handler(event, context):
            return {"echo": event, "n": 1, "s": "h\\u00e9llo", "f": 1.5, "t": (1, 2)}
    """})
    with FakeRuntimeAPI([ev(b'{"a": [1, 2]}', request_id="id-1")]) as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3, p.stderr
    post = one_post(api)
    assert post.path == API_PREFIX + "/invocation/id-1/response"
    assert post.body == b'{"echo": {"a": [1, 2]}, "n": 1, "s": "h\\u00e9llo", "f": 1.5, "t": [1, 2]}'
    assert post.headers["content-type"] == "application/json"
    assert [r.path for r in api.requests if r.method == "GET"] == [
        API_PREFIX + "/invocation/next"] * 2
    assert b"GET next: HTTP 500" in p.stderr


def test_none_is_null(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return None\n"})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler")
    assert one_post(api).body == b"null"


def test_bytes_result_is_raw(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return b'\\xff\\x00raw'\n"})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler")
    post = one_post(api)
    assert post.body == b"\xff\x00raw"
    assert post.headers["content-type"] == "application/unknown"


def test_unicode_kept_for_python312_env(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return {'s': 'h\\u00e9'}\n"})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"})
    assert one_post(api).body == '{"s": "h\u00e9"}'.encode("utf-8")


def test_decimal_and_nested_bytes(task):
    write_files(task, {"app.py": """
        from decimal import Decimal
        def handler(event, context):
            return {"d": Decimal("1.10"), "n": Decimal("NaN"), "b": b"x", b"k": [Decimal("-0")]}
    """})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler")
    assert one_post(api).body == b'{"d": 1.10, "n": NaN, "b": "x", "k": [-0]}'


def test_context_attributes_and_remaining_time(task):
    write_files(task, {"app.py": """
        import os
        def handler(event, context):
            cc = context.client_context
            return {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "cognito_identity_id": context.identity.cognito_identity_id,
                "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
                "custom": cc.custom, "env": cc.env,
                "installation_id": cc.client.installation_id,
                "app_title": cc.client.app_title,
                "w3c": context.w3c(),
                "tenant_id": context.tenant_id,
                "remaining": context.get_remaining_time_in_millis(),
                "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            }
    """})
    deadline = int(time.time() * 1000) + 30000
    headers = {
        "Lambda-Runtime-Deadline-Ms": str(deadline),
        "Lambda-Runtime-Client-Context": json.dumps({
            "client": {"installation_id": "inst-1"}, "custom": {"k": "v"},
            "env": {"platform": "x"}, "w3c": {"traceparent": "00-abc-01", "other": "no"}}),
        "Lambda-Runtime-Cognito-Identity": json.dumps({
            "cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}),
        "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
        "Lambda-Runtime-Trace-Id": "Root=1-abc;Parent=def;Sampled=1",
    }
    with FakeRuntimeAPI([ev({}, request_id="rid-9", headers=headers)]) as api:
        run_bootstrap(api, task, "app.handler")
    out = json.loads(one_post(api).body)
    remaining = out.pop("remaining")
    assert 20000 < remaining <= 30000
    assert out == {
        "function_name": "fn", "function_version": "$LATEST", "invoked_function_arn": ARN,
        "memory_limit_in_mb": "128", "aws_request_id": "rid-9",
        "log_group_name": "/aws/lambda/fn",
        "log_stream_name": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "cognito_identity_id": "cid", "cognito_identity_pool_id": "pool",
        "custom": {"k": "v"}, "env": {"platform": "x"}, "installation_id": "inst-1",
        "app_title": None, "w3c": {"traceparent": "00-abc-01"}, "tenant_id": "tenant-7",
        "trace": "Root=1-abc;Parent=def;Sampled=1",
    }


def test_context_without_optional_headers(task):
    write_files(task, {"app.py": """
        import os
        def handler(event, context):
            return [context.client_context, context.identity.cognito_identity_id,
                    context.tenant_id, os.environ.get("_X_AMZN_TRACE_ID"),
                    context.get_remaining_time_in_millis()]
    """})
    past = str(int(time.time() * 1000) - 5000)
    with FakeRuntimeAPI([ev({}, headers={"Lambda-Runtime-Trace-Id": None,
                                         "Lambda-Runtime-Deadline-Ms": past})]) as api:
        run_bootstrap(api, task, "app.handler", {"_X_AMZN_TRACE_ID": "stale"})
    assert json.loads(one_post(api).body) == [None, None, None, None, 0]


def test_path_prefix_form(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return event\n"})
    with FakeRuntimeAPI([ev({"x": 1}, request_id="r1")], prefix="/abcd1234") as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3
    paths = [r.path for r in api.requests]
    assert paths == [
        "/abcd1234/2018-06-01/runtime/invocation/next",
        "/abcd1234/2018-06-01/runtime/invocation/r1/response",
        "/abcd1234/2018-06-01/runtime/invocation/next",
    ]
    assert one_post(api).body == b'{"x": 1}'


def test_large_event_and_response(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return event\n"})
    big = {"blob": "x" * (5 * 1024 * 1024), "n": list(range(1000))}
    body = json.dumps(big)
    with FakeRuntimeAPI([ev(body), ev(body)]) as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3
    assert [post.body for post in api.posts()] == [body.encode()] * 2


def test_non_json_content_type_passes_bytes(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return repr(event)\n"})
    with FakeRuntimeAPI([ev(b"hi", headers={"Content-Type": "text/plain"})]) as api:
        run_bootstrap(api, task, "app.handler")
    assert one_post(api).body == b'"b\'hi\'"'


def test_handler_exception_payload_and_log(task):
    write_files(task, {"app.py": """
        def helper(x):
            raise ValueError("Handler fails: %s" % x)

        def handler(event, context):
            return helper(event["v"])
    """})
    with FakeRuntimeAPI([ev({"v": 3}, request_id="rq")]) as api:
        p = run_bootstrap(api, task, "app.handler")
    post = one_post(api)
    app = os.path.join(task, "app.py")
    assert post.path == API_PREFIX + "/invocation/rq/error"
    expected = {
        "errorMessage": "Handler fails: 3",
        "errorType": "ValueError",
        "requestId": "rq",
        "stackTrace": [
            '  File "%s", line 6, in handler\n    return helper(event["v"])\n' % app,
            '  File "%s", line 3, in helper\n    raise ValueError("Handler fails: %%s" %% x)\n' % app,
        ],
    }
    assert post.body == json.dumps(expected).encode()
    assert post.headers["lambda-runtime-function-error-type"] == "ValueError"
    cause = json.loads(post.headers["lambda-runtime-function-xray-error-cause"])
    assert cause["exceptions"][0]["type"] == "ValueError"
    assert [s["label"] for s in cause["exceptions"][0]["stack"]] == ["handler", "helper"]
    nb = "\u00a0"
    log = (
        "[ERROR] ValueError: Handler fails: 3\rTraceback (most recent call last):\r"
        + nb * 2 + 'File "%s", line 6, in handler\r' % app
        + nb * 4 + 'return helper(event["v"])\r'
        + nb * 2 + 'File "%s", line 3, in helper\r' % app
        + nb * 4 + 'raise ValueError("Handler fails: %s" % x)\n'
    )
    assert p.stdout.decode("utf-8") == log


def test_marshal_error(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return {1, 2}\n"})
    with FakeRuntimeAPI([ev({}, request_id="m1")]) as api:
        p = run_bootstrap(api, task, "app.handler")
    post = one_post(api)
    assert post.path == API_PREFIX + "/invocation/m1/error"
    assert post.body == (
        b'{"errorMessage": "Unable to marshal response: Object of type set is not JSON '
        b'serializable", "errorType": "Runtime.MarshalError", "requestId": "m1", '
        b'"stackTrace": []}')
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.MarshalError"
    assert p.stdout == (
        b"[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type set "
        b"is not JSON serializable\rTraceback (most recent call last):\n")


def test_unmarshal_error(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})
    with FakeRuntimeAPI([ev(b"not json", request_id="u1")]) as api:
        run_bootstrap(api, task, "app.handler")
    assert json.loads(one_post(api).body) == {
        "errorMessage": "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)",
        "errorType": "Runtime.UnmarshalError", "requestId": "u1", "stackTrace": []}


def test_warm_reuse_keeps_module_state(task):
    write_files(task, {"app.py": """
        import os
        COUNT = [0]
        def handler(event, context):
            COUNT[0] += 1
            return [COUNT[0], os.getpid()]
    """})
    with FakeRuntimeAPI([ev({}), ev({}), ev({})]) as api:
        run_bootstrap(api, task, "app.handler")
    results = [json.loads(p.body) for p in api.posts()]
    assert [r[0] for r in results] == [1, 2, 3]
    assert len(set(r[1] for r in results)) == 1


def test_keep_alive_uses_one_connection(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})
    with FakeRuntimeAPI([ev({}), ev({}), ev({})]) as api:
        run_bootstrap(api, task, "app.handler")
    assert len(api.requests) == 7
    assert len(set(r.client for r in api.requests)) == 1


def test_reconnects_when_server_says_connection_close(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return event\n"})
    with FakeRuntimeAPI([ev({"i": 1}), ev({"i": 2})], connection_close=True) as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3
    assert [p.body for p in api.posts()] == [b'{"i": 1}', b'{"i": 2}']
    assert len(set(r.client for r in api.requests)) == 5


def test_reconnects_after_silent_idle_close(task):
    # The server closes the keep-alive connection while the handler runs,
    # without announcing it: the response must still arrive (once).
    write_files(task, {"app.py": """
        import time
        def handler(event, context):
            time.sleep(0.3)
            return event
    """})
    with FakeRuntimeAPI([ev({"i": 1}), ev({"i": 2})], silent_close_after_next=True) as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3, p.stderr
    assert [p.body for p in api.posts()] == [b'{"i": 1}', b'{"i": 2}']


def test_long_poll_ignores_user_default_socket_timeout(task):
    write_files(task, {"app.py": """
        import socket
        socket.setdefaulttimeout(0.2)
        def handler(event, context):
            return event
    """})
    with FakeRuntimeAPI([ev({"i": 1}, delay=1.0), ev({"i": 2}, delay=1.0)],
                        connection_close=True) as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3, p.stderr
    assert [p.body for p in api.posts()] == [b'{"i": 1}', b'{"i": 2}']


def test_print_reaches_stdout_before_the_process_ends(task):
    write_files(task, {"app.py": """
        import sys
        def handler(event, context):
            print("line-from-handler")
            sys.stderr.write("err-from-handler\\n")
            return 1
    """})
    with FakeRuntimeAPI([ev({})], when_done="hold") as api:
        env = base_env(api, task, {"_HANDLER": "app.handler"})
        proc = subprocess.Popen([BOOT_PY, BOOTSTRAP], cwd=task, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            api.wait_for(lambda reqs: len([r for r in reqs if r.method == "GET"]) == 2)
            for stream, text in ((proc.stdout, b"line-from-handler\n"),
                                 (proc.stderr, b"err-from-handler\n")):
                got = b""
                deadline = time.time() + 10
                while len(got) < len(text) and time.time() < deadline:
                    ready, _, _ = select.select([stream], [], [], 0.5)
                    if ready:
                        got += os.read(stream.fileno(), 4096)
                assert got == text, "not on the pipe while the runtime is idle: %r" % (got,)
            assert proc.poll() is None
        finally:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------
# Failure of the Runtime API: exit non-zero, never hang


def test_exits_nonzero_on_5xx(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})
    with FakeRuntimeAPI([]) as api:
        start = time.time()
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3
    assert time.time() - start < 10
    assert b"HTTP 500" in p.stderr


def test_exits_nonzero_when_connection_drops(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})
    with FakeRuntimeAPI([ev({})], when_done="drop") as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3
    assert len(api.posts()) == 1
    assert b"connection to the Runtime API lost" in p.stderr


def test_exits_nonzero_when_api_unreachable(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    class Dead(object):
        address = "127.0.0.1:%d" % port

    p = run_bootstrap(Dead(), task, "app.handler")
    assert p.returncode == 3
    assert b"cannot connect" in p.stderr


def test_missing_runtime_api_variable(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})

    class NoApi(object):
        address = ""

    p = run_bootstrap(NoApi(), task, "app.handler")
    assert p.returncode == 2


def test_4xx_on_response_keeps_serving(task):
    write_files(task, {"app.py": "def handler(event, context):\n    return 1\n"})
    with FakeRuntimeAPI([ev({}), ev({})], post_status=413) as api:
        p = run_bootstrap(api, task, "app.handler")
    assert p.returncode == 3
    assert len(api.posts()) == 2
    assert b"HTTP 413" in p.stderr


def test_no_hang_with_non_daemon_threads(task):
    write_files(task, {"app.py": """
        import threading, time
        threading.Thread(target=time.sleep, args=(1000,)).start()
        def handler(event, context):
            if event.get("exit"):
                raise SystemExit(7)
            return 1
    """})
    with FakeRuntimeAPI([ev({})]) as api:
        p = run_bootstrap(api, task, "app.handler", timeout=20)
    assert p.returncode == 3
    with FakeRuntimeAPI([ev({"exit": True})]) as api:
        p = run_bootstrap(api, task, "app.handler", timeout=20)
    assert p.returncode == 7
    assert api.posts() == []


# ---------------------------------------------------------------------------
# Init errors


def init_error(api):
    post = one_post(api)
    assert post.path == API_PREFIX + "/init/error"
    assert not [r for r in api.requests if r.method == "GET"]
    return post


def expect_init_error(task, handler, payload, files=None):
    write_files(task, files or {"app.py": "def handler(event, context):\n    return 1\n"})
    with FakeRuntimeAPI([ev({})]) as api:
        p = run_bootstrap(api, task, handler)
    assert p.returncode == 1, p.stderr
    post = init_error(api)
    assert post.body == json.dumps(payload).encode("ascii")
    assert post.headers["lambda-runtime-function-error-type"] == payload["errorType"]
    out = p.stdout.decode("utf-8")
    assert re.match(r"\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t\tLAMBDA_WARNING: "
                    r"Unhandled exception\. ", out), out
    head = "[ERROR] %s: %s\rTraceback (most recent call last):" % (
        payload["errorType"], payload["errorMessage"])
    assert ("\r\n" + head) in out, out
    return p


def test_import_module_error(task):
    expect_init_error(task, "missing.handler", {
        "errorMessage": "Unable to import module 'missing': No module named 'missing'",
        "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []})


def test_import_module_error_from_dependency(task):
    expect_init_error(task, "app.handler", {
        "errorMessage": "Unable to import module 'app': No module named 'lamina_missing_dependency'",
        "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []},
        {"app.py": "import lamina_missing_dependency\ndef handler(e, c):\n    return 1\n"})


def test_handler_not_found(task):
    expect_init_error(task, "app.nope", {
        "errorMessage": "Handler 'nope' missing on module 'app'",
        "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []})


def test_malformed_handler_name(task):
    expect_init_error(task, "apphandler", {
        "errorMessage": "Bad handler 'apphandler': not enough values to unpack (expected 2, got 1)",
        "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []})


def test_builtin_module_conflict(task):
    expect_init_error(task, "sys.handler", {
        "errorMessage": "Cannot use built-in module sys as a handler module",
        "errorType": "Runtime.BuiltInModuleConflict", "requestId": "", "stackTrace": []})


def test_user_code_syntax_error(task):
    path = os.path.join(task, "syn.py")
    expect_init_error(task, "syn.handler", {
        "errorMessage": "Syntax error in module 'syn': invalid syntax (syn.py, line 1)",
        "errorType": "Runtime.UserCodeSyntaxError", "requestId": "",
        "stackTrace": ['  File "%s" Line 1\n    def f(:\n' % path]},
        {"syn.py": "def f(:\n  pass\n"})


def test_import_time_exception(task):
    write_files(task, {"bad.py": 'import os\nx = 1\nraise RuntimeError("init fail")\n'})
    with FakeRuntimeAPI([ev({})]) as api:
        p = run_bootstrap(api, task, "bad.handler")
    assert p.returncode == 1
    post = init_error(api)
    payload = json.loads(post.body)
    assert post.headers["lambda-runtime-function-error-type"] == "RuntimeError"
    assert list(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["errorMessage"] == "init fail"
    assert payload["errorType"] == "RuntimeError"
    assert payload["requestId"] == ""
    trace = payload["stackTrace"]
    assert trace[-1] == '  File "%s", line 3, in <module>\n    raise RuntimeError("init fail")\n' % (
        os.path.join(task, "bad.py"))
    # As in awslambdaric (importlib.import_module): importlib's frames first.
    assert re.match(r'  File ".*importlib/__init__\.py", line \d+, in import_module\n', trace[0])
    assert all("importlib" in t for t in trace[:-1])
    assert not any("bootstrap.py" in t for t in trace)


def test_slash_and_dotted_handler_paths(task):
    write_files(task, {
        "sub/mod.py": "def handler(e, c):\n    return 'slash'\n",
        "pkg/__init__.py": "",
        "pkg/inner.py": "def handler(e, c):\n    return 'dotted'\n",
    })
    for handler, want in (("sub/mod.handler", b'"slash"'), ("pkg.inner.handler", b'"dotted"')):
        with FakeRuntimeAPI([ev({})]) as api:
            run_bootstrap(api, task, handler)
        assert one_post(api).body == want


# ---------------------------------------------------------------------------
# sys.path and layers


def test_sys_path_order_with_opt_root(tmp_path, task):
    opt = str(tmp_path / "opt")
    ver = "python%d.%d" % python_version(BOOT_PY)
    site = os.path.join(opt, "python", "lib", ver, "site-packages")
    write_files(opt, {
        "python/lib/%s/site-packages/shadow.py" % ver: "WHERE = 'site-packages'\n",
        "python/shadow.py": "WHERE = 'python'\n",
        "python/only_python.py": "WHERE = 'python'\n",
        "python/both.py": "WHERE = 'python'\n",
    })
    write_files(task, {
        "both.py": "WHERE = 'task'\n",
        "app.py": """
            import sys, shadow, only_python, both
            def handler(event, context):
                return {"shadow": shadow.WHERE, "only_python": only_python.WHERE,
                        "both": both.WHERE, "path": sys.path[:4]}
        """,
    })
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", {"LAMINA_OPT_ROOT": opt})
    out = json.loads(one_post(api).body)
    assert out["shadow"] == "site-packages"
    assert out["only_python"] == "python"
    assert out["both"] == "task"
    assert out["path"] == [task, site, os.path.join(opt, "python"), HERE]


def test_the_runtimes_own_boto3_comes_after_the_function_and_its_layers(tmp_path, task):
    # Lamina's runtime SDK (LAMINA_RUNTIME_SDK without a sandbox; in one, /var/runtime itself)
    # is searched after /var/task and the layer's directories, before the interpreter's own.
    opt, sdk = str(tmp_path / "opt"), str(tmp_path / "sdk")
    ver = "python%d.%d" % python_version(BOOT_PY)
    site = os.path.join(opt, "python", "lib", ver, "site-packages")
    write_files(sdk, {
        "boto3/__init__.py": "__version__ = 'runtime'\n",
        "sdk_only.py": "WHERE = 'runtime'\n",
        "in_layer.py": "WHERE = 'runtime'\n",
    })
    write_files(opt, {"python/in_layer.py": "WHERE = 'layer'\n"})
    write_files(task, {"app.py": """
        import os, sys, boto3, sdk_only, in_layer
        def handler(event, context):
            return [boto3.__version__, sdk_only.WHERE, in_layer.WHERE, sys.path[:5],
                    os.environ["PYTHONPATH"]]
    """})
    env = {"LAMINA_OPT_ROOT": opt, "LAMINA_RUNTIME_SDK": sdk, "LAMBDA_RUNTIME_DIR": HERE}
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", env)
    assert json.loads(one_post(api).body) == [
        "runtime", "runtime", "layer", [task, site, os.path.join(opt, "python"), sdk, HERE],
        HERE + ":" + sdk]
    # A layer's boto3 wins over the runtime's.
    write_files(opt, {"python/boto3/__init__.py": "__version__ = '0.0-layer'\n"})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", env)
    assert json.loads(one_post(api).body)[0] == "0.0-layer"


def test_pth_files_in_task_and_layers(tmp_path, task):
    opt = str(tmp_path / "opt")
    ver = "python%d.%d" % python_version(BOOT_PY)
    extra = str(tmp_path / "extra")
    write_files(str(tmp_path), {"extra/from_pth.py": "WHERE = 'pth'\n"})
    write_files(opt, {
        "python/lib/%s/site-packages/layer.pth" % ver: extra + "\nimport os; os.environ['LAYER_PTH'] = '1'\n",
    })
    write_files(task, {
        "task.pth": "import os; os.environ['TASK_PTH'] = '1'\n",
        "app.py": """
            import os, sys, from_pth
            def handler(event, context):
                return [from_pth.WHERE, os.environ.get("LAYER_PTH"), os.environ.get("TASK_PTH"),
                        sys.path.index(%r) > sys.path.index(%r)]
        """ % (extra, HERE),
    })
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", {"LAMINA_OPT_ROOT": opt})
    assert json.loads(one_post(api).body) == ["pth", "1", "1", True]


def test_pythonpath_for_children(task):
    write_files(task, {"app.py": """
        import os
        def handler(event, context):
            return os.environ.get("PYTHONPATH")
    """})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", {"LAMBDA_RUNTIME_DIR": "/var/runtime"})
    assert one_post(api).body == b'"/var/runtime"'
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler", {"LAMBDA_RUNTIME_DIR": "/var/runtime",
                                                 "PYTHONPATH": "/mine"})
    assert one_post(api).body == b'"/mine"'


def test_default_roots(task):
    write_files(task, {"app.py": """
        import sys
        def handler(event, context):
            return sys.path[:3]
    """})
    with FakeRuntimeAPI([ev({})]) as api:
        env = base_env(api, task, {"_HANDLER": "app.handler"})
        del env["LAMINA_OPT_ROOT"]
        subprocess.run([BOOT_PY, BOOTSTRAP, "app.handler"], cwd=task, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    ver = "python%d.%d" % python_version(BOOT_PY)
    assert json.loads(one_post(api).body) == [
        task, "/opt/python/lib/%s/site-packages" % ver, "/opt/python"]


def python_version(python):
    out = subprocess.check_output([python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"])
    return tuple(int(x) for x in out.split())


# ---------------------------------------------------------------------------
# logging


def test_logging_text_format(task):
    write_files(task, {"app.py": """
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        def handler(event, context):
            logger.info("hello %s", "world")
            logging.getLogger("child").warning("careful")
            return 1
    """})
    with FakeRuntimeAPI([ev({}, request_id="log-1")]) as api:
        p = run_bootstrap(api, task, "app.handler")
    ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(
        r"\[INFO\]\t%s\tlog-1\thello world\n\[WARNING\]\t%s\tlog-1\tcareful\n" % (ts, ts),
        p.stdout.decode()), p.stdout


def test_logging_json_format_and_level(task):
    write_files(task, {"app.py": """
        import logging
        def handler(event, context):
            logging.getLogger("x").debug("dbg")
            logging.getLogger("x").info("info", extra={"k": 1})
            return 1
    """})
    with FakeRuntimeAPI([ev({}, request_id="log-2")]) as api:
        p = run_bootstrap(api, task, "app.handler",
                          {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 1, lines
    rec = json.loads(lines[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec.pop("timestamp"))
    assert rec == {"level": "INFO", "message": "info", "logger": "x",
                   "requestId": "log-2", "k": 1}


def test_logging_not_imported_unless_user_does(task):
    write_files(task, {"app.py": """
        import sys
        def handler(event, context):
            return sorted(m for m in ("logging", "json", "http.client", "socket", "re")
                          if m in sys.modules)
    """})
    with FakeRuntimeAPI([ev({})]) as api:
        run_bootstrap(api, task, "app.handler")
    # Whatever the interpreter itself loads at start-up (site, .pth files) is
    # not the bootstrap's doing.
    baseline = json.loads(subprocess.check_output([BOOT_PY, "-c", (
        "import sys, json; print(json.dumps([m for m in ('logging', 'http.client', "
        "'socket', 're') if m in sys.modules]))")]))
    assert sorted(set(json.loads(one_post(api).body)) - set(baseline)) == []


# ---------------------------------------------------------------------------
# Source compatibility


def test_source_is_python38_compatible():
    with open(BOOTSTRAP) as f:
        source = f.read()
    ast.parse(source, filename=BOOTSTRAP, feature_version=(3, 8))
    for newer in (".removeprefix(", ".removesuffix(", "match ", " | None", "list[", "dict[",
                  "tuple[", "set[", "functools.cache(", "zoneinfo", "tomllib"):
        assert newer not in source, newer


STUB = "import sys\nfrom lamina_bootstrap import main\nmain(sys.argv)\n"


@pytest.mark.parametrize("layout", ["directory", "stub"])
def test_fast_start_layouts(tmp_path, task, layout):
    # The layouts README.md offers for a faster start, byte-compiled:
    # "directory": the same file as <dir>/__main__.py, run as `python <dir>`;
    # "stub": the file as <dir>/lamina_bootstrap.py, run through a 3-line script.
    runtime_dir = str(tmp_path / "runtime")
    os.makedirs(runtime_dir)
    if layout == "directory":
        shutil.copy(BOOTSTRAP, os.path.join(runtime_dir, "__main__.py"))
        command = [BOOT_PY, runtime_dir]
    else:
        shutil.copy(BOOTSTRAP, os.path.join(runtime_dir, "lamina_bootstrap.py"))
        with open(os.path.join(runtime_dir, "bootstrap.py"), "w") as f:
            f.write(STUB)
        command = [BOOT_PY, os.path.join(runtime_dir, "bootstrap.py")]
    subprocess.check_call([BOOT_PY, "-m", "compileall", "-q", runtime_dir])
    assert os.listdir(os.path.join(runtime_dir, "__pycache__"))
    write_files(task, {"app.py": """
        import sys
        def handler(event, context):
            if event.get("fail"):
                raise ValueError("dir mode")
            return sys.path[3]
    """})
    with FakeRuntimeAPI([ev({}), ev({"fail": True}, request_id="f")]) as api:
        env = base_env(api, task, {"_HANDLER": "app.handler"})
        p = subprocess.run(command, cwd=task, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    assert p.returncode == 3, p.stderr
    ok, failed = api.posts()
    assert json.loads(ok.body) == runtime_dir
    assert json.loads(failed.body)["stackTrace"] == [
        '  File "%s", line 5, in handler\n    raise ValueError("dir mode")\n' % (
            os.path.join(task, "app.py"))]


# ---------------------------------------------------------------------------
# Parity with the real awslambdaric


def ric_python():
    python = os.environ.get("LAMINA_RIC_PYTHON")
    if not python:
        pytest.fail(
            "LAMINA_RIC_PYTHON is not set: the parity tests need a python with the real "
            "awslambdaric installed, e.g. `/usr/bin/python3 -m venv /tmp/ric && "
            "/tmp/ric/bin/pip install awslambdaric` then LAMINA_RIC_PYTHON=/tmp/ric/bin/python")
    check = subprocess.run([python, "-c", "import awslambdaric"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check.returncode != 0:
        pytest.fail("LAMINA_RIC_PYTHON=%s cannot import awslambdaric: %s" % (
            python, check.stdout.decode(errors="replace")))
    return python


PARITY_FILES = {
    "ok.py": """
        from decimal import Decimal
        import collections
        def handler(event, context):
            return {"event": event, "u": "h\\u00e9llo \\u2603", "d": Decimal("1.10"),
                    "nested": [b"bytes", (1, 2.5), None, True, float("inf")],
                    "big": 2 ** 70, "keys": {1: "a", 2.5: "b", None: "c"}}
    """,
    "none.py": "def handler(event, context):\n    return None\n",
    "raw.py": "def handler(event, context):\n    return b'\\x00\\xffraw'\n",
    "text.py": "def handler(event, context):\n    return repr(event)\n",
    "errors.py": """
        class CustomError(Exception):
            pass

        def inner(kind):
            if kind == "other-file":
                from helpers import util
                return util.explode(kind)
            if kind == "value":
                raise ValueError("Handler fails")
            if kind == "custom":
                raise CustomError("multi\\nline \\u00e9", 2)
            if kind == "empty":
                raise KeyError()
            if kind == "set":
                return {1, 2}
            if kind == "print":
                print("printed", kind)
                return "printed"
            return kind

        def handler(event, context):
            return inner(event["kind"])
    """,
    "ctx.py": """
        import os
        def handler(event, context):
            context.log("via context.log\\n")
            return {"repr": repr(context).replace(str(context._epoch_deadline_time_in_ms), "D"),
                    "mem": context.memory_limit_in_mb, "identity": repr(context.identity),
                    "cc": repr(context.client_context), "w3c": context.w3c(),
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                    "left_ok": 0 < context.get_remaining_time_in_millis() <= 60000}
    """,
    "logs.py": """
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        def handler(event, context):
            logger.info("info %s", event)
            logging.getLogger("sub").warning("warn")
            print("plain print")
            if event.get("fail"):
                raise RuntimeError("after logging")
            return "logged"
    """,
    "helpers/__init__.py": "",
    "helpers/util.py": """
        def explode(kind):
            return {}[kind]
    """,
    "bad.py": 'import os\nVALUE = 1\nraise RuntimeError("init fail \\u00e9")\n',
    "dep.py": "import not_installed_dependency\ndef handler(e, c):\n    return 1\n",
    "syn.py": "def f(:\n    pass\n",
    "indent.py": "def f():\nreturn 1\n",
    "sub/mod.py": "def handler(e, c):\n    return 'sub'\n",
    "sysexit.py": "import sys\nsys.exit(4)\n",
}

EVENT_HEADERS = {
    "Lambda-Runtime-Client-Context": json.dumps({
        "client": {"installation_id": "i-1", "app_title": "t"}, "custom": {"k": "v"},
        "env": {"e": "1"}, "w3c": {"traceparent": "00-1-2-01", "junk": "x"}}),
    "Lambda-Runtime-Cognito-Identity": json.dumps({
        "cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}),
    "Lambda-Runtime-Aws-Tenant-Id": "tenant-1",
}

PARITY_CASES = [
    # (id, handler, events, extra env)
    ("ok", "ok.handler", [ev({"a": [1, 2], "s": "\u00e9"})], {}),
    ("ok-py312-env", "ok.handler", [ev({"a": 1})], {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}),
    ("none", "none.handler", [ev({})], {}),
    ("raw-bytes", "raw.handler", [ev({})], {}),
    ("text-event", "text.handler", [ev(b"plain", headers={"Content-Type": "text/plain"})], {}),
    ("bad-json-event", "text.handler", [ev(b"not json")], {}),
    ("errors", "errors.handler",
     [ev({"kind": k}) for k in ("value", "custom", "empty", "set", "print", "other-file",
                                "fine")], {}),
    ("errors-py312-env", "errors.handler", [ev({"kind": k}) for k in ("custom", "set")],
     {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}),
    ("errors-json-log", "errors.handler",
     [ev({"kind": k}) for k in ("value", "set")], {"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
    ("context", "ctx.handler", [ev({}, headers=EVENT_HEADERS), ev({})], {}),
    ("logging", "logs.handler", [ev({"x": 1}), ev({"fail": True})], {}),
    ("logging-json", "logs.handler", [ev({"x": 1}), ev({"fail": True})],
     {"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
    ("init-exception", "bad.handler", [ev({})], {}),
    ("init-exception-json-log", "bad.handler", [ev({})], {"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
    ("init-missing-dependency", "dep.handler", [ev({})], {}),
    ("init-missing-module", "nothere.handler", [ev({})], {}),
    ("init-handler-not-found", "ok.nothere", [ev({})], {}),
    ("init-malformed", "okhandler", [ev({})], {}),
    ("init-empty-module", ".handler", [ev({})], {}),
    ("init-syntax", "syn.handler", [ev({})], {}),
    ("init-indentation", "indent.handler", [ev({})], {}),
    ("init-builtin", "sys.handler", [ev({})], {}),
    ("init-sys-exit", "sysexit.handler", [ev({})], {}),
    ("slash-handler", "sub/mod.handler", [ev({})], {}),
]

_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")
_RIC_NEXT_FAILURE = re.compile(r"\[ERROR\] \[\d+\] LAMBDA_RUNTIME [^\n]*\n")


def observed(api, proc):
    """What a Lambda platform can see of a runtime: requests and stdout."""
    requests = []
    for r in api.requests:
        seen = {"method": r.method, "path": r.path, "body": r.body.decode("utf-8", "replace")}
        if r.method == "POST":
            if r.path.endswith("/response"):
                seen["content-type"] = r.headers.get("content-type")
            if r.path.endswith("/init/error"):
                seen["error-type"] = r.headers.get("lambda-runtime-function-error-type")
            cause = r.headers.get("lambda-runtime-function-xray-error-cause")
            if cause is not None:
                cause = json.loads(cause)
                cause["paths"] = sorted(cause["paths"])
                seen["xray"] = cause
        requests.append(seen)
    stdout = _RIC_NEXT_FAILURE.sub("", proc.stdout.decode("utf-8", "replace"))
    return {"requests": requests, "stdout": _TS.sub("<TS>", stdout),
            "init-failed": proc.returncode != 0 and not any(
                r.method == "GET" for r in api.requests),
            "exit-code-if-init-failed": proc.returncode if not any(
                r.method == "GET" for r in api.requests) else None}


@pytest.mark.parametrize("case", PARITY_CASES, ids=[c[0] for c in PARITY_CASES])
def test_parity_with_awslambdaric(tmp_path, case):
    python = ric_python()
    name, handler, events, extra = case
    task_dir = str(tmp_path / "task")
    os.makedirs(task_dir)
    write_files(task_dir, PARITY_FILES)
    results = {}
    for runtime in ("awslambdaric", "lamina"):
        with FakeRuntimeAPI([dict(e) for e in events]) as api:
            if runtime == "awslambdaric":
                proc = run_ric(api, task_dir, handler, extra)
            else:
                proc = run_bootstrap(api, task_dir, handler, extra, python=python)
        results[runtime] = observed(api, proc)
    if not name.startswith("init-"):
        # Guard against a broken fixture that makes both runtimes fail alike.
        assert any(r["method"] == "GET" for r in results["awslambdaric"]["requests"]), results
    assert results["lamina"] == results["awslambdaric"]


def test_marshalling_parity_with_awslambdaric():
    """Our JSON encoder against awslambdaric's simplejson one, value by value."""
    python = ric_python()
    script = r"""
import collections, datetime, decimal, enum, importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("lamina_bootstrap", sys.argv[1])
ours = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ours)
from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

class IE(enum.IntEnum):
    A = 1

class SE(str, enum.Enum):
    X = "x"

D = decimal.Decimal
values = [None, True, False, 0, -1, 1.5, -0.0, 1e300, 1e-7, float("nan"), float("inf"),
          -float("inf"), "", "plain", "\u00e9\u2028\u2029\x00\x1f\"\\/\x7f", "\U0001F600",
          [], {}, [1, (2, 3)], {"a": {"b": [None]}}, {1: 2, 2.5: 3, None: 4, True: 5},
          {False: 1}, D("1.10"), D("-0"), D("1E+5"), D("NaN"), D("sNaN"), D("Infinity"),
          D("-Infinity"), {"d": D("3.14159265358979323846264338327950288")},
          {"b": b"bytes"}, [b"\xc3\xa9"], {b"k": [b"v"]}, [b"\xff"], {1, 2}, frozenset(),
          IE.A, [IE.A], {IE.A: 1}, SE.X, {SE.X: SE.X}, 2 ** 100, -2 ** 64, object(),
          {(1, 2): 3}, {D("1"): 1}, bytearray(b"x"), collections.OrderedDict(a=1),
          ["x" * 10000], {"nested": [[[[[]]]]]}, datetime.date(2020, 1, 2),
          {datetime.date(2020, 1, 2): 1}, {"dt": datetime.datetime(2020, 1, 2)}]
results = []
for env in ("", "AWS_Lambda_python3.12", "AWS_Lambda_python3.13"):
    os.environ["AWS_EXECUTION_ENV"] = env
    ours.configure(os.environ)
    theirs = LambdaMarshaller()
    for v in values:
        try:
            a = ours.marshal_response(v)
            a = [a[0].decode("utf-8", "backslashreplace"), a[1]]
        except ours.Fault as e:
            a = ["FAULT", e.error_type, e.msg]
        try:
            b, ct = theirs.marshal_response(v)
            b = b.encode("utf-8") if isinstance(b, str) else b
            b = [b.decode("utf-8", "backslashreplace"), ct]
        except Exception as e:
            b = ["FAULT", getattr(e, "exception_type", type(e).__name__), getattr(e, "msg", str(e))]
        results.append([env, repr(v)[:60], a, b])
    for body in [b"{}", b'{"a": [1, 2.5, "\\u00e9", null, true]}', b"  [1]  ", b"\"s\"",
                 b"123456789012345678901234567890", b"1.5e3", b"", b"nul", b"\xff",
                 b'{"a":1,"a":2}', b'{"a" 1}', b"\xef\xbb\xbf{}"]:
        try:
            a = repr(ours.unmarshal_event(body, "application/json"))
        except ours.Fault as e:
            a = "FAULT " + e.msg
        try:
            b = repr(theirs.unmarshal_request(body, "application/json"))
        except Exception as e:
            b = "FAULT " + getattr(e, "msg", str(e))
        results.append([env, repr(body), a, b])
print(json.dumps(results))
"""
    out = subprocess.run([python, "-c", script, BOOTSTRAP], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    assert out.returncode == 0, out.stderr.decode()
    diffs = [r for r in json.loads(out.stdout) if r[2] != r[3]]
    assert diffs == [], "\n".join(repr(d) for d in diffs)
