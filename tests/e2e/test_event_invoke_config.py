"""Asynchronous invocation configuration and destinations (issue 16, part 5).

Put/Update/Get/Delete/ListFunctionEventInvokeConfigs through boto3 and the AWS CLI, and what
the queue of Event invocations does with them: MaximumRetryAttempts bounds the runs, records go
to OnSuccess and OnFailure destinations (Lamina functions) in AWS's invocation-record format,
and a DeadLetterConfig function receives the original event. Destinations Lamina cannot
deliver to (SQS, SNS, ...) are refused.

The server retries after 0.2 s and 0.4 s (`--async-retry-delay-secs 0.2`). Functions leave
evidence with a local recorder (see recorder_double.py); tests wait for it by polling with a
generous timeout, never by the clock.
"""

import json
import time

import pytest

from harness import make_client
from helpers import ACCOUNT, assert_aws_error, client_error
from invoke_support import (  # noqa: F401 - fixtures
    deploy_recording, fn_name, function_log, mlam, start_lines, start_module_server,
)
from recorder_double import Recorder

REGION = "us-west-2"
# After the last run, how long nothing more may happen: well past the longest retry delay
# (0.4 s), so a further run would have started by then.
QUIET_SECS = 2.0
WAIT_SECS = 60


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    yield from start_module_server(request, tmp_path_factory, "--async-retry-delay-secs", "0.2")


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def deploy_source(lam, name, recorder, *, fails: bool, **kwargs):
    """A function that records each event it gets under `name`, then fails or answers."""
    ending = 'raise RuntimeError("always fails")' if fails else 'return {"answer": 42}'
    return deploy_recording(lam, name, recorder, f"""
        from recorder_client import record

        def lambda_handler(event, context):
            record("{name}", event)
            {ending}
    """, **kwargs)


def deploy_destination(lam, name, recorder):
    """A destination function: records what it receives under `name`."""
    return deploy_source(lam, name, recorder, fails=False)


def received(recorder, tag, count=1):
    return [json.loads(b) for b in recorder.wait_for(tag, count, timeout=WAIT_SECS)]


def test_every_operation_with_boto3(mlam, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=False)
    deploy_destination(mlam, f"{fn_name}-d", recorder)

    put = mlam.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumRetryAttempts=1,
        DestinationConfig={"OnSuccess": {"Destination": arn(f"{fn_name}-d")}},
    )
    assert put["FunctionArn"] == f"{arn(fn_name)}:$LATEST"
    assert put["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {"Destination": arn(f"{fn_name}-d")}, "OnFailure": {}}
    assert put["LastModified"].year >= 2024

    updated = mlam.update_function_event_invoke_config(FunctionName=fn_name, MaximumEventAgeInSeconds=120)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 120)
    assert updated["DestinationConfig"]["OnSuccess"] == {"Destination": arn(f"{fn_name}-d")}
    got = mlam.get_function_event_invoke_config(FunctionName=fn_name, Qualifier="$LATEST")
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in updated.items() if k != "ResponseMetadata"
    }

    version = mlam.publish_version(FunctionName=fn_name)["Version"]
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)
    mlam.put_function_event_invoke_config(FunctionName=fn_name, Qualifier="live", MaximumRetryAttempts=0)
    listed = mlam.list_function_event_invoke_configs(FunctionName=fn_name)["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{arn(fn_name)}:$LATEST", f"{arn(fn_name)}:live"]
    first = mlam.list_function_event_invoke_configs(FunctionName=fn_name, MaxItems=1)
    assert len(first["FunctionEventInvokeConfigs"]) == 1 and first["NextMarker"]

    mlam.delete_function_event_invoke_config(FunctionName=fn_name)
    err = client_error(mlam.get_function_event_invoke_config, FunctionName=fn_name)
    assert_aws_error(
        mlam, err, 404, "ResourceNotFoundException",
        f"The function {arn(fn_name)}:$LATEST doesn't have an EventInvokeConfig",
    )
    err = client_error(mlam.update_function_event_invoke_config, FunctionName=fn_name, MaximumRetryAttempts=1)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", prefix="The function ")
    # The alias's configuration goes with the alias.
    mlam.delete_alias(FunctionName=fn_name, Name="live")
    err = client_error(mlam.get_function_event_invoke_config, FunctionName=fn_name, Qualifier="live")
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", contains="doesn't have an EventInvokeConfig")
    # And every configuration goes with the function.
    mlam.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    mlam.delete_function(FunctionName=fn_name)
    deploy_source(mlam, fn_name, recorder, fails=False)
    assert mlam.list_function_event_invoke_configs(FunctionName=fn_name)["FunctionEventInvokeConfigs"] == []


