"""The function logs through the CloudWatch Logs operations (issue 16, item 7) and STS
GetCallerIdentity (item 8), with boto3, the AWS CLI and `lamina logs`: log groups
`/aws/lambda/<fn>` (or `LoggingConfig.LogGroup`), one stream per environment named as AWS names
them, events with their timestamps, filter patterns, paging, retention, the JSON log format and
the separation of accounts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

from harness import LAMINA_BIN
from helpers import ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, client_error
from invoke_support import deploy, fn_name, invoke, lamina_logs_env, log_stem, mlam  # noqa: F401

ACCOUNT_B = "333344445555"
STREAM_RE = re.compile(r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
PRINTS = """
def lambda_handler(event, context):
    print("hello from", context.function_name)
    return "ok"
"""
JSON_LOGGING = """
import logging

logger = logging.getLogger()

def lambda_handler(event, context):
    logger.info("structured hello")
    logger.warning("careful")
    return "ok"
"""


def client(service: str, url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
    return boto3.client(
        service, endpoint_url=url, region_name=REGION,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10),
    )


@pytest.fixture(scope="module")
def logs(module_server):
    return client("logs", module_server.url)


@pytest.fixture(scope="module")
def key_b(module_server):
    """A key of a second account."""
    created = subprocess.run(
        [str(LAMINA_BIN), "--output", "json", "account", "keys", "create",
         "--account-id", ACCOUNT_B, "--data-dir", str(module_server.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(created.stdout)


def deployed(mlam, name: str, source: str = PRINTS, **kwargs) -> None:
    deploy(mlam, name, source, **kwargs)
    mlam.get_waiter("function_active_v2").wait(FunctionName=name)


def all_events(logs, group: str, **kwargs) -> list[dict]:
    """Every event of FilterLogEvents, through boto3's paginator."""
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, **kwargs)
    return [e for page in pages for e in page["events"]]


def test_filter_log_events_shows_the_start_end_and_report_of_an_invoke(mlam, logs, module_server, fn_name, aws):
    deployed(mlam, fn_name)
    before = int(time.time() * 1000)

    invoke(mlam, fn_name)

    group = f"/aws/lambda/{fn_name}"
    events = all_events(logs, group)
    messages = [e["message"] for e in events]
    assert [m.split(" ")[0] for m in messages if m.startswith(("START", "END", "REPORT"))] == ["START", "END", "REPORT"]
    assert f"hello from {fn_name}" in messages
    for e in events:
        assert STREAM_RE.match(e["logStreamName"]), e
        assert before - 1000 <= e["timestamp"] <= int(time.time() * 1000)
        assert e["ingestionTime"] >= e["timestamp"]
        assert e["eventId"]
    # The AWS CLI, as a user types it.
    out = aws("logs", "filter-log-events", "--log-group-name", group, "--endpoint-url", module_server.url)
    shown = [e["message"] for e in out["events"]]
    for kind in ("START RequestId: ", "END RequestId: ", "REPORT RequestId: "):
        assert [m for m in shown if m.startswith(kind)], shown
    # A filter pattern: terms, a quoted phrase.
    out = aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "REPORT Duration",
              "--endpoint-url", module_server.url)
    assert [e["message"].split(" ")[0] for e in out["events"]] == ["REPORT"]
    quoted = logs.filter_log_events(logGroupName=group, filterPattern='"hello from"')["events"]
    assert [e["message"] for e in quoted] == [f"hello from {fn_name}"]
    assert logs.filter_log_events(logGroupName=group, filterPattern="nothing-like-this")["events"] == []


