"""AWS's published extension and wrapper samples (tests/e2e/aws_samples, byte for byte as in
aws-samples/aws-lambda-extensions), built, published and attached the way their READMEs say,
and run under Lamina. What each README says its function's log shows on AWS is what the log
shows here.

    python-example-extension   pip install -r requirements.txt -t .; zip -r extension.zip .;
                               aws lambda publish-layer-version ... --zip-file fileb://extension.zip
    nodejs-example-extension   the same with npm install
    python-example-wrapper,    function code with wrapper_script beside lambda_function.py and
    bash-example-wrapper       AWS_LAMBDA_EXEC_WRAPPER=/var/task/wrapper_script
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import AwsCli
from invoke_support import fn_name, function_log, invoke, simple_zip  # noqa: F401 (fixture)

SAMPLES = Path(__file__).parent / "aws_samples"
DEPS = Path(__file__).resolve().parents[2] / "target" / "aws-samples-deps"
ROLE = "arn:aws:iam::123456789012:role/lambda-role"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def sh(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"


def sample(tmp_path: Path, name: str) -> Path:
    """A working copy of a sample (modes kept), as a user's checkout would be."""
    work = tmp_path / name
    shutil.copytree(SAMPLES / name, work)
    return work


def deps(path: str) -> Path:
    found = DEPS / path
    if not found.exists():
        raise RuntimeError(f"{found} missing: run scripts/prepare-tests")
    return found


def publish(cli: AwsCli, server, work: Path, layer_name: str) -> str:
    """The README's steps: `zip -r extension.zip .`, then publish-layer-version."""
    sh(["zip", "-q", "-r", "extension.zip", "."], work)
    out = cli("lambda", "publish-layer-version", "--layer-name", layer_name,
              "--zip-file", "fileb://extension.zip", "--endpoint-url", server.url, cwd=work)
    return out["LayerVersionArn"]


def create(cli: AwsCli, server, work: Path, fn_name: str, runtime: str, handler: str, files: dict[str, bytes],
           *extra: str) -> None:
    (work / "function.zip").write_bytes(simple_zip(files))
    cli("lambda", "create-function", "--function-name", fn_name, "--runtime", runtime, "--handler", handler,
        "--role", ROLE, "--zip-file", "fileb://function.zip", *extra, "--endpoint-url", server.url, cwd=work)
    cli("lambda", "wait", "function-active-v2", "--function-name", fn_name, "--endpoint-url", server.url)


def received_events(lines: list[str], prefix: str) -> list[dict]:
    return [json.loads(line.removeprefix(prefix)) for line in lines if line.startswith(prefix)]


@pytest.fixture
def cli(tmp_path):
    return AwsCli(tmp_path / "aws-home")


def test_the_python_example_extension_logs_what_its_readme_shows(start_server, client_for, cli, tmp_path,
                                                                  venv_python, fn_name, layer_name):
    server = start_server()
    lam = client_for(server)
    work = sample(tmp_path, "python-example-extension")
    # "pip3 install -r requirements.txt -t ." in the extension's directory (offline here).
    sh([str(venv_python), "-m", "pip", "install", "--quiet",
        "--disable-pip-version-check", "--no-index", "--find-links", str(deps("python-example-extension-wheels")),
        "-r", "requirements.txt", "-t", "."], work / "python-example-extension")
    arn = publish(cli, server, work, layer_name)
    handler = b"def lambda_handler(event, context):\n    print('function ran')\n    return 'ok'\n"
    create(cli, server, work, fn_name, "python3.11", "lambda_function.lambda_handler",
           {"lambda_function.py": handler}, "--layers", arn)

    for _ in range(2):
        out = invoke(lam, fn_name)
        assert out.function_error is None, out.payload
        assert out.json() == "ok"
    lines = function_log(server, fn_name)
    request_ids = [line.split()[2] for line in lines if line.startswith("START RequestId: ")]
    assert len(request_ids) == 2, lines

    name = "python-example-extension"
    assert f"EXTENSION\tName: {name}\tState: Ready\tEvents: [INVOKE, SHUTDOWN]" in lines, lines
    assert f"{name}  launching extension" in lines, lines
    assert f"[{name}] Registering..." in lines, lines
    assert any(re.fullmatch(rf"\[{name}\] Registered with ID: {UUID}", line) for line in lines), lines
    assert f"[{name}] Waiting for event..." in lines, lines
    events = received_events(lines, f"[{name}] Received event: ")
    assert [e["requestId"] for e in events] == request_ids, lines
    for event in events:
        assert event["eventType"] == "INVOKE"
        assert event["invokedFunctionArn"].endswith(f":function:{fn_name}"), event
        assert event["tracing"]["type"] == "X-Amzn-Trace-Id", event
        assert isinstance(event["deadlineMs"], int), event
    # Each INVOKE reached the extension before its invoke's REPORT.
    for request_id in request_ids:
        event_at = next(i for i, l in enumerate(lines) if request_id in l and "Received event" in l)
        report_at = next(i for i, l in enumerate(lines) if l.startswith(f"REPORT RequestId: {request_id}"))
        assert event_at < report_at, lines

    server.stop()
    # The log is read through the API: a server started again on the data dir serves it.
    assert f"[{name}] Received SHUTDOWN event. Exiting." in function_log(server.start(), fn_name)