def test_validation_and_refusals(mlam, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=False)

    # (Out-of-range numbers never leave boto3 or the CLI: they validate them first; the
    # server's own checks are unit-tested.)
    err = client_error(mlam.put_function_event_invoke_config, FunctionName=fn_name)
    assert_aws_error(
        mlam, err, 400, "InvalidParameterValueException",
        "You must specify at least one of error handling or destination setting.",
    )
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
    err = client_error(
        mlam.put_function_event_invoke_config, FunctionName=fn_name,
        DestinationConfig={"OnFailure": {"Destination": queue}},
    )
    message = assert_aws_error(mlam, err, 400, "InvalidParameterValueException", contains=queue)
    assert "Lamina delivers asynchronous invocation records only to Lamina functions" in message
    err = client_error(
        mlam.put_function_event_invoke_config, FunctionName=fn_name,
        DestinationConfig={"OnSuccess": {"Destination": arn(fn_name)}},
    )
    assert_aws_error(
        mlam, err, 400, "InvalidParameterValueException",
        "You can't specify the function as a destination for itself.",
    )
    err = client_error(
        mlam.update_function_configuration, FunctionName=fn_name,
        DeadLetterConfig={"TargetArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"},
    )
    assert_aws_error(mlam, err, 400, "InvalidParameterValueException", contains="dead-letter target ARN arn:aws:sns")


def test_every_operation_with_the_aws_cli(mlam, aws, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=False)
    deploy_destination(mlam, f"{fn_name}-d", recorder)
    destinations = json.dumps({"OnFailure": {"Destination": arn(f"{fn_name}-d")}})
    endpoint = ("--endpoint-url", mlam.meta.endpoint_url)

    put = aws(
        "lambda", *endpoint, "put-function-event-invoke-config", "--function-name", fn_name,
        "--maximum-retry-attempts", "2", "--destination-config", destinations,
    )
    assert put["FunctionArn"] == f"{arn(fn_name)}:$LATEST"
    assert put["DestinationConfig"]["OnFailure"] == {"Destination": arn(f"{fn_name}-d")}
    updated = aws(
        "lambda", *endpoint, "update-function-event-invoke-config", "--function-name", fn_name,
        "--maximum-event-age-in-seconds", "3600",
    )
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (2, 3600)
    got = aws("lambda", *endpoint, "get-function-event-invoke-config", "--function-name", fn_name)
    assert got["MaximumEventAgeInSeconds"] == 3600
    listed = aws("lambda", *endpoint, "list-function-event-invoke-configs", "--function-name", fn_name)
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [f"{arn(fn_name)}:$LATEST"]
    assert aws("lambda", *endpoint, "delete-function-event-invoke-config", "--function-name", fn_name) is None
    result = aws.run("lambda", *endpoint, "get-function-event-invoke-config", "--function-name", fn_name)
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr and "doesn't have an EventInvokeConfig" in result.stderr


def test_a_success_record_reaches_the_on_success_function(mlam, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=False)
    deploy_destination(mlam, f"{fn_name}-ok", recorder)
    mlam.put_function_event_invoke_config(
        FunctionName=fn_name, DestinationConfig={"OnSuccess": {"Destination": arn(f"{fn_name}-ok")}},
    )

    out = mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"job": 7}')

    [record] = received(recorder, f"{fn_name}-ok")
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": out["ResponseMetadata"]["RequestId"],
        "functionArn": f"{arn(fn_name)}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"job": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"answer": 42}


