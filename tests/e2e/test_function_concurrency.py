"""Reserved concurrency (PutFunctionConcurrency, GetFunctionConcurrency,
DeleteFunctionConcurrency) with boto3 and the AWS CLI, and its enforcement: 0 throttles every
invoke with AWS's 429 and Reason, N lets N invocations of the function run at once across its
versions, and the account's unreserved pool in GetAccountSettings is what reservations leave.

Invocations are held at a recorder gate, never timed: the test knows they run because the
recorder saw them."""

import threading

import pytest

from function_support import fn_name, not_found  # noqa: F401
from harness import make_client
from helpers import assert_aws_error, client_error, raw_of
from invoke_support import deploy, handler_zip, invoke, mlam  # noqa: F401
from recorder_double import CLIENT_SOURCE, Recorder

RESERVED_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
BELOW_MINIMUM = (
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [100]."
)


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def gated(lam, name: str, recorder: Recorder, **kwargs) -> str:
    """Deploys `name`, whose handler records its event under `name` and then waits at the
    gate it returns."""
    gate = f"gate-{name}"
    code = handler_zip(f"""
        from recorder_client import record, wait_gate

        def lambda_handler(event, context):
            record("{name}", event)
            return wait_gate("{gate}")
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(lam, name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}}, **kwargs)
    return gate


def assert_throttled(lam, err, reason: str) -> None:
    """AWS's 429: its body carries `Reason` beside the modeled error's members."""
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err.response["Error"]["Code"] == "TooManyRequestsException"
    raw = raw_of(lam)
    assert raw.headers["x-amzn-errortype"].split(":")[0] == "TooManyRequestsException"
    assert raw.json() == {"Type": "User", "message": "Rate Exceeded.", "Reason": reason}


def test_put_get_and_delete_with_boto3(module_server, mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n")
    assert mlam.get_function_concurrency(FunctionName=fn_name).get("ReservedConcurrentExecutions") is None
    assert raw_of(mlam).json() == {}

    put = mlam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=5)
    assert put["ReservedConcurrentExecutions"] == 5
    assert mlam.get_function_concurrency(FunctionName=fn_name)["ReservedConcurrentExecutions"] == 5
    assert mlam.get_function(FunctionName=fn_name)["Concurrency"] == {"ReservedConcurrentExecutions": 5}

    deleted = mlam.delete_function_concurrency(FunctionName=fn_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "Concurrency" not in mlam.get_function(FunctionName=fn_name)
    assert invoke(mlam, fn_name).json() == 1


def test_put_get_and_delete_with_the_aws_cli(module_server, mlam, aws, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n")
    endpoint = ("--endpoint-url", module_server.url)

    out = aws("lambda", "put-function-concurrency", *endpoint, "--function-name", fn_name,
              "--reserved-concurrent-executions", "7")
    assert out == {"ReservedConcurrentExecutions": 7}
    got = aws("lambda", "get-function-concurrency", *endpoint, "--function-name", fn_name)
    assert got == {"ReservedConcurrentExecutions": 7}
    assert aws("lambda", "delete-function-concurrency", *endpoint, "--function-name", fn_name) is None
    # `{}`, which the CLI prints as nothing.
    assert not aws("lambda", "get-function-concurrency", *endpoint, "--function-name", fn_name)


def test_errors(mlam, fn_name):
    err = client_error(mlam.put_function_concurrency, FunctionName=fn_name, ReservedConcurrentExecutions=1)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name))
    err = client_error(mlam.get_function_concurrency, FunctionName=fn_name)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name))
    err = client_error(mlam.delete_function_concurrency, FunctionName=fn_name)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name))

    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n")
    for too_many in [901, 5000]:
        err = client_error(mlam.put_function_concurrency, FunctionName=fn_name,
                           ReservedConcurrentExecutions=too_many)
        assert_aws_error(mlam, err, 400, "InvalidParameterValueException", BELOW_MINIMUM)
    assert mlam.get_function_concurrency(FunctionName=fn_name).get("ReservedConcurrentExecutions") is None


def test_the_account_keeps_a_hundred_unreserved(module_server, mlam, fn_name):
    limit = mlam.get_account_settings()["AccountLimit"]
    assert limit["ConcurrentExecutions"] == 1000
    before = limit["UnreservedConcurrentExecutions"]
    assert before == 1000

    first, second = fn_name, fn_name + "-2"
    for name in (first, second):
        deploy(mlam, name, "def lambda_handler(event, context):\n    return 1\n")
    mlam.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=300)
    assert mlam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 700
    mlam.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=600)
    assert mlam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100

    # Nothing more can be reserved: not even one, not by raising a reservation.
    err = client_error(mlam.put_function_concurrency, FunctionName=second, ReservedConcurrentExecutions=601)
    assert_aws_error(mlam, err, 400, "InvalidParameterValueException", BELOW_MINIMUM)
    # Lowering one frees its share; deleting the function frees the rest.
    mlam.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=100)
    assert mlam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 600
    mlam.delete_function(FunctionName=first)
    mlam.delete_function_concurrency(FunctionName=second)
    assert mlam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000


def test_zero_throttles_every_invoke_until_deleted(mlam, fn_name, recorder):
    gate = gated(mlam, fn_name, recorder)
    recorder.open_gate(gate)
    mlam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=0)

    for _ in range(2):
        assert_throttled(mlam, client_error(invoke, mlam, fn_name), RESERVED_REASON)
    # An event is accepted, waits while throttled, and runs once the reservation is gone.
    accepted = mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"n": "event"}')
    assert accepted["StatusCode"] == 202
    assert recorder.records(fn_name) == []

    mlam.delete_function_concurrency(FunctionName=fn_name)
    assert invoke(mlam, fn_name, {"n": "sync"}).status == 200
    recorder.wait_for(fn_name, 2)
    assert sorted(recorder.records(fn_name)) == [b'{"n": "event"}', b'{"n": "sync"}']


def test_a_reservation_bounds_the_function_across_its_versions(module_server, mlam, fn_name, recorder):
    gate = gated(mlam, fn_name, recorder)
    mlam.publish_version(FunctionName=fn_name)
    mlam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=2)

    held = []
    threads = [
        threading.Thread(target=lambda q=q: held.append(invoke(make_client(module_server.url), fn_name, Qualifier=q)))
        for q in ("$LATEST", "1")
    ]
    for t in threads:
        t.start()
    try:
        recorder.wait_for(fn_name, 2)
        # Both run: a third, of either version, is throttled.
        for qualifier in ("1", "$LATEST"):
            err = client_error(invoke, mlam, fn_name, Qualifier=qualifier)
            assert_throttled(mlam, err, RESERVED_REASON)
        # Another function is not held back by this one's reservation.
        other = fn_name + "-other"
        deploy(mlam, other, "def lambda_handler(event, context):\n    return 'other'\n")
        assert invoke(mlam, other).json() == "other"
    finally:
        recorder.open_gate(gate)
        for t in threads:
            t.join(timeout=120)
    assert [h.json() for h in held] == [True, True]
    # Once they ended, the function runs again.
    assert invoke(mlam, fn_name).json() is True


def test_provisioned_concurrency_stays_within_the_reservation(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n")
    mlam.publish_version(FunctionName=fn_name)
    mlam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)

    err = client_error(mlam.put_provisioned_concurrency_config, FunctionName=fn_name, Qualifier="1",
                       ProvisionedConcurrentExecutions=2)
    assert_aws_error(
        mlam, err, 400, "InvalidParameterValueException",
        "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
    )
