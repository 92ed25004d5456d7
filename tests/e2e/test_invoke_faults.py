"""Faults that end an environment (spec §6 lifecycle, §8 payloads): a timeout, the runtime
exiting mid-invoke, an init failure. Each is reported, and the next invoke gets a fresh
environment instead of a stuck one."""

import json
import re

import pytest

from invoke_support import deploy, fn_name, handler_zip, invoke, mlam  # noqa: F401
from recorder_double import CLIENT_SOURCE, Recorder

COUNTER = """
import sys
import time

INVOCATIONS = 0

def lambda_handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "exit" in event:
        sys.exit(event["exit"])
    return INVOCATIONS
"""


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def request_id_of(log_tail: str) -> str:
    return re.match(r"START RequestId: (\S+) ", log_tail).group(1)


def test_a_timeout_is_sandbox_timedout_with_the_request_id(mlam, fn_name):
    deploy(mlam, fn_name, COUNTER, Timeout=1)

    out = invoke(mlam, fn_name, {"sleep": 30}, LogType="Tail")

    request_id = request_id_of(out.log_result)
    assert out.function_error == "Unhandled"
    assert out.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert f"{request_id} Task timed out after 1.00 seconds" in out.log_result


def test_after_a_timeout_the_next_invoke_runs_in_a_fresh_environment(mlam, fn_name):
    deploy(mlam, fn_name, COUNTER, Timeout=1)
    assert [invoke(mlam, fn_name).json() for _ in range(2)] == [1, 2]

    timed_out = invoke(mlam, fn_name, {"sleep": 30})
    after = invoke(mlam, fn_name)

    assert timed_out.json()["errorType"] == "Sandbox.Timedout"
    assert after.function_error is None
    assert after.json() == 1


def test_sys_exit_in_the_handler_is_runtime_exit_error_with_the_status(mlam, fn_name):
    deploy(mlam, fn_name, COUNTER)

    out = invoke(mlam, fn_name, {"exit": 3}, LogType="Tail")

    request_id = request_id_of(out.log_result)
    assert out.function_error == "Unhandled"
    assert out.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
    }


def test_sys_exit_zero_is_runtime_exit_error_without_a_reason(mlam, fn_name):
    deploy(mlam, fn_name, COUNTER)

    out = invoke(mlam, fn_name, {"exit": 0}, LogType="Tail")

    request_id = request_id_of(out.log_result)
    assert out.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited without providing a reason",
    }


def test_after_an_exit_the_next_invoke_runs_in_a_fresh_environment(mlam, fn_name):
    deploy(mlam, fn_name, COUNTER)
    assert [invoke(mlam, fn_name).json() for _ in range(2)] == [1, 2]

    invoke(mlam, fn_name, {"exit": 3})

    assert invoke(mlam, fn_name).json() == 1


def test_after_an_init_failure_the_next_invoke_inits_again(mlam, fn_name, recorder):
    # The module fails to import on its first init only: the recorder counts the inits.
    code = handler_zip(f"""
        from recorder_client import record

        INIT = record("{fn_name}", {{}})
        if INIT == 1:
            raise RuntimeError("first init fails")

        def lambda_handler(event, context):
            return {{"init": INIT}}
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(mlam, fn_name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}})

    first = invoke(mlam, fn_name)
    second = invoke(mlam, fn_name)

    assert first.function_error == "Unhandled"
    assert first.json()["errorType"] == "RuntimeError"
    assert first.json()["errorMessage"] == "first init fails"
    assert second.function_error is None, second.payload
    assert second.json() == {"init": 2}
    assert len(recorder.records(fn_name)) == 2


def test_a_persistent_init_failure_is_reported_on_every_invoke(mlam, fn_name):
    deploy(mlam, fn_name, 'raise RuntimeError("never works")\n')

    errors = [json.loads(invoke(mlam, fn_name).payload) for _ in range(3)]

    assert [e["errorMessage"] for e in errors] == ["never works"] * 3
