"""Several accounts on one server (issue 12, items 2 and 4), as boto3 sees them.

Account A is the server's default account (the tests' root key). Account B gets a key from
`lamina account keys create --account-id`. Each account has its own functions and layers; B sees
and attaches A's layer version only while A's policy grants it, with AWS's AccessDeniedException
otherwise, and can never change it.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from harness import LAMINA_BIN, make_client
from helpers import client_error
from invoke_support import deploy, invoke, lamina_logs_env
from zips import simple_zip

ACCOUNT_A = "123456789012"
ACCOUNT_B = "222233334444"


@pytest.fixture(scope="module")
def key_b(module_server):
    """A key of account B: {AccessKeyId, SecretAccessKey, AccountId}."""
    created = subprocess.run(
        [str(LAMINA_BIN), "--output", "json", "account", "keys", "create",
         "--account-id", ACCOUNT_B, "--data-dir", str(module_server.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    key = json.loads(created.stdout)
    assert key["AccountId"] == ACCOUNT_B
    return key


@pytest.fixture(scope="module")
def accounts(module_server, key_b):
    """(client of A, client of B) on the module's server."""
    key = key_b
    b = make_client(module_server.url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    return make_client(module_server.url), b


def denied_message(account: str, action: str, arn: str) -> str:
    return (
        f"User: arn:aws:iam::{account}:root is not authorized to perform: lambda:{action} on "
        f"resource: {arn} because no resource-based policy allows the lambda:{action} action"
    )


def publish_shared(a, name: str) -> str:
    """A publishes a layer with `python/shared_mod.py`; returns its version ARN."""
    zip_bytes = simple_zip({"python/shared_mod.py": b"GREETING = 'from account A'\n"})
    return a.publish_layer_version(
        LayerName=name, Content={"ZipFile": zip_bytes}, CompatibleRuntimes=["python3.11"],
    )["LayerVersionArn"]


def test_each_account_has_its_own_functions_and_layers(accounts, module_server, key_b):
    a, b = accounts
    made_a = deploy(a, "same-name", "def lambda_handler(e, c):\n    print('log of A')\n    return 'A'\n")
    made_b = deploy(b, "same-name", "def lambda_handler(e, c):\n    print('log of B')\n    return 'B'\n")
    assert made_a["FunctionArn"] == f"arn:aws:lambda:us-west-2:{ACCOUNT_A}:function:same-name"
    assert made_b["FunctionArn"] == f"arn:aws:lambda:us-west-2:{ACCOUNT_B}:function:same-name"
    assert invoke(a, "same-name").json() == "A"
    assert invoke(b, "same-name").json() == "B"
    # Each account's function has its own log.
    logs_of = {}
    # `lamina logs` reads the log of the account of the key it signs with.
    for account, env in ((ACCOUNT_A, lamina_logs_env()),
                         (ACCOUNT_B, lamina_logs_env(key_b["AccessKeyId"], key_b["SecretAccessKey"]))):
        shown = subprocess.run(
            [str(LAMINA_BIN), "logs", "same-name", "--endpoint-url", module_server.url],
            capture_output=True, text=True, timeout=60, check=True, env=env,
        )
        logs_of[account] = shown.stdout
    assert "log of A" in logs_of[ACCOUNT_A] and "log of B" not in logs_of[ACCOUNT_A]
    assert "log of B" in logs_of[ACCOUNT_B] and "log of A" not in logs_of[ACCOUNT_B]

    a.publish_layer_version(LayerName="only-in-a", Content={"ZipFile": simple_zip()})
    assert "only-in-a" in [l["LayerName"] for l in a.list_layers()["Layers"]]
    assert "only-in-a" not in [l["LayerName"] for l in b.list_layers()["Layers"]]
    assert b.list_layer_versions(LayerName="only-in-a")["LayerVersions"] == []

    b.delete_function(FunctionName="same-name")
    assert invoke(a, "same-name").json() == "A"
    err = client_error(b.get_function, FunctionName=made_a["FunctionArn"])
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"


def test_b_sees_and_attaches_a_layer_only_while_a_grants_it(accounts):
    a, b = accounts
    arn = publish_shared(a, "shared-deps")
    handler = "import shared_mod\n\ndef lambda_handler(e, c):\n    return shared_mod.GREETING\n"

    err = client_error(b.get_layer_version_by_arn, Arn=arn)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.response["Error"]["Code"] == "AccessDeniedException"
    assert err.response["Error"]["Message"] == denied_message(ACCOUNT_B, "GetLayerVersion", arn)
    err = client_error(deploy, b, "uses-shared", handler, Layers=[arn])
    assert err.response["Error"]["Code"] == "AccessDeniedException"
    assert "lambda:GetLayerVersion" in err.response["Error"]["Message"]

    grant = a.add_layer_version_permission(
        LayerName="shared-deps", VersionNumber=1, StatementId="to-b",
        Action="lambda:GetLayerVersion", Principal=ACCOUNT_B,
    )
    assert json.loads(grant["Statement"])["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}
    got = b.get_layer_version_by_arn(Arn=arn)
    assert got["LayerVersionArn"] == arn
    location = got["Content"]["Location"]
    assert f"account={ACCOUNT_B}" in location
    with urllib.request.urlopen(location, timeout=30) as r:
        assert r.read()[:2] == b"PK"
    assert b.get_layer_version(LayerName=arn.rsplit(":", 1)[0], VersionNumber=1)["Version"] == 1

    deploy(b, "uses-shared", handler, Layers=[arn])
    assert invoke(b, "uses-shared").json() == "from account A"

    # Revoking stops new use, and (as on AWS) leaves functions that already use it running.
    a.remove_layer_version_permission(LayerName="shared-deps", VersionNumber=1, StatementId="to-b")
    err = client_error(b.get_layer_version_by_arn, Arn=arn)
    assert err.response["Error"]["Code"] == "AccessDeniedException"
    err = client_error(
        b.update_function_configuration, FunctionName="uses-shared", Layers=[arn], MemorySize=256,
    )
    assert err.response["Error"]["Code"] == "AccessDeniedException"
    assert invoke(b, "uses-shared").json() == "from account A"

    a.add_layer_version_permission(
        LayerName="shared-deps", VersionNumber=1, StatementId="everyone",
        Action="lambda:GetLayerVersion", Principal="*",
    )
    assert b.get_layer_version_by_arn(Arn=arn)["Version"] == 1


def test_b_cannot_change_or_list_a_layer(accounts):
    a, b = accounts
    arn = publish_shared(a, "a-owns-this")
    layer_arn = arn.rsplit(":", 1)[0]
    a.add_layer_version_permission(
        LayerName="a-owns-this", VersionNumber=1, StatementId="everyone",
        Action="lambda:GetLayerVersion", Principal="*",
    )
    for call, kwargs, action, resource in [
        (b.delete_layer_version, {"VersionNumber": 1}, "DeleteLayerVersion", arn),
        (b.get_layer_version_policy, {"VersionNumber": 1}, "GetLayerVersionPolicy", arn),
        (b.list_layer_versions, {}, "ListLayerVersions", layer_arn),
        (b.add_layer_version_permission,
         {"VersionNumber": 1, "StatementId": "mine", "Action": "lambda:GetLayerVersion", "Principal": "*"},
         "AddLayerVersionPermission", arn),
    ]:
        err = client_error(call, LayerName=layer_arn, **kwargs)
        assert err.response["Error"]["Code"] == "AccessDeniedException", action
        assert err.response["Error"]["Message"] == denied_message(ACCOUNT_B, action, resource)
    assert a.get_layer_version(LayerName="a-owns-this", VersionNumber=1)["Version"] == 1
    statements = json.loads(a.get_layer_version_policy(LayerName="a-owns-this", VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in statements["Statement"]] == ["everyone"]
