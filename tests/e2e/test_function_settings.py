"""The small configuration operations with boto3 and the AWS CLI: the recursion config (one per
function), the runtime management config (one per version), the code signing config Lamina never
has, and the operations Lamina deliberately does not serve, which name themselves and say why."""

import pytest

from function_support import create, fn_name, function_arn  # noqa: F401
from helpers import assert_aws_error, client_error

RUNTIME_ARN = "arn:aws:lambda:us-west-2::runtime:0123456789abcdef0123456789abcdef"


def test_recursion_config_with_boto3_and_the_cli(lam, aws, fn_name):
    create(lam, fn_name)
    assert lam.get_function_recursion_config(FunctionName=fn_name)["RecursiveLoop"] == "Terminate"

    put = aws(
        "lambda", "put-function-recursion-config", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", fn_name, "--recursive-loop", "Allow",
    )
    assert put["RecursiveLoop"] == "Allow"
    got = aws(
        "lambda", "get-function-recursion-config", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", function_arn(fn_name),
    )
    assert got["RecursiveLoop"] == "Allow"

    lam.put_function_recursion_config(FunctionName=fn_name, RecursiveLoop="Terminate")
    assert lam.get_function_recursion_config(FunctionName=fn_name)["RecursiveLoop"] == "Terminate"

    err = client_error(lam.get_function_recursion_config, FunctionName=f"{fn_name}-missing")
    assert_aws_error(
        lam, err, 404, "ResourceNotFoundException", f"Function not found: {function_arn(fn_name + '-missing')}"
    )


def test_runtime_management_config_per_version(lam, aws, fn_name):
    create(lam, fn_name)
    got = lam.get_runtime_management_config(FunctionName=fn_name)
    assert (got["UpdateRuntimeOn"], got.get("RuntimeVersionArn")) == ("Auto", None)
    assert got["FunctionArn"] == function_arn(fn_name)

    put = aws(
        "lambda", "put-runtime-management-config", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", fn_name, "--update-runtime-on", "Manual", "--runtime-version-arn", RUNTIME_ARN,
    )
    assert (put["UpdateRuntimeOn"], put["RuntimeVersionArn"]) == ("Manual", RUNTIME_ARN)
    got = aws(
        "lambda", "get-runtime-management-config", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", fn_name, "--qualifier", "$LATEST",
    )
    assert (got["UpdateRuntimeOn"], got["RuntimeVersionArn"]) == ("Manual", RUNTIME_ARN)
    assert got["FunctionArn"] == function_arn(fn_name, "$LATEST")

    version = lam.publish_version(FunctionName=fn_name)["Version"]
    lam.put_runtime_management_config(FunctionName=fn_name, Qualifier=version, UpdateRuntimeOn="FunctionUpdate")
    assert lam.get_runtime_management_config(FunctionName=fn_name, Qualifier=version)["UpdateRuntimeOn"] == (
        "FunctionUpdate"
    )
    assert lam.get_runtime_management_config(FunctionName=fn_name)["UpdateRuntimeOn"] == "Manual"

    err = client_error(lam.put_runtime_management_config, FunctionName=fn_name, UpdateRuntimeOn="Manual")
    assert err.response["Error"]["Code"] == "InvalidParameterValueException"
    err = client_error(lam.get_runtime_management_config, FunctionName=fn_name, Qualifier="99")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", f"Function not found: {function_arn(fn_name, '99')}")


def test_code_signing_config_is_never_set(lam, aws, fn_name):
    create(lam, fn_name)
    got = lam.get_function_code_signing_config(FunctionName=fn_name)
    assert (got["CodeSigningConfigArn"], got["FunctionName"]) == ("", fn_name)
    aws(
        "lambda", "delete-function-code-signing-config", "--endpoint-url", lam.meta.endpoint_url,
        "--function-name", fn_name,
    )


@pytest.mark.parametrize(
    ("call", "operation"),
    [
        (lambda lam, fn: lam.list_event_source_mappings(), "ListEventSourceMappings"),
        (
            lambda lam, fn: lam.create_event_source_mapping(
                FunctionName=fn, EventSourceArn="arn:aws:sqs:us-west-2:123456789012:q"
            ),
            "CreateEventSourceMapping",
        ),
        (lambda lam, fn: lam.list_code_signing_configs(), "ListCodeSigningConfigs"),
        (
            lambda lam, fn: lam.put_function_code_signing_config(
                FunctionName=fn,
                CodeSigningConfigArn="arn:aws:lambda:us-west-2:123456789012:code-signing-config:csc-0123456789abcdef0",
            ),
            "PutFunctionCodeSigningConfig",
        ),
        (lambda lam, fn: lam.list_capacity_providers(), "ListCapacityProviders"),
        (lambda lam, fn: lam.get_function_scaling_config(FunctionName=fn, Qualifier="1"), "GetFunctionScalingConfig"),
        (lambda lam, fn: lam.list_durable_executions_by_function(FunctionName=fn), "ListDurableExecutionsByFunction"),
    ],
)
def test_unsupported_operations_name_themselves(lam, fn_name, call, operation):
    err = client_error(call, lam, fn_name)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err.response["Error"]["Code"] == "UnknownOperationException"
    assert err.response["Error"]["Message"].startswith(f"Lamina does not support {operation}: ")


def test_the_cli_shows_why_an_operation_is_not_served(lam, aws):
    result = aws.run("lambda", "list-event-source-mappings", "--endpoint-url", lam.meta.endpoint_url)
    assert result.returncode != 0
    assert "UnknownOperationException" in result.stderr
    assert "Lamina does not support ListEventSourceMappings" in result.stderr
