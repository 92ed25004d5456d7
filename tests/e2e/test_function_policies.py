"""Function resource policies (AddPermission, GetPolicy, RemovePermission) with boto3 and the
AWS CLI: AWS's policy document, one policy per function, version and alias, RevisionId
preconditions, statement id conflicts, the 20 KB limit, and policies going with their alias.
Cross-account Invoke (issue 14's accounts): another account invokes a function by ARN only
while the policy of the qualifier it invokes grants it, with AWS's AccessDeniedException
otherwise; every other operation stays the owner's."""

from __future__ import annotations

import json
import subprocess

import pytest

from function_support import fn_name, function_arn, not_found  # noqa: F401
from harness import LAMINA_BIN, make_client
from helpers import assert_aws_error, client_error
from invoke_support import deploy, handler_zip, invoke, mlam  # noqa: F401
from recorder_double import CLIENT_SOURCE, Recorder

ACCOUNT_A = "123456789012"
ACCOUNT_B = "222233334444"
NO_POLICY = "The resource you requested does not exist."
STALE = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetPolicy API to retrieve the latest Revision Id"
)
SOURCE_BUCKET = "arn:aws:s3:::lamina-bucket"
HELLO = "def lambda_handler(event, context):\n    return 'hello from A'\n"


def denied(arn: str) -> str:
    return (
        f"User: arn:aws:iam::{ACCOUNT_B}:root is not authorized to perform: lambda:InvokeFunction on "
        f"resource: {arn} because no resource-based policy allows the lambda:InvokeFunction action"
    )


