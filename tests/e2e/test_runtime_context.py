"""The `context` object a Python handler gets (spec §7 headers as awslambdaric exposes them):
names, the ARN as invoked, memory, request id and the time left."""

import base64
import json
import re

import pytest

from function_support import function_arn
from helpers import UUID_RE
from invoke_support import deploy, fn_name, invoke, mlam  # noqa: F401

DUMP_CONTEXT = """
def lambda_handler(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
    }
"""


@pytest.fixture
def published(mlam, fn_name):
    """A function with Timeout 7, MemorySize 512, version 1 and alias `live` → 1."""
    deploy(mlam, fn_name, DUMP_CONTEXT, Timeout=7, MemorySize=512)
    mlam.publish_version(FunctionName=fn_name)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")
    return fn_name


def test_names_and_memory(mlam, published):
    ctx = invoke(mlam, published).json()

    assert ctx["function_name"] == published
    assert ctx["function_version"] == "$LATEST"
    assert ctx["memory_limit_in_mb"] == "512"  # a string, as awslambdaric gives it
    assert ctx["log_group_name"] == f"/aws/lambda/{published}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", ctx["log_stream_name"]), ctx


def test_the_request_id_is_the_one_in_the_log(mlam, published):
    out = invoke(mlam, published, LogType="Tail")

    request_id = out.json()["aws_request_id"]
    assert UUID_RE.fullmatch(request_id)
    assert out.log_result.startswith(f"START RequestId: {request_id} ")


def test_each_invoke_has_its_own_request_id(mlam, published):
    ids = {invoke(mlam, published).json()["aws_request_id"] for _ in range(3)}

    assert len(ids) == 3


def test_the_remaining_time_is_positive_and_within_the_timeout(mlam, published):
    remaining = invoke(mlam, published).json()["remaining_ms"]

    assert 0 < remaining <= 7000


def test_without_a_qualifier_the_invoked_arn_is_unqualified(mlam, published):
    assert invoke(mlam, published).json()["invoked_function_arn"] == function_arn(published)


def test_a_version_qualifier_is_in_the_invoked_arn(mlam, published):
    ctx = invoke(mlam, published, Qualifier="1").json()

    assert ctx["invoked_function_arn"] == function_arn(published, "1")
    assert ctx["function_version"] == "1"


def test_an_alias_qualifier_is_in_the_invoked_arn(mlam, published):
    ctx = invoke(mlam, published, Qualifier="live").json()

    assert ctx["invoked_function_arn"] == function_arn(published, "live")
    assert ctx["function_version"] == "1"


def test_the_client_context_reaches_the_handler(mlam, fn_name):
    deploy(mlam, fn_name, """
        def lambda_handler(event, context):
            cc = context.client_context
            return {"custom": cc.custom, "env": cc.env, "app_title": cc.client.app_title}
    """)
    client_context = {"custom": {"tenant": "t-1"}, "env": {"locale": "fr"}, "client": {"app_title": "e2e"}}

    out = invoke(mlam, fn_name, ClientContext=base64.b64encode(json.dumps(client_context).encode()).decode())

    assert out.json() == {"custom": {"tenant": "t-1"}, "env": {"locale": "fr"}, "app_title": "e2e"}
