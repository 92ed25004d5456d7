"""Provisioned concurrency: the four operations' shapes and errors (boto3 and the AWS CLI), and
environments initialised ahead that invokes use first, with no Init Duration."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


import boto3
from botocore.config import Config

from function_support import function_arn, not_found
from harness import ACCESS_KEY, SECRET_KEY
from helpers import assert_aws_error, client_error
from invoke_support import deploy, fn_name, handler_zip, invoke  # noqa: F401 - fn_name: a fixture

# The handler reports how its environment was initialised and a per-process id made at Init;
# `sleep` keeps it busy so invokes overlap.
SOURCE = """
import os, time, uuid
PROCESS = uuid.uuid4().hex

def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"init": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"], "process": PROCESS}
"""

UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
POLL_DEADLINE_SECS = 60


def wait_status(lam, name: str, qualifier: str, status: str = "READY") -> dict:
    """Polls GetProvisionedConcurrencyConfig until `status` (fails after a generous deadline)."""
    deadline = time.monotonic() + POLL_DEADLINE_SECS
    while True:
        got = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if got["Status"] == status:
            return got
        assert got["Status"] in ("IN_PROGRESS", status), got
        assert time.monotonic() < deadline, f"still {got['Status']}: {got}"
        time.sleep(0.2)


def ready_version(lam, name: str) -> str:
    deploy(lam, name, SOURCE, Timeout=30)
    return lam.publish_version(FunctionName=name)["Version"]


def run(lam, name: str, qualifier: str, sleep: float = 0, tail: bool = False):
    kwargs = {"Qualifier": qualifier}
    if tail:
        kwargs["LogType"] = "Tail"
    out = invoke(lam, name, {"sleep": sleep}, **kwargs)
    assert out.function_error is None, out.payload
    return out


def report_line(log: str) -> str:
    return next(line for line in log.splitlines() if line.startswith("REPORT"))


def test_put_get_list_delete_shapes_and_errors(lam, aws, fn_name):
    version = ready_version(lam, fn_name)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)

    put = lam.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["Status"] == "IN_PROGRESS"
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    assert put["LastModified"]
    got = wait_status(lam, fn_name, version)
    assert got["AllocatedProvisionedConcurrentExecutions"] == 1
    assert got["AvailableProvisionedConcurrentExecutions"] == 1

    # The AWS CLI: an alias config, then the listing.
    out = aws(
        "lambda", "put-provisioned-concurrency-config", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", fn_name, "--qualifier", "live", "--provisioned-concurrent-executions", "1",
    )
    assert out["Status"] == "IN_PROGRESS"
    listed = aws(
        "lambda", "list-provisioned-concurrency-configs", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", fn_name,
    )
    arns = [c["FunctionArn"] for c in listed["ProvisionedConcurrencyConfigs"]]
    assert arns == [function_arn(fn_name, version), function_arn(fn_name, "live")]
    page = lam.list_provisioned_concurrency_configs(FunctionName=fn_name, MaxItems=1)
    assert len(page["ProvisionedConcurrencyConfigs"]) == 1
    rest = lam.list_provisioned_concurrency_configs(FunctionName=fn_name, Marker=page["NextMarker"])
    assert [c["FunctionArn"] for c in rest["ProvisionedConcurrencyConfigs"]] == [function_arn(fn_name, "live")]
    assert "NextMarker" not in rest

    # Errors: $LATEST, a version or alias that does not exist, zero, no config.
    err = client_error(
        lam.put_provisioned_concurrency_config,
        FunctionName=fn_name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1,
    )
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", UNPUBLISHED)
    err = client_error(
        lam.put_provisioned_concurrency_config,
        FunctionName=fn_name, Qualifier="42", ProvisionedConcurrentExecutions=1,
    )
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name, "42"))
    # botocore refuses 0 itself: the server's check is seen without its validation.
    unchecked = boto3.client(
        "lambda", endpoint_url=lam.meta.endpoint_url, region_name=lam.meta.region_name,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    err = client_error(
        unchecked.put_provisioned_concurrency_config,
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=0,
    )
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.response["Error"]["Code"] == "ValidationException"
    assert "provisionedConcurrentExecutions" in err.response["Error"]["Message"]
    lam.delete_provisioned_concurrency_config(FunctionName=fn_name, Qualifier="live")
    err = client_error(lam.get_provisioned_concurrency_config, FunctionName=fn_name, Qualifier="live")
    assert_aws_error(lam, err, 404, "ProvisionedConcurrencyConfigNotFoundException")
    err = client_error(lam.get_provisioned_concurrency_config, FunctionName="no-such-fn", Qualifier="1")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException")

    # Deleting the version takes its configuration with it.
    lam.delete_alias(FunctionName=fn_name, Name="live")
    lam.delete_function(FunctionName=fn_name, Qualifier=version)
    listed = lam.list_provisioned_concurrency_configs(FunctionName=fn_name)
    assert listed["ProvisionedConcurrencyConfigs"] == []


def test_provisioned_environments_are_used_first_without_init(lam, fn_name, server):
    version = ready_version(lam, fn_name)
    lam.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    wait_status(lam, fn_name, version)

    # Sequential invokes: each on a provisioned environment, with no Init Duration.
    provisioned = set()
    for _ in range(6):
        out = run(lam, fn_name, version, tail=True)
        assert out.json()["init"] == "provisioned-concurrency"
        provisioned.add(out.json()["process"])
        assert "Init Duration" not in report_line(out.log_result), out.log_result
    assert 1 <= len(provisioned) <= 2

    # Two at once: both provisioned; a third at once: on demand, with its Init.
    with ThreadPoolExecutor(3) as pool:
        pair = list(pool.map(lambda _: run(lam, fn_name, version, sleep=2, tail=True), range(2)))
        assert {o.json()["init"] for o in pair} == {"provisioned-concurrency"}
        assert len({o.json()["process"] for o in pair}) == 2
        provisioned |= {o.json()["process"] for o in pair}
        assert len(provisioned) == 2
    with ThreadPoolExecutor(3) as pool:
        three = list(pool.map(lambda _: run(lam, fn_name, version, sleep=3, tail=True), range(3)))
    on_demand = [o for o in three if o.json()["init"] == "on-demand"]
    assert len(on_demand) == 1, [o.json() for o in three]
    assert on_demand[0].json()["process"] not in provisioned
    assert "Init Duration" in report_line(on_demand[0].log_result)
    assert {o.json()["process"] for o in three if o not in on_demand} == provisioned

    # With an idle on-demand environment around, invokes still go to the provisioned ones.
    for _ in range(4):
        assert run(lam, fn_name, version).json()["process"] in provisioned

    # Delete: the provisioned environments end; new invokes run on demand.
    lam.delete_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=version)
    deadline = time.monotonic() + POLL_DEADLINE_SECS
    while True:
        out = run(lam, fn_name, version)
        if out.json()["init"] == "on-demand":
            break
        assert time.monotonic() < deadline, "provisioned environments still serve after the delete"
        time.sleep(0.2)
    health = json.loads(urllib.request.urlopen(f"{server.url}/_lamina/health").read())
    assert "provisionedEnvironments" in health, health


def test_an_alias_config_follows_the_alias(lam, fn_name):
    v1 = ready_version(lam, fn_name)
    lam.update_function_code(FunctionName=fn_name, ZipFile=handler_zip(SOURCE + "\n# v2\n"))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    v2 = lam.publish_version(FunctionName=fn_name)["Version"]
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=v1)
    lam.put_provisioned_concurrency_config(FunctionName=fn_name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_status(lam, fn_name, "live")
    assert run(lam, fn_name, "live").json()["init"] == "provisioned-concurrency"

    lam.update_alias(FunctionName=fn_name, Name="live", FunctionVersion=v2)
    deadline = time.monotonic() + POLL_DEADLINE_SECS
    while True:
        out = invoke(lam, fn_name, {}, Qualifier="live")
        if out.executed_version == v2 and out.json()["init"] == "provisioned-concurrency":
            break
        assert time.monotonic() < deadline, "the alias's new version was never provisioned"
        time.sleep(0.2)
    # The old version has none any more.
    assert run(lam, fn_name, v1).json()["init"] == "on-demand"


def test_configs_survive_a_restart(start_server, client_for, fn_name):
    first = start_server()
    lam = client_for(first)
    version = ready_version(lam, fn_name)
    lam.put_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1)
    wait_status(lam, fn_name, version)
    first.stop()

    second = start_server(data_dir=first.data_dir)
    lam = client_for(second)
    got = wait_status(lam, fn_name, version)
    assert got["RequestedProvisionedConcurrentExecutions"] == 1
    out = run(lam, fn_name, version, tail=True)
    assert out.json()["init"] == "provisioned-concurrency"
    assert "Init Duration" not in report_line(out.log_result)


def test_init_failure_is_failed_with_a_reason(lam, fn_name):
    deploy(lam, fn_name, "raise RuntimeError('no init')\ndef lambda_handler(e, c):\n    return 1\n")
    version = lam.publish_version(FunctionName=fn_name)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    got = wait_status(lam, fn_name, version, "FAILED")
    assert got["StatusReason"], got