@pytest.fixture(scope="module")
def b_client(module_server):
    """A client of account B, whose key `lamina account keys create` makes."""
    created = subprocess.run(
        [str(LAMINA_BIN), "--output", "json", "account", "keys", "create",
         "--account-id", ACCOUNT_B, "--data-dir", str(module_server.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    key = json.loads(created.stdout)
    return make_client(module_server.url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def test_add_get_and_remove_with_boto3(mlam, fn_name):
    arn = deploy(mlam, fn_name, HELLO)["FunctionArn"]
    err = client_error(mlam.get_policy, FunctionName=fn_name)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", NO_POLICY)

    added = mlam.add_permission(
        FunctionName=fn_name, StatementId="s3-invoke", Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com", SourceArn=SOURCE_BUCKET, SourceAccount=ACCOUNT_A,
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = {
        "Sid": "s3-invoke",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": ACCOUNT_A},
            "ArnLike": {"AWS:SourceArn": SOURCE_BUCKET},
        },
    }
    assert json.loads(added["Statement"]) == statement
    mlam.add_permission(FunctionName=fn_name, StatementId="b", Action="lambda:GetFunction", Principal=ACCOUNT_B)

    got = mlam.get_policy(FunctionName=fn_name)
    policy = json.loads(got["Policy"])
    assert policy == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            statement,
            {
                "Sid": "b",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"},
                "Action": "lambda:GetFunction",
                "Resource": arn,
            },
        ],
    }
    revision = got["RevisionId"]

    err = client_error(mlam.add_permission, FunctionName=fn_name, StatementId="b",
                       Action="lambda:InvokeFunction", Principal="*")
    assert_aws_error(
        mlam, err, 409, "ResourceConflictException",
        "The statement id (b) provided already exists. Please provide a new statement id, or remove "
        "the existing statement.",
    )
    err = client_error(mlam.add_permission, FunctionName=fn_name, StatementId="c",
                       Action="lambda:InvokeFunction", Principal="*", RevisionId="stale")
    assert_aws_error(mlam, err, 412, "PreconditionFailedException", STALE)
    err = client_error(mlam.remove_permission, FunctionName=fn_name, StatementId="b", RevisionId="stale")
    assert_aws_error(mlam, err, 412, "PreconditionFailedException", STALE)

    removed = mlam.remove_permission(FunctionName=fn_name, StatementId="b", RevisionId=revision)
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    err = client_error(mlam.remove_permission, FunctionName=fn_name, StatementId="b")
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", "Statement b is not found in resource policy.")
    assert [s["Sid"] for s in json.loads(mlam.get_policy(FunctionName=fn_name)["Policy"])["Statement"]] == [
        "s3-invoke"
    ]
    mlam.remove_permission(FunctionName=fn_name, StatementId="s3-invoke")
    err = client_error(mlam.get_policy, FunctionName=fn_name)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", NO_POLICY)


def test_add_get_and_remove_with_the_aws_cli(module_server, mlam, aws, fn_name):
    arn = deploy(mlam, fn_name, HELLO)["FunctionArn"]
    endpoint = ("--endpoint-url", module_server.url)

    added = aws("lambda", "add-permission", *endpoint, "--function-name", fn_name, "--statement-id", "cli",
                "--action", "lambda:InvokeFunction", "--principal", "events.amazonaws.com")
    assert json.loads(added["Statement"])["Principal"] == {"Service": "events.amazonaws.com"}
    got = aws("lambda", "get-policy", *endpoint, "--function-name", fn_name)
    assert json.loads(got["Policy"])["Statement"][0]["Resource"] == arn
    assert aws("lambda", "remove-permission", *endpoint, "--function-name", fn_name,
               "--statement-id", "cli", "--revision-id", got["RevisionId"]) is None
    result = aws.run("lambda", "get-policy", *endpoint, "--function-name", fn_name)
    assert result.returncode != 0 and "ResourceNotFoundException" in result.stderr


def test_each_version_and_alias_has_its_own_policy(mlam, fn_name):
    deploy(mlam, fn_name, HELLO)
    mlam.publish_version(FunctionName=fn_name)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    for qualifier in ("1", "live"):
        added = mlam.add_permission(FunctionName=fn_name, Qualifier=qualifier, StatementId="q",
                                    Action="lambda:InvokeFunction", Principal="*")
        assert json.loads(added["Statement"])["Resource"] == function_arn(fn_name, qualifier)
        policy = json.loads(mlam.get_policy(FunctionName=fn_name, Qualifier=qualifier)["Policy"])
        assert [s["Resource"] for s in policy["Statement"]] == [function_arn(fn_name, qualifier)]
    # The function itself has none; the qualified ARN names the same policy as `Qualifier`.
    err = client_error(mlam.get_policy, FunctionName=fn_name)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", NO_POLICY)
    assert mlam.get_policy(FunctionName=function_arn(fn_name, "live"))["Policy"]

    err = client_error(mlam.add_permission, FunctionName=fn_name, Qualifier="nope", StatementId="q",
                       Action="lambda:InvokeFunction", Principal="*")
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name, "nope"))

    # An alias deleted and made again starts with no policy.
    mlam.delete_alias(FunctionName=fn_name, Name="live")
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")
    err = client_error(mlam.get_policy, FunctionName=fn_name, Qualifier="live")
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", NO_POLICY)


def test_invalid_members_are_refused(mlam, fn_name):
    deploy(mlam, fn_name, HELLO)

    err = client_error(mlam.add_permission, FunctionName=fn_name, StatementId="bad id",
                       Action="lambda:InvokeFunction", Principal="*")
    assert_aws_error(
        mlam, err, 400, "ValidationException",
        "1 validation error detected: Value 'bad id' at 'statementId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
    )
    err = client_error(mlam.add_permission, FunctionName=fn_name, StatementId="s",
                       Action="s3:GetObject", Principal="*")
    assert_aws_error(mlam, err, 400, "ValidationException", contains="at 'action' failed to satisfy constraint")
    err = client_error(mlam.add_permission, FunctionName=fn_name + "-missing", StatementId="s",
                       Action="lambda:InvokeFunction", Principal="*")
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name + "-missing"))


