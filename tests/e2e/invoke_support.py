"""Shared pieces of the invoke tests: handler ZIPs, deploying, invoking, the function log.

Functions run as python3.11 (Debian's /usr/bin/python3.11) unless a test says otherwise.
Test modules import the fixtures they use (`fn_name`, `mlam`) like `function_support`'s.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import textwrap
from dataclasses import dataclass

import pytest

from function_support import HANDLER, ROLE, fn_name  # noqa: F401 - fn_name: a fixture, re-exported
from harness import LAMINA_BIN, LaminaServer, make_client
from helpers import ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, raw_of
from recorder_double import CLIENT_SOURCE
from zips import build_zip, file, simple_zip

RUNTIME = "python3.11"


def handler_zip(source: str, files: dict[str, bytes] | None = None, module: str = "lambda_function") -> bytes:
    """A function ZIP with `source` (dedented) as `<module>.py`, plus `files`."""
    contents = {f"{module}.py": textwrap.dedent(source).encode()}
    contents.update(files or {})
    return simple_zip(contents)


def deploy(lam, name: str, source: str | None = None, *, zip_bytes: bytes | None = None, **kwargs) -> dict:
    """CreateFunction for a python3.11 handler `lambda_function.lambda_handler` with `source`."""
    args = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": HANDLER,
        "Code": {"ZipFile": zip_bytes if zip_bytes is not None else handler_zip(source)},
    }
    args.update(kwargs)
    return lam.create_function(**args)


def deploy_recording(lam, name: str, recorder, source: str, **kwargs) -> dict:
    """CreateFunction for `source`, which may import `recorder_client` to reach `recorder`
    (see recorder_double.py); `kwargs` go to CreateFunction."""
    code = handler_zip(source, {"recorder_client.py": CLIENT_SOURCE.encode()})
    return deploy(lam, name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}}, **kwargs)


@dataclass
class Invoked:
    """One Invoke as boto3 returned it."""

    status: int
    payload: bytes
    function_error: str | None
    executed_version: str | None
    log_result: str | None
    """`LogResult` decoded from base64, when asked for with `LogType: Tail`."""

    def json(self):
        return json.loads(self.payload)


def invoke(lam, name: str, event=None, *, raw: bytes | None = None, **kwargs) -> Invoked:
    """Invoke with `event` as JSON (or `raw` bytes), returning status, payload and headers."""
    payload = raw if raw is not None else json.dumps({} if event is None else event).encode()
    out = lam.invoke(FunctionName=name, Payload=payload, **kwargs)
    log = out.get("LogResult")
    return Invoked(
        status=out["StatusCode"],
        # The client's raw recorder (harness.make_client) has already drained the stream.
        payload=raw_of(lam).body,
        function_error=out.get("FunctionError"),
        executed_version=out.get("ExecutedVersion"),
        log_result=base64.b64decode(log).decode("utf-8", "replace") if log is not None else None,
    )


def log_stem(name: str) -> str:
    """A function's log file name without `.log`: its account (the tests' root key's) and its
    name, so two accounts' functions of one name never share a log."""
    return f"{ACCOUNT}.{name}"


def lamina_logs_env(access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> dict[str, str]:
    """The environment `lamina logs` runs in: the tests' root key (or the key given), signing
    for the tests' region."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "LAMINA_DATA_DIR"}
    env.update({"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key, "AWS_REGION": REGION})
    return env


def function_log(server: LaminaServer, name: str) -> list[str]:
    """The function's log through `lamina logs NAME --endpoint-url URL` (the Logs API), without
    timestamps. Split on newlines only: an awslambdaric-style error is one line joined with
    `\\r`."""
    result = subprocess.run(
        [str(LAMINA_BIN), "logs", name, "--endpoint-url", server.url],
        capture_output=True, timeout=120,  # bytes: text mode would turn each \r into a newline
        env=lamina_logs_env(),
    )
    assert result.returncode == 0, f"lamina logs failed:\n{result.stderr.decode(errors='replace')}"
    lines = []
    for line in result.stdout.decode().split("\n")[:-1]:
        stamp, tab, text = line.partition("\t")
        assert tab, f"log line without a timestamp: {line!r}"
        lines.append(text)
    return lines


def start_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("START RequestId: ")]


def start_module_server(request, tmp_path_factory, *args: str):
    """A server for one test module started with `args`, registered as the module's server
    (its log is attached to failing tests that use `module_server`). Yields it."""
    root = tmp_path_factory.mktemp("lamina-module")
    server = LaminaServer(root / "data", root / "lamina.log", list(args)).start()
    request.node._lamina_module_server = server
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mlam(module_server):
    """boto3 Lambda client for the module's server, region us-west-2."""
    return make_client(module_server.url)


def zip_with_modes(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A ZIP whose entries carry Unix permissions: `{name: (data, mode)}`, e.g. 0o755."""
    return build_zip([file(name, data, mode) for name, (data, mode) in files.items()])
