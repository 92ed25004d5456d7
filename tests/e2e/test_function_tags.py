"""Tag limits of CreateFunction as AWS's: at most 50 tags, keys of 1-128 characters, values of at
most 256, and no key in the reserved `aws:` namespace. Each refusal stores nothing."""

from function_support import create, fn_name  # noqa: F401
from helpers import assert_aws_error, client_error, raw_of

MAX_TAGS = 50
# LocalStack's wording, recorded against AWS; see validate.rs for what is guessed.
TOO_MANY_TAGS = "Number of tags exceeds function tag limit."
RESERVED_KEY = "aws: prefixed tag key names are not allowed for external use."


def numbered(n: int) -> dict[str, str]:
    return {f"key-{i}": f"value-{i}" for i in range(n)}


def assert_not_created(lam, name: str) -> None:
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert name not in names


def test_fifty_tags_are_accepted_and_kept(lam, fn_name):
    create(lam, fn_name, Tags=numbered(MAX_TAGS))

    lam.get_function(FunctionName=fn_name)
    assert raw_of(lam).json()["Tags"] == numbered(MAX_TAGS)


def test_fifty_one_tags_are_refused(lam, fn_name):
    err = client_error(create, lam, fn_name, Tags=numbered(MAX_TAGS + 1))

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", TOO_MANY_TAGS)
    assert_not_created(lam, fn_name)


def test_a_thousand_tags_are_refused(lam, fn_name):
    err = client_error(create, lam, fn_name, Tags=numbered(1000))

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", TOO_MANY_TAGS)
    assert_not_created(lam, fn_name)


def test_a_key_of_129_characters_is_refused(lam, fn_name):
    err = client_error(create, lam, fn_name, Tags={"k" * 129: "v"})

    assert_aws_error(
        lam, err, 400, "ValidationException",
        prefix="1 validation error detected: Value '{" + "k" * 129 + "=v}' at 'tags' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 128",
    )
    assert_not_created(lam, fn_name)


def test_a_key_of_128_characters_and_a_value_of_256_are_accepted(lam, fn_name):
    create(lam, fn_name, Tags={"k" * 128: "v" * 256})

    lam.get_function(FunctionName=fn_name)
    assert raw_of(lam).json()["Tags"] == {"k" * 128: "v" * 256}


def test_a_value_of_257_characters_is_refused(lam, fn_name):
    err = client_error(create, lam, fn_name, Tags={"k": "v" * 257})

    assert_aws_error(lam, err, 400, "ValidationException", contains="Map value must satisfy constraint")
    assert_not_created(lam, fn_name)


def test_an_aws_prefixed_key_is_refused_in_any_case(lam, fn_name):
    for key in ["aws:team", "AWS:cloudformation:stack-name"]:
        err = client_error(create, lam, fn_name, Tags={"team": "core", key: "x"})

        assert_aws_error(lam, err, 400, "InvalidParameterValueException", RESERVED_KEY)
    assert_not_created(lam, fn_name)