def test_a_policy_stops_at_20_kb(mlam, fn_name):
    deploy(mlam, fn_name, HELLO)
    for n in range(1000):
        try:
            mlam.add_permission(FunctionName=fn_name, StatementId=f"statement-{n:0>90}",
                                Action="lambda:InvokeFunction", Principal="*")
        except mlam.exceptions.PolicyLengthExceededException as e:
            assert e.response["Error"]["Message"].startswith("The final policy size (")
            assert e.response["Error"]["Message"].endswith(") is bigger than the limit (20480).")
            break
    else:
        pytest.fail("the policy never reached its limit")
    assert len(mlam.get_policy(FunctionName=fn_name)["Policy"]) <= 20480


def test_another_account_invokes_only_what_a_policy_grants(mlam, b_client, fn_name):
    arn = deploy(mlam, fn_name, HELLO)["FunctionArn"]
    mlam.publish_version(FunctionName=fn_name)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    err = client_error(invoke, b_client, arn)
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(arn))
    # By name B names its own (missing) function.
    err = client_error(invoke, b_client, fn_name)
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"

    # A grant of another action, or to another account, lets nothing run.
    mlam.add_permission(FunctionName=fn_name, StatementId="get", Action="lambda:GetFunction", Principal=ACCOUNT_B)
    mlam.add_permission(FunctionName=fn_name, StatementId="other", Action="lambda:InvokeFunction",
                        Principal="999988887777")
    err = client_error(invoke, b_client, arn)
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(arn))

    mlam.add_permission(FunctionName=fn_name, StatementId="b", Action="lambda:InvokeFunction",
                        Principal=f"arn:aws:iam::{ACCOUNT_B}:root")
    out = invoke(b_client, arn)
    assert out.json() == "hello from A"
    assert out.executed_version == "$LATEST"
    # The unqualified function's policy grants neither the alias nor the version.
    for qualified in (f"{arn}:live", f"{arn}:1"):
        err = client_error(invoke, b_client, qualified)
        assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(qualified))
    mlam.add_permission(FunctionName=fn_name, Qualifier="live", StatementId="b",
                        Action="lambda:InvokeFunction", Principal=ACCOUNT_B)
    assert invoke(b_client, f"{arn}:live").executed_version == "1"
    assert invoke(b_client, arn, Qualifier="live").json() == "hello from A"

    # Every other operation stays A's: to B the function does not exist.
    err = client_error(b_client.get_function, FunctionName=arn)
    assert_aws_error(b_client, err, 404, "ResourceNotFoundException", f"Function not found: {arn}")
    err = client_error(b_client.add_permission, FunctionName=arn, StatementId="x",
                       Action="lambda:InvokeFunction", Principal="*")
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"

    mlam.remove_permission(FunctionName=fn_name, StatementId="b")
    err = client_error(invoke, b_client, arn)
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(arn))
    # A missing function of A is refused the same way: B cannot tell the two apart.
    missing = arn + "-missing"
    err = client_error(invoke, b_client, missing)
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(missing))