def test_one_stream_per_environment_and_get_log_events_pages(mlam, logs, module_server, fn_name, aws):
    deployed(mlam, fn_name)
    for _ in range(3):
        invoke(mlam, fn_name)
    group = f"/aws/lambda/{fn_name}"

    streams = aws("logs", "describe-log-streams", "--log-group-name", group,
                  "--endpoint-url", module_server.url)["logStreams"]
    # Three invokes one after the other: one warm environment, one stream.
    assert len(streams) == 1, streams
    stream = streams[0]
    assert STREAM_RE.match(stream["logStreamName"]), stream
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]
    assert stream["arn"].startswith(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:")
    name = stream["logStreamName"]

    out = aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", name,
              "--start-from-head", "--endpoint-url", module_server.url)
    starts = [e for e in out["events"] if e["message"].startswith("START RequestId: ")]
    assert len(starts) == 3
    assert all({"timestamp", "message", "ingestionTime"} <= set(e) for e in out["events"])
    assert out["nextForwardToken"].startswith("f/") and out["nextBackwardToken"].startswith("b/")
    # Paged by two: forward from the head until the token comes back unchanged.
    seen, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName=name, limit=2, **kwargs)
        if page["nextForwardToken"] == token:
            assert page["events"] == []
            break
        seen += page["events"]
        token = page["nextForwardToken"]
    assert [e["message"] for e in seen] == [e["message"] for e in out["events"]]
    # Without a token: the newest events.
    newest = logs.get_log_events(logGroupName=group, logStreamName=name, limit=1)["events"]
    assert newest[0]["message"].startswith("REPORT RequestId: ")


