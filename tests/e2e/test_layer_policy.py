"""Layer version permissions: statements, the policy document, RevisionId (spec §2.3, §2.4)."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from harness import make_client

from helpers import UUID_RE, assert_aws_error, client_error, layer_version_arn, raw_of
from zips import simple_zip

ACTION = "lambda:GetLayerVersion"
NO_POLICY = "No policy is associated with the given resource."
STALE_REVISION = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetLayerPolicy API to retrieve the latest Revision Id"
)


@pytest.fixture
def version_arn(lam, layer_name):
    """Publishes version 1 of the test's layer and returns its ARN."""
    lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": simple_zip()})
    return layer_version_arn(layer_name, 1)


def grant(lam, layer_name, sid, principal="*", version=1, **kwargs):
    return lam.add_layer_version_permission(
        LayerName=layer_name, VersionNumber=version, StatementId=sid, Action=ACTION, Principal=principal, **kwargs
    )


def test_add_permission_for_everyone_answers_201_with_the_statement(lam, layer_name, version_arn):
    out = grant(lam, layer_name, "everyone")

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert UUID_RE.fullmatch(out["RevisionId"])
    statement = json.loads(out["Statement"])
    assert statement == {"Sid": "everyone", "Effect": "Allow", "Principal": "*", "Action": ACTION, "Resource": version_arn}
    assert list(statement) == ["Sid", "Effect", "Principal", "Action", "Resource"]


@pytest.mark.parametrize("principal", ["210987654321", "arn:aws:iam::210987654321:root"])
def test_account_principal_is_rendered_as_its_root_arn(lam, layer_name, version_arn, principal):
    out = grant(lam, layer_name, "acct", principal=principal)

    statement = json.loads(out["Statement"])
    assert statement["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert statement["Resource"] == version_arn


def test_organization_grant_adds_a_principal_org_condition(lam, layer_name, version_arn):
    out = grant(lam, layer_name, "org", OrganizationId="o-abcdefghij")

    assert json.loads(out["Statement"]) == {
        "Sid": "org",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ACTION,
        "Resource": version_arn,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
    }


def test_policy_lists_statements_in_insertion_order(lam, layer_name, version_arn):
    first = grant(lam, layer_name, "zeta", principal="210987654321")
    second = grant(lam, layer_name, "alpha")

    got = lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)

    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["RevisionId"] == second["RevisionId"]
    policy = json.loads(got["Policy"])
    assert policy == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [json.loads(first["Statement"]), json.loads(second["Statement"])],
    }


def test_revision_id_changes_on_every_add_and_remove(lam, layer_name, version_arn):
    revisions = [grant(lam, layer_name, "a")["RevisionId"], grant(lam, layer_name, "b")["RevisionId"]]
    lam.remove_layer_version_permission(LayerName=layer_name, VersionNumber=1, StatementId="a")
    revisions.append(lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)["RevisionId"])

    assert len(set(revisions)) == 3


def test_remove_permission_answers_204_and_drops_the_statement(lam, layer_name, version_arn):
    grant(lam, layer_name, "keep")
    grant(lam, layer_name, "drop")

    out = lam.remove_layer_version_permission(LayerName=layer_name, VersionNumber=1, StatementId="drop")

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    policy = json.loads(lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["keep"]


def test_policy_without_statements_is_not_found(lam, layer_name, version_arn):
    err = client_error(lam.get_layer_version_policy, LayerName=layer_name, VersionNumber=1)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NO_POLICY)


def test_policy_whose_last_statement_was_removed_is_not_found(lam, layer_name, version_arn):
    grant(lam, layer_name, "only")
    lam.remove_layer_version_permission(LayerName=layer_name, VersionNumber=1, StatementId="only")

    err = client_error(lam.get_layer_version_policy, LayerName=layer_name, VersionNumber=1)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NO_POLICY)


def test_policy_belongs_to_one_version(lam, layer_name, version_arn):
    lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": simple_zip()})
    grant(lam, layer_name, "v1only", version=1)

    err = client_error(lam.get_layer_version_policy, LayerName=layer_name, VersionNumber=2)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NO_POLICY)


def test_duplicate_statement_id_is_conflict(lam, layer_name, version_arn):
    grant(lam, layer_name, "s1")

    err = client_error(grant, lam, layer_name, "s1")
    assert_aws_error(
        lam, err, 409, "ResourceConflictException",
        "The statement id (s1) provided already exists. Please provide a new statement id, "
        "or remove the existing statement.",
    )


