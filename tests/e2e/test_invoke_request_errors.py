"""Invoke requests refused before any code runs (spec §8 "API-level Invoke errors")."""

from helpers import assert_aws_error, client_error
from invoke_support import deploy, fn_name, invoke, mlam  # noqa: F401

MAX_SYNC_PAYLOAD = 6_291_456
ECHO = "def lambda_handler(event, context):\n    return event\n"


def test_a_payload_that_is_not_json_is_400_invalid_request_content(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)

    err = client_error(invoke, mlam, fn_name, raw=b"{not json")

    assert_aws_error(
        mlam, err, 400, "InvalidRequestContentException",
        prefix="Could not parse request body into json: Could not parse payload into json: ",
    )


def test_a_payload_over_6_mb_is_413_request_too_large(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)
    payload = b'"' + b"a" * (MAX_SYNC_PAYLOAD - 1) + b'"'

    err = client_error(invoke, mlam, fn_name, raw=payload)

    assert_aws_error(
        mlam, err, 413, "RequestTooLargeException",
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    )


def test_a_payload_of_exactly_6_mb_is_accepted(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return len(event)\n")
    payload = b'"' + b"a" * (MAX_SYNC_PAYLOAD - 2) + b'"'

    out = invoke(mlam, fn_name, raw=payload)

    assert out.json() == MAX_SYNC_PAYLOAD - 2


def test_an_unknown_invocation_type_is_400_validation(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)

    err = client_error(invoke, mlam, fn_name, InvocationType="Sometimes")

    assert_aws_error(
        mlam, err, 400, "ValidationException",
        "1 validation error detected: Value 'Sometimes' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
    )
