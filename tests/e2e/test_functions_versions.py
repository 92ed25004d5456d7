"""PublishVersion, ListVersionsByFunction, qualified reads and deletes, aliases and the
RevisionId preconditions (412), through boto3."""

import pytest

from function_support import (
    CODE, OTHER_CODE, STALE_REVISION, create, fn_name, function_arn, not_found,  # noqa: F401
)
from helpers import assert_aws_error, client_error, code_sha256, raw_of

# --- versions ---------------------------------------------------------------------------------


def test_publish_version_snapshots_latest(lam, fn_name):
    create(lam, fn_name, Description="first", MemorySize=256)

    out = lam.publish_version(FunctionName=fn_name, Description="release 1")

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["Version"] == "1"
    assert out["FunctionArn"] == function_arn(fn_name, "1")
    assert out["Description"] == "release 1"
    assert out["MemorySize"] == 256
    assert out["CodeSha256"] == code_sha256(CODE)
    lam.update_function_configuration(FunctionName=fn_name, MemorySize=512)
    frozen = lam.get_function_configuration(FunctionName=fn_name, Qualifier="1")
    assert frozen["MemorySize"] == 256
    assert frozen["FunctionArn"] == function_arn(fn_name, "1")


def test_publish_without_changes_returns_the_last_version(lam, fn_name):
    create(lam, fn_name)
    first = lam.publish_version(FunctionName=fn_name)

    again = lam.publish_version(FunctionName=fn_name)

    assert again["Version"] == first["Version"] == "1"
    assert again["RevisionId"] == first["RevisionId"]
    lam.update_function_code(FunctionName=fn_name, ZipFile=OTHER_CODE)
    assert lam.publish_version(FunctionName=fn_name)["Version"] == "2"


def test_publish_changes_the_revision_of_latest(lam, fn_name):
    created = create(lam, fn_name)

    lam.publish_version(FunctionName=fn_name)

    assert lam.get_function_configuration(FunctionName=fn_name)["RevisionId"] != created["RevisionId"]


def test_publish_with_wrong_code_sha256_is_refused(lam, fn_name):
    create(lam, fn_name)
    wrong = code_sha256(OTHER_CODE)

    err = client_error(lam.publish_version, FunctionName=fn_name, CodeSha256=wrong)

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        f"CodeSHA256 ({wrong}) is different from current CodeSHA256 in $LATEST ({code_sha256(CODE)}). "
        "Please try again with the CodeSHA256 in $LATEST.",
    )
    assert lam.publish_version(FunctionName=fn_name, CodeSha256=code_sha256(CODE))["Version"] == "1"


def test_list_versions_latest_first_then_ascending_with_pages(lam, fn_name):
    create(lam, fn_name)
    for memory in (256, 512, 1024):
        lam.update_function_configuration(FunctionName=fn_name, MemorySize=memory)
        lam.publish_version(FunctionName=fn_name)

    first = lam.list_versions_by_function(FunctionName=fn_name, MaxItems=2)
    rest = lam.list_versions_by_function(FunctionName=fn_name, Marker=first["NextMarker"])

    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    assert [v["Version"] for v in rest["Versions"]] == ["2", "3"]
    assert first["Versions"][0]["FunctionArn"] == function_arn(fn_name, "$LATEST")
    assert [v["MemorySize"] for v in rest["Versions"]] == [512, 1024]
    assert "State" not in first["Versions"][0]


def test_list_versions_of_unknown_function_is_not_found(lam, fn_name):
    err = client_error(lam.list_versions_by_function, FunctionName=fn_name)

    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name))


def test_deleted_version_numbers_are_never_reused(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.update_function_configuration(FunctionName=fn_name, Timeout=5)
    lam.publish_version(FunctionName=fn_name)

    lam.delete_function(FunctionName=fn_name, Qualifier="2")
    lam.delete_function(FunctionName=fn_name, Qualifier="1")
    lam.update_function_configuration(FunctionName=fn_name, Timeout=6)

    assert lam.publish_version(FunctionName=fn_name)["Version"] == "3"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn_name)["Versions"]] == ["$LATEST", "3"]
    err = client_error(lam.get_function, FunctionName=fn_name, Qualifier="1")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name, "1"))