def test_add_with_stale_revision_id_is_precondition_failed(lam, layer_name, version_arn):
    stale = grant(lam, layer_name, "a")["RevisionId"]
    grant(lam, layer_name, "b")

    err = client_error(grant, lam, layer_name, "c", RevisionId=stale)
    assert_aws_error(lam, err, 412, "PreconditionFailedException", STALE_REVISION)


def test_add_with_current_revision_id_succeeds(lam, layer_name, version_arn):
    current = grant(lam, layer_name, "a")["RevisionId"]
    out = grant(lam, layer_name, "b", RevisionId=current)
    assert out["RevisionId"] != current


def test_concurrent_adds_with_the_same_revision_id_let_only_one_win(server, layer_name, version_arn):
    current = grant(make_client(server.url), layer_name, "base")["RevisionId"]
    clients = [make_client(server.url) for _ in range(6)]

    def attempt(i):
        try:
            grant(clients[i], layer_name, f"racer{i}", RevisionId=current)
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = list(pool.map(attempt, range(len(clients))))

    assert sorted(outcomes) == ["PreconditionFailedException"] * (len(clients) - 1) + ["ok"], outcomes


def test_remove_with_stale_revision_id_is_precondition_failed(lam, layer_name, version_arn):
    stale = grant(lam, layer_name, "a")["RevisionId"]
    grant(lam, layer_name, "b")

    err = client_error(
        lam.remove_layer_version_permission, LayerName=layer_name, VersionNumber=1, StatementId="a", RevisionId=stale
    )
    assert_aws_error(lam, err, 412, "PreconditionFailedException", STALE_REVISION)
    policy = json.loads(lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["a", "b"]


def test_remove_unknown_statement_is_not_found(lam, layer_name, version_arn):
    grant(lam, layer_name, "present")

    err = client_error(lam.remove_layer_version_permission, LayerName=layer_name, VersionNumber=1, StatementId="ghost")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", "Statement ghost is not found in resource policy.")


@pytest.mark.parametrize("operation", ["add", "get", "remove"])
def test_policy_ops_on_unknown_version_are_not_found(lam, layer_name, version_arn, operation):
    calls = {
        "add": lambda: grant(lam, layer_name, "s", version=9),
        "get": lambda: lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=9),
        "remove": lambda: lam.remove_layer_version_permission(LayerName=layer_name, VersionNumber=9, StatementId="s"),
    }
    err = client_error(calls[operation])
    assert_aws_error(
        lam, err, 404, "ResourceNotFoundException", f"Layer version {layer_version_arn(layer_name, 9)} does not exist."
    )


def test_policy_ops_on_unknown_layer_are_not_found(lam, layer_name):
    err = client_error(grant, lam, layer_name, "s")
    assert_aws_error(
        lam, err, 404, "ResourceNotFoundException", f"Layer version {layer_version_arn(layer_name, 1)} does not exist."
    )


def test_action_other_than_get_layer_version_is_validation_error(lam, layer_name, version_arn):
    err = client_error(
        lam.add_layer_version_permission,
        LayerName=layer_name, VersionNumber=1, StatementId="s", Action="lambda:InvokeFunction", Principal="*",
    )
    assert_aws_error(
        lam, err, 400, "ValidationException",
        contains="at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "lambda:GetLayerVersion",
    )


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("statementId", {"StatementId": "bad id!"}),
        ("principal", {"Principal": "not-an-account"}),
        ("organizationId", {"OrganizationId": "org-1"}),
    ],
)
def test_malformed_permission_fields_are_validation_errors(lam, layer_name, version_arn, field, kwargs):
    args = {"StatementId": "s", "Action": ACTION, "Principal": "*", **kwargs}
    err = client_error(lam.add_layer_version_permission, LayerName=layer_name, VersionNumber=1, **args)
    assert_aws_error(
        lam, err, 400, "ValidationException", prefix="1 validation error detected: Value ", contains=f" at '{field}' "
    )


def test_statement_response_is_a_json_string_on_the_wire(lam, layer_name, version_arn):
    grant(lam, layer_name, "wire")
    body = raw_of(lam).json()
    assert set(body) == {"Statement", "RevisionId"}
    assert isinstance(body["Statement"], str)
