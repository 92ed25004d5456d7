"""Which code an invoke runs and what `X-Amz-Executed-Version` says (spec §8): `$LATEST`,
a published version, an alias; unknown qualifiers and functions answer 404 with the ARN
qualified as invoked."""

import pytest

from function_support import function_arn, not_found
from helpers import assert_aws_error, client_error
from invoke_support import deploy, fn_name, handler_zip, invoke, mlam  # noqa: F401

V1 = handler_zip("def lambda_handler(event, context):\n    return 'code 1'\n")
V2 = handler_zip("def lambda_handler(event, context):\n    return 'code 2'\n")


@pytest.fixture
def published(mlam, fn_name):
    """Version 1 runs 'code 1', $LATEST runs 'code 2', alias `live` points at 1."""
    deploy(mlam, fn_name, zip_bytes=V1)
    assert mlam.publish_version(FunctionName=fn_name)["Version"] == "1"
    mlam.update_function_code(FunctionName=fn_name, ZipFile=V2)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")
    return fn_name


def test_no_qualifier_runs_latest_and_says_so(mlam, published):
    out = invoke(mlam, published)

    assert out.json() == "code 2"
    assert out.executed_version == "$LATEST"


def test_latest_qualifier_runs_latest(mlam, published):
    out = invoke(mlam, published, Qualifier="$LATEST")

    assert out.json() == "code 2"
    assert out.executed_version == "$LATEST"


def test_a_version_number_runs_that_version(mlam, published):
    out = invoke(mlam, published, Qualifier="1")

    assert out.json() == "code 1"
    assert out.executed_version == "1"


def test_an_alias_runs_its_version_and_reports_the_number(mlam, published):
    out = invoke(mlam, published, Qualifier="live")

    assert out.json() == "code 1"
    assert out.executed_version == "1"


def test_a_qualified_function_arn_works_like_a_qualifier(mlam, published):
    out = invoke(mlam, function_arn(published, "live"))

    assert out.json() == "code 1"
    assert out.executed_version == "1"


@pytest.mark.parametrize("qualifier", ["7", "nope"])
def test_an_unknown_qualifier_is_404_with_the_qualified_arn(mlam, published, qualifier):
    err = client_error(invoke, mlam, published, Qualifier=qualifier)

    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(published, qualifier))


def test_an_unknown_function_is_404_with_the_latest_arn(mlam, fn_name):
    err = client_error(invoke, mlam, fn_name)

    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name, "$LATEST"))


@pytest.mark.parametrize("invocation_type", ["Event", "DryRun"])
def test_event_and_dry_run_of_an_unknown_function_are_404_too(mlam, fn_name, invocation_type):
    err = client_error(invoke, mlam, fn_name, InvocationType=invocation_type)

    assert_aws_error(mlam, err, 404, "ResourceNotFoundException", not_found(fn_name, "$LATEST"))
