"""`aws lambda invoke` as users type it: raw JSON `--payload` (the venv's CLI is v1, which
sends it as is; v2 would need `--cli-binary-format raw-in-base64-out`), `--qualifier`,
`--log-type Tail` and the three invocation types, read from what the CLI prints and writes."""

import base64
import json

import pytest

from harness import AwsCli
from invoke_support import deploy, fn_name, mlam  # noqa: F401

ECHO = """
import os

def lambda_handler(event, context):
    print("cli invoke of", os.environ["AWS_LAMBDA_FUNCTION_VERSION"])
    return {"event": event, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture
def cli_invoke(cli, module_server, tmp_path):
    """`cli_invoke(name, *args)` → (what the CLI printed, the response file's bytes)."""

    def run(name, *args):
        out_file = tmp_path / "response.json"
        printed = cli(
            "lambda", "invoke", "--function-name", name, "--endpoint-url", module_server.url, *args, str(out_file),
        )
        return printed, out_file.read_bytes()

    return run


@pytest.fixture
def function(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)
    mlam.publish_version(FunctionName=fn_name)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")
    return fn_name


def test_request_response_writes_the_result_and_prints_the_version(cli_invoke, function):
    printed, body = cli_invoke(function, "--payload", '{"from": "cli"}')

    assert printed == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(body) == {"event": {"from": "cli"}, "version": "$LATEST"}


def test_an_alias_qualifier_runs_its_version(cli_invoke, function):
    printed, body = cli_invoke(function, "--qualifier", "live", "--payload", "{}")

    assert printed["ExecutedVersion"] == "1"
    assert json.loads(body)["version"] == "1"


def test_log_type_tail_prints_the_log_in_base64(cli_invoke, function):
    printed, _ = cli_invoke(function, "--log-type", "Tail")

    log = base64.b64decode(printed["LogResult"]).decode()
    assert "START RequestId: " in log
    assert "cli invoke of $LATEST" in log
    assert "REPORT RequestId: " in log


def test_event_prints_202_and_dry_run_204(cli_invoke, function):
    event, event_body = cli_invoke(function, "--invocation-type", "Event", "--payload", "{}")
    dry, dry_body = cli_invoke(function, "--invocation-type", "DryRun")

    assert event == {"StatusCode": 202}
    assert dry == {"StatusCode": 204}
    assert event_body == dry_body == b""
