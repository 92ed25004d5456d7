"""`--max-environments-per-function 1`: while one invocation is in flight, another invoke
of the same function is throttled with 429 TooManyRequestsException (spec §8); the limit is
per function, and once the first finishes the function is invocable again."""

import threading

import pytest

from harness import make_client
from helpers import client_error, raw_of
from invoke_support import deploy, fn_name, handler_zip, invoke, mlam, start_module_server  # noqa: F401
from recorder_double import CLIENT_SOURCE, Recorder

THROTTLE_REASONS = {
    "ConcurrentInvocationLimitExceeded",
    "FunctionInvocationRateLimitExceeded",
    "ReservedFunctionConcurrentInvocationLimitExceeded",
    "ReservedFunctionInvocationRateLimitExceeded",
    "CallerRateLimitExceeded",
    "ConcurrentSnapshotCreateLimitExceeded",
}


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    yield from start_module_server(request, tmp_path_factory, "--max-environments-per-function", "1")


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


@pytest.fixture
def busy(module_server, mlam, fn_name, recorder):
    """A function whose only environment is held by an invocation waiting at a gate.
    Yields the function name; at teardown opens the gate and checks that invocation."""
    gate = f"gate-{fn_name}"
    code = handler_zip(f"""
        from recorder_client import record, wait_gate

        def lambda_handler(event, context):
            record("{fn_name}", event)
            return wait_gate("{gate}")
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(mlam, fn_name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}})
    held = {}
    thread = threading.Thread(target=lambda: held.update(out=invoke(make_client(module_server.url), fn_name)))
    thread.start()
    try:
        recorder.wait_for(fn_name, 1)
        yield fn_name
    finally:
        recorder.open_gate(gate)
        thread.join(timeout=120)
    assert held["out"].function_error is None
    assert held["out"].json() is True


def throttled(lam, name):
    return client_error(invoke, lam, name)


def test_a_second_concurrent_invoke_is_429_too_many_requests(mlam, busy):
    err = throttled(mlam, busy)

    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err.response["Error"]["Code"] == "TooManyRequestsException"
    assert err.response["Error"]["Message"] == "Rate Exceeded."
    assert raw_of(mlam).headers["x-amzn-errortype"].split(":")[0] == "TooManyRequestsException"


def test_the_429_names_a_throttle_reason(mlam, busy):
    throttled(mlam, busy)

    body = raw_of(mlam).json()
    assert body.get("Reason") in THROTTLE_REASONS, body


def test_the_limit_is_per_function(mlam, busy, fn_name):
    other = fn_name + "-other"
    deploy(mlam, other, "def lambda_handler(event, context):\n    return 'other'\n")

    assert invoke(mlam, other).json() == "other"


def test_once_the_invocation_finishes_the_function_is_invocable_again(module_server, mlam, fn_name, recorder):
    code = handler_zip(f"""
        from recorder_client import record

        def lambda_handler(event, context):
            return record("{fn_name}", event)
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(mlam, fn_name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}})

    assert [invoke(mlam, fn_name).json() for _ in range(3)] == [1, 2, 3]
