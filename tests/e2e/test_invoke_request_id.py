"""One request id per invocation (spec §8): the Invoke response's `x-amzn-RequestId` is the
handler's `context.aws_request_id` and the RequestId of its START/END/REPORT lines, and an
`Event` invocation keeps it across its retries.

The server retries failed events after 0.2 s and 0.4 s (`--async-retry-delay-secs 0.2`)."""

import json
import time

import pytest

from helpers import raw_of
from invoke_support import (  # noqa: F401 - fixtures
    deploy, fn_name, function_log, handler_zip, mlam, start_module_server,
)
from recorder_double import CLIENT_SOURCE, Recorder

RETRY_DELAY_SECS = 0.2
# After the last run, how long nothing more may happen: well past the longest retry delay.
QUIET_SECS = 2.0
LOG_WAIT_SECS = 30


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    yield from start_module_server(request, tmp_path_factory, "--async-retry-delay-secs", str(RETRY_DELAY_SECS))


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def lifecycle_lines(server, name: str, count: int) -> list[str]:
    """The function's START, END and REPORT lines once there are `count` REPORT lines (they
    are written as each run ends, so possibly just after the handler's side effects)."""
    deadline = time.monotonic() + LOG_WAIT_SECS
    while True:
        lines = [line for line in function_log(server, name) if line.startswith(("START ", "END ", "REPORT "))]
        if sum(line.startswith("REPORT ") for line in lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_a_request_response_invoke_has_one_request_id(mlam, module_server, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return context.aws_request_id\n")

    out = mlam.invoke(FunctionName=fn_name, Payload=b"{}")

    request_id = out["ResponseMetadata"]["RequestId"]
    assert json.loads(raw_of(mlam).body) == request_id
    lines = lifecycle_lines(module_server, fn_name, 1)
    assert [line.split("\t")[0] for line in lines] == [
        f"START RequestId: {request_id} Version: $LATEST",
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}",
    ]


def test_a_failed_invoke_names_its_request_id_in_the_log(mlam, module_server, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    raise ValueError(context.aws_request_id)\n")

    out = mlam.invoke(FunctionName=fn_name, Payload=b"{}")

    request_id = out["ResponseMetadata"]["RequestId"]
    assert out["FunctionError"] == "Unhandled"
    assert json.loads(raw_of(mlam).body)["errorMessage"] == request_id
    lines = lifecycle_lines(module_server, fn_name, 1)
    assert len(lines) == 3
    assert all(line.split("\t")[0].split(" ")[2] == request_id for line in lines), lines


def test_an_event_keeps_its_request_id_across_retries(mlam, module_server, fn_name, recorder):
    code = handler_zip(f"""
        from recorder_client import record

        def lambda_handler(event, context):
            attempt = record("{fn_name}", {{"request_id": context.aws_request_id}})
            if attempt < 3:
                raise RuntimeError(f"attempt {{attempt}} fails")
            return "ok"
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(mlam, fn_name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}})

    out = mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{}")

    assert out["StatusCode"] == 202
    request_id = out["ResponseMetadata"]["RequestId"]
    runs = recorder.wait_for(fn_name, 3)
    assert [json.loads(body)["request_id"] for body in runs] == [request_id] * 3
    time.sleep(QUIET_SECS)  # the third run succeeded: a fourth would have started by now
    assert len(recorder.records(fn_name)) == 3
    lines = lifecycle_lines(module_server, fn_name, 3)
    assert [line.split(" ")[0] for line in lines] == ["START", "END", "REPORT"] * 3
    assert {line.split("\t")[0].split(" ")[2] for line in lines} == {request_id}