def test_version_an_alias_uses_cannot_be_deleted(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    err = client_error(lam.delete_function, FunctionName=fn_name, Qualifier="1")

    assert_aws_error(lam, err, 409, "ResourceConflictException", contains="[live]")


def test_deleting_the_function_removes_versions_and_aliases(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    lam.delete_function(FunctionName=fn_name)
    create(lam, fn_name)

    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn_name)["Versions"]] == ["$LATEST"]
    assert lam.list_aliases(FunctionName=fn_name)["Aliases"] == []


# --- aliases ----------------------------------------------------------------------------------


def test_alias_lifecycle(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.update_function_configuration(FunctionName=fn_name, Timeout=9)
    lam.publish_version(FunctionName=fn_name)

    created = lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1", Description="prod")
    body = raw_of(lam).json()
    got = lam.get_alias(FunctionName=fn_name, Name="live")
    updated = lam.update_alias(
        FunctionName=fn_name, Name="live", FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.25}},
    )
    listed = lam.list_aliases(FunctionName=fn_name)["Aliases"]
    deleted = lam.delete_alias(FunctionName=fn_name, Name="live")

    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert body == {
        "AliasArn": function_arn(fn_name, "live"), "Name": "live", "FunctionVersion": "1",
        "Description": "prod", "RevisionId": created["RevisionId"],
    }
    assert got["RevisionId"] == created["RevisionId"]
    assert updated["FunctionVersion"] == "2"
    assert updated["Description"] == "prod"
    assert updated["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.25}}
    assert updated["RevisionId"] != created["RevisionId"]
    assert [(a["Name"], a["RoutingConfig"]) for a in listed] == [("live", {"AdditionalVersionWeights": {"1": 0.25}})]
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_aliases(FunctionName=fn_name)["Aliases"] == []


def test_alias_description_defaults_to_empty_and_latest_is_allowed(lam, fn_name):
    create(lam, fn_name)

    out = lam.create_alias(FunctionName=fn_name, Name="dev", FunctionVersion="$LATEST")

    assert out["Description"] == ""
    assert "RoutingConfig" not in raw_of(lam).json()


def test_reads_through_an_alias_show_its_version_and_the_alias_arn(lam, fn_name):
    create(lam, fn_name, Publish=True, MemorySize=256)
    lam.update_function_configuration(FunctionName=fn_name, MemorySize=512)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    got = lam.get_function(FunctionName=fn_name, Qualifier="live")["Configuration"]
    by_arn = lam.get_function_configuration(FunctionName=function_arn(fn_name, "live"))

    for config in (got, by_arn):
        assert config["Version"] == "1"
        assert config["MemorySize"] == 256
        assert config["FunctionArn"] == function_arn(fn_name, "live")


def test_routing_config_can_be_removed(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.update_function_configuration(FunctionName=fn_name, Timeout=9)
    lam.publish_version(FunctionName=fn_name)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})

    out = lam.update_alias(FunctionName=fn_name, Name="live", RoutingConfig={"AdditionalVersionWeights": {}})

    assert "RoutingConfig" not in raw_of(lam).json()
    assert out["FunctionVersion"] == "2"


def test_list_aliases_filters_by_version_and_pages(lam, fn_name):
    create(lam, fn_name, Publish=True)
    for name, version in (("a1", "1"), ("a2", "$LATEST"), ("a3", "1")):
        lam.create_alias(FunctionName=fn_name, Name=name, FunctionVersion=version)

    only_v1 = lam.list_aliases(FunctionName=fn_name, FunctionVersion="1")["Aliases"]
    first = lam.list_aliases(FunctionName=fn_name, MaxItems=2)
    rest = lam.list_aliases(FunctionName=fn_name, Marker=first["NextMarker"])

    assert [a["Name"] for a in only_v1] == ["a1", "a3"]
    assert [a["Name"] for a in first["Aliases"]] == ["a1", "a2"]
    assert [a["Name"] for a in rest["Aliases"]] == ["a3"]