def test_the_nodejs_example_extension_runs_on_a_nodejs_function(start_server, client_for, cli, tmp_path,
                                                                fn_name, layer_name):
    server = start_server()
    lam = client_for(server)
    work = sample(tmp_path, "nodejs-example-extension")
    # `npm install` in the extension's directory (its node_modules fetched ahead, offline here).
    shutil.copytree(deps("nodejs-example-extension/node_modules"), work / "nodejs-example-extension" / "node_modules")
    arn = publish(cli, server, work, layer_name)
    handler = b"exports.handler = async () => { console.log('function ran'); return 'ok'; };\n"
    create(cli, server, work, fn_name, "nodejs20.x", "index.handler", {"index.js": handler}, "--layers", arn)

    out = invoke(lam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json() == "ok"
    lines = function_log(server, fn_name)
    name = "nodejs-example-extension"
    assert f"EXTENSION\tName: {name}\tState: Ready\tEvents: [INVOKE, SHUTDOWN]" in lines, lines
    assert f"{name}  launching extension" in lines, lines
    for said in ("hello from extension", "register", "next", "invoke"):
        assert said in lines, (said, lines)
    assert any(re.fullmatch(rf"extensionId {UUID}", line) for line in lines), lines

    server.stop()
    # The log is read through the API: a server started again on the data dir serves it.
    lines = function_log(server.start(), fn_name)
    # `console.log('shutdown', { event })`: Node prints the object over several lines.
    shutdown_at = lines.index("shutdown {")
    assert "eventType: 'SHUTDOWN'," in [l.strip() for l in lines[shutdown_at:]], "\n".join(lines)


@pytest.mark.parametrize("sample_name", ["python-example-wrapper", "bash-example-wrapper"])
def test_a_wrapper_sample_adds_importtime_to_the_python_runtime(start_server, client_for, cli, tmp_path, fn_name,
                                                                sample_name):
    server = start_server()
    lam = client_for(server)
    work = sample(tmp_path, sample_name)
    # "Create a Lambda function ... that includes both the wrapper_script and lambda_function.py"
    sh(["zip", "-q", "function.zip", "wrapper_script", "lambda_function.py"], work)
    cli("lambda", "create-function", "--function-name", fn_name, "--runtime", "python3.12",
        "--handler", "lambda_function.lambda_handler", "--role", ROLE, "--zip-file", "fileb://function.zip",
        "--environment", json.dumps({"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper_script"}}),
        "--endpoint-url", server.url, cwd=work)

    out = invoke(lam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json() == {"statusCode": 200, "body": json.dumps("Hello from Lambda!")}
    lines = function_log(server, fn_name)
    # `python -X importtime` writes one line per import to stderr: the function's log.
    timings = [line for line in lines if line.startswith("import time:")]
    assert timings, lines
    assert any(line.endswith("| json") for line in timings), timings