def test_log_groups_are_listed_and_a_custom_group_is_used(mlam, logs, fn_name):
    custom = f"/custom/{fn_name}"
    deployed(mlam, fn_name, LoggingConfig={"LogGroup": custom})

    invoke(mlam, fn_name)

    groups = logs.describe_log_groups(logGroupNamePrefix=custom)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [custom]
    assert groups[0]["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{custom}:*"
    assert groups[0]["storedBytes"] > 0 and groups[0]["creationTime"] > 0
    assert any(e["message"].startswith("START") for e in all_events(logs, custom))
    err = client_error(logs.filter_log_events, logGroupName=f"/aws/lambda/{fn_name}")
    assert err.response["Error"] == {"Code": "ResourceNotFoundException",
                                     "Message": "The specified log group does not exist."}
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_json_log_format_writes_aws_records(mlam, logs, fn_name):
    deployed(mlam, fn_name, JSON_LOGGING, LoggingConfig={"LogFormat": "JSON"})

    invoke(mlam, fn_name)

    events = all_events(logs, f"/aws/lambda/{fn_name}")
    records = [json.loads(e["message"]) for e in events]
    by_type = {r.get("type"): r for r in records if "type" in r}
    start, report = by_type["platform.start"], by_type["platform.report"]
    assert start["record"]["version"] == "$LATEST"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", start["time"])
    request_id = start["record"]["requestId"]
    assert report["record"]["requestId"] == request_id
    assert report["record"]["status"] == "success"
    assert {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB"} <= set(report["record"]["metrics"])
    app = [r for r in records if "level" in r]
    assert [(r["level"], r["message"], r["requestId"]) for r in app] == [
        ("INFO", "structured hello", request_id), ("WARNING", "careful", request_id)]
    assert all("timestamp" in r for r in app)


def test_log_levels_leave_out_the_records_below_them(mlam, logs, fn_name):
    deployed(mlam, fn_name, JSON_LOGGING, LoggingConfig={
        "LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN"})

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    records = [json.loads(e["message"]) for e in all_events(logs, f"/aws/lambda/{fn_name}")]
    # platform.start, runtimeDone and report are INFO records; the INFO logging call too.
    assert [r["type"] for r in records if "type" in r] == []
    assert [(r["level"], r["message"]) for r in records if "level" in r] == [("WARNING", "careful")]


def test_accounts_see_only_their_own_logs(mlam, logs, module_server, fn_name, key_b):
    deployed(mlam, fn_name)
    invoke(mlam, fn_name)
    other = client("logs", module_server.url, key_b["AccessKeyId"], key_b["SecretAccessKey"])

    group = f"/aws/lambda/{fn_name}"
    assert group in [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]]
    assert other.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    err = client_error(other.filter_log_events, logGroupName=group)
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"
    err = client_error(other.put_retention_policy, logGroupName=group, retentionInDays=1)
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"


def test_retention_drops_events_older_than_the_policy(mlam, logs, module_server, fn_name, aws):
    deployed(mlam, fn_name)
    invoke(mlam, fn_name)
    group = f"/aws/lambda/{fn_name}"
    # Events of three days ago, as an older rotated file of the function's log would hold them.
    old = module_server.data_dir / "logs" / f"{log_stem(fn_name)}.log.1"
    stream = "2020/01/01/[$LATEST]" + "0" * 32
    old.write_text(f"2020-01-01T00:00:00.000+0000\t{stream}\tan event of long ago\n")
    three_days_ago = time.time() - 3 * 86_400
    os.utime(old, (three_days_ago, three_days_ago))
    assert "an event of long ago" in [e["message"] for e in all_events(logs, group)]

    aws("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "1",
        "--endpoint-url", module_server.url)

    messages = [e["message"] for e in all_events(logs, group)]
    assert "an event of long ago" not in messages
    assert any(m.startswith("START RequestId: ") for m in messages)
    assert not old.exists(), "the expired file should be removed"
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert described["retentionInDays"] == 1
    err = client_error(logs.put_retention_policy, logGroupName=group, retentionInDays=2)
    assert err.response["Error"]["Code"] == "InvalidParameterException"
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def test_operations_lamina_does_not_serve_are_named(logs):
    err = client_error(logs.create_log_group, logGroupName="/x")
    assert err.response["Error"]["Code"] == "UnknownOperationException"
    assert "CreateLogGroup" in err.response["Error"]["Message"]
    assert "Lamina does not serve" in err.response["Error"]["Message"]


def test_lamina_logs_reads_through_the_api(mlam, module_server, fn_name, tmp_path):
    deployed(mlam, fn_name)
    invoke(mlam, fn_name)
    # Run where no data directory can be seen: the log can only come through the API.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = subprocess.run(
        [str(LAMINA_BIN), "logs", fn_name, "--endpoint-url", module_server.url],
        capture_output=True, text=True, timeout=60, cwd=elsewhere, env=lamina_logs_env(),
    )
    assert shown.returncode == 0, shown.stderr
    texts = [line.split("\t", 1)[1] for line in shown.stdout.splitlines()]
    assert f"hello from {fn_name}" in texts
    assert [t.split(" ")[0] for t in texts if t.startswith(("START", "END", "REPORT"))] == ["START", "END", "REPORT"]

    # --follow prints what comes later.
    follower = subprocess.Popen(
        [str(LAMINA_BIN), "logs", fn_name, "--follow", "--endpoint-url", module_server.url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=elsewhere, env=lamina_logs_env(),
    )
    try:
        seen = [follower.stdout.readline() for _ in range(len(texts))]
        assert all(seen), seen
        invoke(mlam, fn_name)
        later = [follower.stdout.readline() for _ in range(4)]
        assert later[0].split("\t", 1)[1].startswith("START RequestId: "), later
    finally:
        follower.kill()
        follower.wait(timeout=30)


def test_get_caller_identity_names_the_keys_account(module_server, key_b, aws):
    sts = client("sts", module_server.url)
    identity = sts.get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{ACCESS_KEY}"
    assert identity["UserId"] == ACCESS_KEY
    other = client("sts", module_server.url, key_b["AccessKeyId"], key_b["SecretAccessKey"])
    assert other.get_caller_identity()["Account"] == ACCOUNT_B
    out = aws("sts", "get-caller-identity", "--endpoint-url", module_server.url)
    assert out["Account"] == ACCOUNT
    err = client_error(sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", RoleSessionName="session")
    assert err.response["Error"]["Code"] == "InvalidAction"
    assert "AssumeRole" in err.response["Error"]["Message"]
    # Refused keys are told in STS's XML, which the query protocol's clients parse.
    wrong_secret = client("sts", module_server.url, ACCESS_KEY, "not-the-secret")
    err = client_error(wrong_secret.get_caller_identity)
    assert (err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]["Code"]) == (
        403, "SignatureDoesNotMatch"
    )
    unknown_key = client("sts", module_server.url, "AKIDNOSUCHKEY0000000", "x")
    err = client_error(unknown_key.get_caller_identity)
    assert err.response["Error"]["Code"] == "InvalidClientTokenId"
