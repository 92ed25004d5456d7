"""AWS's asynchronous state model (spec §3.1) as boto3 and its waiters see it.

CreateFunction answers `Pending`, updates answer `InProgress`; the function then settles to
`Active`/`Successful` (or `Failed`) with a new RevisionId. Lamina settles a small function in
milliseconds and lets reads wait for that, so waiters return on their first poll. The `slow`
server holds every preparation until its gate file exists (the hidden `--prepare-gate` test
seam), so the intermediate states can be seen."""

from __future__ import annotations

import botocore.exceptions
import pytest

from function_support import ROLE, create, fn_name, function_arn  # noqa: F401 - fn_name: fixture
from helpers import assert_aws_error, client_error
from invoke_support import handler_zip, invoke

ENV_HANDLER = handler_zip("""
    import os

    def lambda_handler(event, context):
        return os.environ.get("STAGE")
""")


def count_calls(client, operation: str) -> list[int]:
    """Counts the client's calls of `operation` (retries included) from now on."""
    calls: list[int] = []
    client.meta.events.register(f"before-send.lambda.{operation}", lambda **_: calls.append(1))
    return calls


def pending_text(arn: str, state: str, code: str) -> str:
    return (
        f"The operation cannot be performed at this time. The resource {arn} is currently in the "
        f"following state: '{state}'. StateReasonCode: '{code}'"
    )


def in_progress_text(arn: str) -> str:
    return f"The operation cannot be performed at this time. An update is in progress for resource: {arn}"


@pytest.fixture
def slow(start_server, client_for, tmp_path):
    """A server whose preparations wait for `gate` to exist; yields (gate, client)."""
    gate = tmp_path / "prepare-gate"
    server = start_server("--prepare-gate", str(gate))
    return gate, client_for(server)


def wait_active(lam, name: str) -> None:
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def wait_updated(lam, name: str) -> None:
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


# --- a small function: settled before any client can ask ---------------------------------------


def test_waiters_return_on_their_first_poll(lam, fn_name):
    created = create(lam, fn_name)
    polls = count_calls(lam, "GetFunction")

    lam.get_waiter("function_active_v2").wait(FunctionName=fn_name)
    updated = lam.update_function_configuration(FunctionName=fn_name, MemorySize=256)
    lam.get_waiter("function_updated_v2").wait(FunctionName=fn_name)

    assert created["State"] == "Pending" and updated["LastUpdateStatus"] == "InProgress"
    assert len(polls) == 2


def test_invoke_right_after_create_and_update_runs(lam, fn_name):
    create(lam, fn_name, Code={"ZipFile": ENV_HANDLER}, Environment={"Variables": {"STAGE": "one"}})
    assert invoke(lam, fn_name).json() == "one"

    lam.update_function_configuration(FunctionName=fn_name, Environment={"Variables": {"STAGE": "two"}})
    assert invoke(lam, fn_name).json() == "two"


def test_settling_changes_the_revision_id(lam, fn_name):
    created = create(lam, fn_name)
    active = lam.get_function_configuration(FunctionName=fn_name)
    updated = lam.update_function_configuration(FunctionName=fn_name, Timeout=9)
    successful = lam.get_function_configuration(FunctionName=fn_name)

    revisions = [created["RevisionId"], active["RevisionId"], updated["RevisionId"], successful["RevisionId"]]
    assert len(set(revisions)) == 4
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert (successful["State"], successful["LastUpdateStatus"]) == ("Active", "Successful")
    for absent in ("StateReason", "StateReasonCode", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
        assert absent not in successful


# --- a slow preparation: Pending and InProgress as AWS shows them ------------------------------


def test_pending_refuses_invoke_and_update_until_active(slow, fn_name):
    gate, lam = slow
    arn = function_arn(fn_name)
    created = create(lam, fn_name)
    assert created["State"] == "Pending"

    got = lam.get_function(FunctionName=fn_name)["Configuration"]
    assert (got["State"], got["StateReasonCode"]) == ("Pending", "Creating")
    assert "LastUpdateStatus" not in got
    err = client_error(lam.invoke, FunctionName=fn_name, Payload=b"{}")
    assert_aws_error(lam, err, 409, "ResourceConflictException", pending_text(arn, "Pending", "Creating"))
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 0
    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Timeout=5)
    assert_aws_error(lam, err, 409, "ResourceConflictException", pending_text(arn, "Pending", "Creating"))
    err = client_error(lam.publish_version, FunctionName=fn_name)
    assert_aws_error(lam, err, 409, "ResourceConflictException", pending_text(arn, "Pending", "Creating"))

    gate.touch()
    wait_active(lam, fn_name)
    active = lam.get_function_configuration(FunctionName=fn_name)
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert active["RevisionId"] != created["RevisionId"]
    assert invoke(lam, fn_name).status == 200