def test_another_accounts_event_runs_in_the_functions_account(mlam, b_client, fn_name, recorder):
    code = handler_zip(f"""
        from recorder_client import record

        def lambda_handler(event, context):
            record("{fn_name}", {{"event": event, "arn": context.invoked_function_arn}})
            return "ok"
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    arn = deploy(mlam, fn_name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}})[
        "FunctionArn"
    ]
    err = client_error(b_client.invoke, FunctionName=arn, InvocationType="Event", Payload=b"{}")
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(arn))
    err = client_error(b_client.invoke, FunctionName=arn, InvocationType="DryRun", Payload=b"{}")
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(arn))

    mlam.add_permission(FunctionName=fn_name, StatementId="b", Action="lambda:*", Principal=ACCOUNT_B)
    assert b_client.invoke(FunctionName=arn, InvocationType="DryRun", Payload=b"{}")["StatusCode"] == 204
    accepted = b_client.invoke(FunctionName=arn, InvocationType="Event", Payload=b'{"from": "B"}')
    assert accepted["StatusCode"] == 202
    [record] = recorder.wait_for(fn_name, 1)
    assert json.loads(record) == {"event": {"from": "B"}, "arn": arn}


# --- PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy -----------------------------------


def test_resource_policy_is_the_same_policy_as_add_permissions(mlam, b_client, fn_name):
    arn = deploy(mlam, fn_name, HELLO)["FunctionArn"]
    mlam.add_permission(FunctionName=fn_name, StatementId="old", Action="lambda:GetFunction", Principal="*")
    got = mlam.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == mlam.get_policy(FunctionName=fn_name)["Policy"]

    document = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "b-invokes", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_B},
            "Action": "lambda:InvokeFunction", "Resource": arn,
        }],
    }
    err = client_error(mlam.put_resource_policy, ResourceArn=arn, Policy=json.dumps(document),
                       RevisionId="00000000-0000-4000-8000-000000000000")
    assert_aws_error(mlam, err, 412, "PreconditionFailedException", STALE)
    put = mlam.put_resource_policy(ResourceArn=arn, Policy=json.dumps(document), RevisionId=got["RevisionId"])
    # The whole policy was replaced: AddPermission's statement is gone, B may invoke.
    statements = json.loads(put["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["b-invokes"]
    assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}
    assert mlam.get_policy(FunctionName=fn_name)["RevisionId"] == put["RevisionId"]
    assert invoke(b_client, arn).json() == "hello from A"

    deleted = mlam.delete_resource_policy(ResourceArn=arn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    err = client_error(mlam.get_resource_policy, ResourceArn=arn)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", NO_POLICY)
    err = client_error(invoke, b_client, arn)
    assert_aws_error(b_client, err, 403, "AccessDeniedException", denied(arn))


def test_resource_policy_of_a_version_and_what_lamina_refuses(mlam, fn_name):
    """boto3 only: the venv's AWS CLI (v1) does not know the 2026 resource-policy operations
    yet (`aws lambda put-resource-policy` is an invalid choice there)."""
    arn = deploy(mlam, fn_name, HELLO)["FunctionArn"]
    mlam.publish_version(FunctionName=fn_name)
    document = {"Statement": [{"Sid": "s", "Effect": "Allow", "Principal": "*",
                               "Action": "lambda:InvokeFunction", "Resource": f"{arn}:1"}]}

    put = mlam.put_resource_policy(ResourceArn=f"{arn}:1", Policy=json.dumps(document))
    assert json.loads(put["Policy"])["Statement"][0]["Resource"] == f"{arn}:1"
    got = mlam.get_resource_policy(ResourceArn=f"{arn}:1")
    assert (got["Policy"], got["RevisionId"]) == (put["Policy"], put["RevisionId"])
    assert mlam.get_policy(FunctionName=fn_name, Qualifier="1")["Policy"] == put["Policy"]
    mlam.delete_resource_policy(ResourceArn=f"{arn}:1", RevisionId=put["RevisionId"])
    err = client_error(mlam.delete_resource_policy, ResourceArn=f"{arn}:1")
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", NO_POLICY)

    deny = {"Statement": [{"Sid": "d", "Effect": "Deny", "Principal": "*", "Action": "lambda:*", "Resource": arn}]}
    err = client_error(mlam.put_resource_policy, ResourceArn=arn, Policy=json.dumps(deny))
    assert_aws_error(mlam, err, 400, "InvalidParameterValueException",
                     contains="Lamina does not support a statement whose Effect is not Allow")
    runtime = "arn:aws:lambda:us-west-2:123456789012:runtime/python3.12"
    err = client_error(mlam.get_resource_policy, ResourceArn=runtime)
    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", contains="Lamina has no managed runtime")