def test_alias_errors(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    err = client_error(lam.create_alias, FunctionName=fn_name, Name="live", FunctionVersion="1")
    assert_aws_error(lam, err, 409, "ResourceConflictException", f"Alias already exists: {function_arn(fn_name, 'live')}")
    err = client_error(lam.get_alias, FunctionName=fn_name, Name="nope")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", f"Cannot find alias arn: {function_arn(fn_name, 'nope')}")
    err = client_error(lam.update_alias, FunctionName=fn_name, Name="nope", FunctionVersion="1")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", f"Alias not found: {function_arn(fn_name, 'nope')}")
    err = client_error(lam.create_alias, FunctionName=fn_name, Name="v9", FunctionVersion="9")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name, "9"))
    err = client_error(lam.create_alias, FunctionName=fn_name, Name="123", FunctionVersion="1")
    assert_aws_error(
        lam, err, 400, "ValidationException",
        "1 validation error detected: Value '123' at 'name' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
    )
    err = client_error(lam.create_alias, FunctionName=fn_name + "-x", Name="a", FunctionVersion="1")
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name + "-x"))
    assert lam.delete_alias(FunctionName=fn_name, Name="nope")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_alias_routing_errors(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.update_function_configuration(FunctionName=fn_name, Timeout=9)
    lam.publish_version(FunctionName=fn_name)

    err = client_error(
        lam.create_alias, FunctionName=fn_name, Name="a", FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.1, "3": 0.1}},
    )
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", "Number of items in AdditionalVersionWeights cannot be greater than 1")
    err = client_error(
        lam.create_alias, FunctionName=fn_name, Name="a", FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Invalid function version 2. Function version 2 is already included in routing configuration.",
    )
    err = client_error(
        lam.create_alias, FunctionName=fn_name, Name="a", FunctionVersion="$LATEST",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}},
    )
    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version",
    )
    err = client_error(
        lam.create_alias, FunctionName=fn_name, Name="a", FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"1": 1.5}},
    )
    assert_aws_error(
        lam, err, 400, "ValidationException",
        "1 validation error detected: Value '{1=1.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy "
        "constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, "
        "Member must have value greater than or equal to 0.0, Member must not be null]",
    )


# --- RevisionId preconditions -----------------------------------------------------------------


def test_update_configuration_with_stale_revision_is_412(lam, fn_name):
    create(lam, fn_name)
    active = lam.get_function_configuration(FunctionName=fn_name)
    lam.update_function_configuration(FunctionName=fn_name, Timeout=5, RevisionId=active["RevisionId"])

    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Timeout=6, RevisionId=active["RevisionId"])

    assert_aws_error(lam, err, 412, "PreconditionFailedException", STALE_REVISION)
    assert lam.get_function_configuration(FunctionName=fn_name)["Timeout"] == 5


def test_update_code_with_stale_revision_is_412(lam, fn_name):
    create(lam, fn_name)

    err = client_error(lam.update_function_code, FunctionName=fn_name, ZipFile=OTHER_CODE, RevisionId="stale")

    assert_aws_error(lam, err, 412, "PreconditionFailedException", STALE_REVISION)
    assert lam.get_function_configuration(FunctionName=fn_name)["CodeSha256"] == code_sha256(CODE)


def test_publish_with_stale_revision_is_412(lam, fn_name):
    created = create(lam, fn_name)
    lam.update_function_configuration(FunctionName=fn_name, Timeout=5)
    # Settling the update gave $LATEST its current RevisionId.
    current = lam.get_function_configuration(FunctionName=fn_name)

    err = client_error(lam.publish_version, FunctionName=fn_name, RevisionId=created["RevisionId"])
    assert_aws_error(lam, err, 412, "PreconditionFailedException", STALE_REVISION)

    assert lam.publish_version(FunctionName=fn_name, RevisionId=current["RevisionId"])["Version"] == "1"


def test_update_alias_with_stale_revision_is_412(lam, fn_name):
    create(lam, fn_name)
    alias = lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")
    lam.update_alias(FunctionName=fn_name, Name="live", Description="x", RevisionId=alias["RevisionId"])

    err = client_error(lam.update_alias, FunctionName=fn_name, Name="live", Description="y", RevisionId=alias["RevisionId"])

    assert_aws_error(lam, err, 412, "PreconditionFailedException", STALE_REVISION)
    assert lam.get_alias(FunctionName=fn_name, Name="live")["Description"] == "x"


@pytest.mark.parametrize("qualifier", ["live", "1"])
def test_delete_through_an_alias_or_unknown_version(lam, fn_name, qualifier):
    create(lam, fn_name, Publish=True)
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")
    if qualifier == "live":
        err = client_error(lam.delete_function, FunctionName=fn_name, Qualifier="live")
        assert_aws_error(lam, err, 400, "InvalidParameterValueException")
    else:
        lam.delete_function(FunctionName=fn_name, Qualifier="1")
        assert lam.delete_function(FunctionName=fn_name, Qualifier="1")["ResponseMetadata"]["HTTPStatusCode"] == 204