def test_a_failure_after_retries_reaches_on_failure(mlam, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=True)
    deploy_destination(mlam, f"{fn_name}-failed", recorder)
    mlam.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": arn(f"{fn_name}-failed")}},
    )

    mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"job": 8}')

    [record] = received(recorder, f"{fn_name}-failed")
    assert len(recorder.records(fn_name)) == 2, "one run and one retry"
    context = record["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("RetriesExhausted", 2)
    assert context["functionArn"] == f"{arn(fn_name)}:$LATEST"
    assert record["requestPayload"] == {"job": 8}
    assert record["responseContext"] == {
        "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorMessage"] == "always fails"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    time.sleep(QUIET_SECS)  # a further run or record would have come by now
    assert len(recorder.records(fn_name)) == 2
    assert len(recorder.records(f"{fn_name}-failed")) == 1


def test_maximum_retry_attempts_0_runs_once(mlam, module_server, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=True)
    deploy_destination(mlam, f"{fn_name}-failed", recorder)
    mlam.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn(f"{fn_name}-failed")}},
    )

    mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{}")

    [record] = received(recorder, f"{fn_name}-failed")
    assert record["requestContext"]["approximateInvokeCount"] == 1
    time.sleep(QUIET_SECS)  # a retry would have started by now
    assert len(recorder.records(fn_name)) == 1
    assert len(start_lines(function_log(module_server, fn_name))) == 1


def test_an_alias_has_its_own_configuration(mlam, fn_name, recorder):
    deploy_source(mlam, fn_name, recorder, fails=True)
    deploy_destination(mlam, f"{fn_name}-failed", recorder)
    version = mlam.publish_version(FunctionName=fn_name)["Version"]
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)
    mlam.put_function_event_invoke_config(
        FunctionName=fn_name, Qualifier="live", MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn(f"{fn_name}-failed")}},
    )

    mlam.invoke(FunctionName=fn_name, Qualifier="live", InvocationType="Event", Payload=b"{}")

    [record] = received(recorder, f"{fn_name}-failed")
    assert record["requestContext"]["functionArn"] == f"{arn(fn_name)}:live"
    assert record["responseContext"]["executedVersion"] == version
    assert len(recorder.records(fn_name)) == 1


def test_a_dead_letter_function_receives_the_original_event(mlam, fn_name, recorder):
    deploy_destination(mlam, f"{fn_name}-dlq", recorder)
    out = deploy_source(
        mlam, fn_name, recorder, fails=True, DeadLetterConfig={"TargetArn": arn(f"{fn_name}-dlq")},
    )
    assert out["DeadLetterConfig"] == {"TargetArn": arn(f"{fn_name}-dlq")}

    mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"order": 9}')

    assert received(recorder, f"{fn_name}-dlq") == [{"order": 9}]
    assert len(recorder.records(fn_name)) == 3, "AWS's two retries, then the dead-letter target"


def test_a_pending_retry_and_its_record_survive_a_restart(start_server, recorder, fn_name):
    # The retry is due 10 s after the first run: the server restarts in between.
    first = start_server("--async-retry-delay-secs", "10")
    lam = make_client(first.url)
    deploy_source(lam, fn_name, recorder, fails=True)
    deploy_destination(lam, f"{fn_name}-failed", recorder)
    lam.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": arn(f"{fn_name}-failed")}},
    )
    lam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"job": 10}')
    received(recorder, fn_name)

    first.stop()  # SIGTERM: the first run finishes and its retry is recorded
    start_server("--async-retry-delay-secs", "10", data_dir=first.data_dir)

    [record] = received(recorder, f"{fn_name}-failed")
    assert len(recorder.records(fn_name)) == 2
    context = record["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("RetriesExhausted", 2)
    assert record["requestPayload"] == {"job": 10}
    assert record["responsePayload"]["errorMessage"] == "always fails"
