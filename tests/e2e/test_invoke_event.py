"""Event invokes (spec §8): 202 at once with an empty body, the function really runs in the
background, and a failing run is retried twice (3 runs in total).

The server retries after 0.2 s and 0.4 s (`--async-retry-delay-secs 0.2`). Functions leave
evidence with a local recorder (see recorder_double.py)."""

import json
import time

import pytest

from helpers import raw_of
from invoke_support import (  # noqa: F401 - fixtures
    deploy_recording, fn_name, function_log, mlam, start_lines, start_module_server,
)
from recorder_double import Recorder

RETRY_DELAY_SECS = 0.2
# After the last retry, how long nothing more may happen: well past the longest retry delay
# (0.4 s), so a fourth run would have started by then.
QUIET_SECS = 2.0


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    yield from start_module_server(request, tmp_path_factory, "--async-retry-delay-secs", str(RETRY_DELAY_SECS))


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def test_event_answers_202_with_an_empty_body_while_the_function_still_runs(mlam, fn_name, recorder):
    gate = f"gate-{fn_name}"
    deploy_recording(mlam, fn_name, recorder, f"""
        from recorder_client import record, wait_gate

        def lambda_handler(event, context):
            record("{fn_name}-started", event)
            opened = wait_gate("{gate}")
            record("{fn_name}-finished", {{"opened": opened}})
    """)

    out = mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"job": 7}')

    assert out["StatusCode"] == 202
    assert raw_of(mlam).body == b""
    assert [json.loads(b) for b in recorder.wait_for(f"{fn_name}-started", 1)] == [{"job": 7}]
    assert recorder.records(f"{fn_name}-finished") == []
    recorder.open_gate(gate)
    assert [json.loads(b) for b in recorder.wait_for(f"{fn_name}-finished", 1)] == [{"opened": True}]


def test_event_of_a_failing_function_has_no_function_error_header(mlam, fn_name, recorder):
    deploy_recording(mlam, fn_name, recorder, "def lambda_handler(event, context):\n    raise ValueError('x')\n")

    mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{}")

    assert "x-amz-function-error" not in raw_of(mlam).headers


def test_a_failing_event_runs_three_times_in_total(mlam, module_server, fn_name, recorder):
    deploy_recording(mlam, fn_name, recorder, f"""
        from recorder_client import record

        def lambda_handler(event, context):
            record("{fn_name}", {{"request_id": context.aws_request_id}})
            raise RuntimeError("always fails")
    """)

    mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{}")

    recorder.wait_for(fn_name, 3)
    time.sleep(QUIET_SECS)  # a fourth run would have started by now
    assert len(recorder.records(fn_name)) == 3
    assert len(start_lines(function_log(module_server, fn_name))) == 3


def test_a_succeeding_event_runs_once(mlam, module_server, fn_name, recorder):
    deploy_recording(mlam, fn_name, recorder, f"""
        from recorder_client import record

        def lambda_handler(event, context):
            record("{fn_name}", event)
            return "ok"
    """)

    mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{}")

    recorder.wait_for(fn_name, 1)
    time.sleep(QUIET_SECS)  # a retry would have started by now
    assert len(recorder.records(fn_name)) == 1
    assert len(start_lines(function_log(module_server, fn_name))) == 1


def test_an_event_payload_over_1_mb_is_413_request_too_large(mlam, fn_name, recorder):
    from helpers import assert_aws_error, client_error

    deploy_recording(mlam, fn_name, recorder, "def lambda_handler(event, context):\n    return 1\n")
    payload = b'"' + b"a" * (1_048_576 - 1) + b'"'

    err = client_error(mlam.invoke, FunctionName=fn_name, InvocationType="Event", Payload=payload)

    assert_aws_error(mlam, err, 413, "RequestTooLargeException")