def test_in_progress_refuses_changes_and_runs_the_previous_configuration(slow, fn_name):
    gate, lam = slow
    arn = function_arn(fn_name)
    create(lam, fn_name, Code={"ZipFile": ENV_HANDLER}, Environment={"Variables": {"STAGE": "old"}})
    gate.touch()
    wait_active(lam, fn_name)
    gate.unlink()

    updated = lam.update_function_configuration(FunctionName=fn_name, Environment={"Variables": {"STAGE": "new"}})
    assert updated["State"] == "Active"
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["LastUpdateStatusReason"] == "The function is being created."
    assert updated["LastUpdateStatusReasonCode"] == "Creating"
    assert updated["Environment"] == {"Variables": {"STAGE": "new"}}

    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Timeout=5)
    assert_aws_error(lam, err, 409, "ResourceConflictException", in_progress_text(arn))
    err = client_error(lam.update_function_code, FunctionName=fn_name, ZipFile=ENV_HANDLER)
    assert_aws_error(lam, err, 409, "ResourceConflictException", in_progress_text(arn))
    err = client_error(lam.publish_version, FunctionName=fn_name)
    assert_aws_error(lam, err, 409, "ResourceConflictException", in_progress_text(arn))
    assert invoke(lam, fn_name).json() == "old"

    gate.touch()
    wait_updated(lam, fn_name)
    settled = lam.get_function_configuration(FunctionName=fn_name)
    assert settled["LastUpdateStatus"] == "Successful"
    assert settled["RevisionId"] != updated["RevisionId"]
    assert invoke(lam, fn_name).json() == "new"


def test_a_server_restarted_mid_settling_settles_on_start(start_server, client_for, fn_name, tmp_path):
    slow = start_server("--prepare-gate", str(tmp_path / "never"))
    lam = client_for(slow)
    create(lam, fn_name)
    slow.kill()

    restarted = start_server(data_dir=slow.data_dir)
    lam = client_for(restarted)
    wait_active(lam, fn_name)
    assert invoke(lam, fn_name).status == 200


# --- runtimes this server cannot run ----------------------------------------------------------


def test_a_runtime_that_cannot_run_here_fails_the_function(lam, fn_name):
    arn = function_arn(fn_name)
    created = create(lam, fn_name, Runtime="java21", Handler="example.Handler::handleRequest")
    assert created["State"] == "Pending"

    got = lam.get_function_configuration(FunctionName=fn_name)
    assert got["State"] == "Failed"
    assert got["StateReasonCode"] == "InvalidRuntime"
    assert got["StateReason"].startswith("The runtime java21 cannot run on this Lamina server")
    assert "python3.12" in got["StateReason"] and "provided.al2023" in got["StateReason"]
    assert (got["LastUpdateStatus"], got["LastUpdateStatusReasonCode"]) == ("Failed", "InvalidRuntime")
    with pytest.raises(botocore.exceptions.WaiterError, match="failure state"):
        wait_active(lam, fn_name)
    err = client_error(lam.invoke, FunctionName=fn_name, Payload=b"{}")
    assert_aws_error(lam, err, 409, "ResourceConflictException", pending_text(arn, "Failed", "InvalidRuntime"))
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_a_failed_update_keeps_the_previous_runtime(lam, fn_name):
    create(lam, fn_name, Code={"ZipFile": ENV_HANDLER}, Environment={"Variables": {"STAGE": "kept"}})

    lam.update_function_configuration(FunctionName=fn_name, Runtime="ruby3.3", Handler="function.handler")
    got = lam.get_function_configuration(FunctionName=fn_name)

    assert got["State"] == "Active"
    assert (got["LastUpdateStatus"], got["LastUpdateStatusReasonCode"]) == ("Failed", "InvalidRuntime")
    assert "ruby3.3" in got["LastUpdateStatusReason"]
    assert got["Runtime"] == "python3.12"
    with pytest.raises(botocore.exceptions.WaiterError, match="failure state"):
        wait_updated(lam, fn_name)
    assert invoke(lam, fn_name).json() == "kept"
