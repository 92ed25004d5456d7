"""Tag limits of CreateFunction as AWS's: at most 50 tags, keys of 1-128 characters, values of at
most 256, and no key in the reserved `aws:` namespace. Each refusal stores nothing.

TagResource, UntagResource and ListTags on a function's ARN (boto3, the AWS CLI and the AWS SDK for JavaScript): the same
limits on the tags the function would have, kept across a restart, shown by GetFunction; a
qualified ARN, a layer ARN, a missing function and another account's function are refused."""

import json
import os
import subprocess
from pathlib import Path

from function_support import create, fn_name, function_arn  # noqa: F401
from harness import REPO
from helpers import ACCESS_KEY, SECRET_KEY, assert_aws_error, client_error, layer_version_arn, raw_of
from zips import simple_zip

MAX_TAGS = 50
CODE_ZIP = simple_zip({"python/m.py": b"X = 1\n"})
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


# --- TagResource, UntagResource, ListTags ---------------------------------------------------------

QUALIFIED = "Tags on function aliases and versions are not supported. Please specify a function ARN."


def test_tag_untag_and_list_with_boto3(lam, fn_name):
    arn = create(lam, fn_name, Tags={"team": "core"})["FunctionArn"]

    tagged = lam.tag_resource(Resource=arn, Tags={"stage": "dev", "team": "edge"})
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_tags(Resource=arn)["Tags"] == {"stage": "dev", "team": "edge"}
    assert lam.get_function(FunctionName=fn_name)["Tags"] == {"stage": "dev", "team": "edge"}

    untagged = lam.untag_resource(Resource=arn, TagKeys=["team", "not-there"])
    assert untagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_tags(Resource=arn)["Tags"] == {"stage": "dev"}
    lam.untag_resource(Resource=arn, TagKeys=["stage"])
    assert lam.list_tags(Resource=arn)["Tags"] == {}
    assert "Tags" not in lam.get_function(FunctionName=fn_name)


def test_tag_untag_and_list_with_the_aws_cli(lam, aws, fn_name):
    arn = create(lam, fn_name)["FunctionArn"]
    endpoint = ("--endpoint-url", lam.meta.endpoint_url)

    assert aws("lambda", "tag-resource", *endpoint, "--resource", arn, "--tags", "a=1,b=2") is None
    assert aws("lambda", "list-tags", *endpoint, "--resource", arn) == {"Tags": {"a": "1", "b": "2"}}
    assert aws("lambda", "untag-resource", *endpoint, "--resource", arn, "--tag-keys", "a", "b") is None
    assert aws("lambda", "list-tags", *endpoint, "--resource", arn) == {"Tags": {}}


def test_the_limits_apply_to_the_tags_after_the_change(lam, fn_name):
    arn = create(lam, fn_name, Tags=numbered(MAX_TAGS - 1))["FunctionArn"]

    # Replacing a value does not add a tag; the fiftieth fits, the fifty-first does not.
    lam.tag_resource(Resource=arn, Tags={"key-0": "changed", "fiftieth": "x"})
    err = client_error(lam.tag_resource, Resource=arn, Tags={"one-too-many": "x"})
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", TOO_MANY_TAGS)
    err = client_error(lam.tag_resource, Resource=arn, Tags={"AWS:stack": "x"})
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", RESERVED_KEY)
    err = client_error(lam.tag_resource, Resource=arn, Tags={"k" * 129: "v"})
    assert_aws_error(lam, err, 400, "ValidationException", contains="Map keys must satisfy constraint")
    err = client_error(lam.tag_resource, Resource=arn, Tags={"k": "v" * 257})
    assert_aws_error(lam, err, 400, "ValidationException", contains="Map value must satisfy constraint")

    tags = lam.list_tags(Resource=arn)["Tags"]
    assert len(tags) == MAX_TAGS
    assert tags["key-0"] == "changed"


def test_only_an_unqualified_function_arn_is_taggable(lam, fn_name, layer_name):
    create(lam, fn_name)
    lam.publish_version(FunctionName=fn_name)

    for qualifier in ["1", "$LATEST"]:
        err = client_error(lam.tag_resource, Resource=function_arn(fn_name, qualifier), Tags={"a": "1"})
        assert_aws_error(lam, err, 400, "InvalidParameterValueException", QUALIFIED)
    lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": CODE_ZIP})
    layer = layer_version_arn(layer_name, 1)
    err = client_error(lam.list_tags, Resource=layer)
    assert_aws_error(
        lam, err, 400, "ValidationException",
        prefix=f"1 validation error detected: Value '{layer}' at 'resource' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:",
    )
    err = client_error(lam.list_tags, Resource=fn_name)
    assert_aws_error(lam, err, 400, "ValidationException", contains="at 'resource' failed to satisfy")


def test_a_missing_function_and_another_accounts_are_not_found(lam, fn_name):
    missing = function_arn(fn_name)
    err = client_error(lam.list_tags, Resource=missing)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", f"Function not found: {missing}")

    create(lam, fn_name)
    foreign = missing.replace(":123456789012:", ":222233334444:")
    err = client_error(lam.tag_resource, Resource=foreign, Tags={"a": "1"})
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", f"Function not found: {foreign}")


def test_tags_survive_a_restart(start_server, client_for, fn_name):
    first = start_server()
    lam = client_for(first)
    arn = create(lam, fn_name)["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"kept": "yes"})
    first.stop()

    again = client_for(start_server(data_dir=first.data_dir))
    assert again.list_tags(Resource=arn)["Tags"] == {"kept": "yes"}


# --- the AWS SDK for JavaScript v3 ----------------------------------------------------------------

NODE_SDK = Path(os.environ.get("LAMINA_E2E_NODE_SDK", REPO / "target" / "e2e-node-sdk" / "node_modules"))

JS_TAGS = """
const {
  LambdaClient, TagResourceCommand, ListTagsCommand, UntagResourceCommand,
} = require("@aws-sdk/client-lambda");
const [endpoint, arn, accessKeyId, secretAccessKey] = process.argv.slice(2);
const lambda = new LambdaClient({
  endpoint, region: "us-west-2", credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1,
});
(async () => {
  const out = {};
  await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { from: "js", team: "core" } }));
  out.afterTag = (await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags;
  await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ["team"] }));
  out.afterUntag = (await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags;
  try {
    await lambda.send(new ListTagsCommand({ Resource: arn + ":1" }));
  } catch (e) {
    out.qualified = { name: e.name, message: e.message, status: e.$metadata.httpStatusCode };
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_tags_with_the_aws_sdk_for_javascript(lam, server, fn_name, tmp_path):
    assert (NODE_SDK / "@aws-sdk" / "client-lambda").is_dir(), f"no @aws-sdk/client-lambda in {NODE_SDK}; run scripts/e2e"
    arn = create(lam, fn_name)["FunctionArn"]
    script = tmp_path / "tags.js"
    script.write_text(JS_TAGS)

    done = subprocess.run(
        ["node", str(script), server.url, arn, ACCESS_KEY, SECRET_KEY],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": str(NODE_SDK)},
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["afterTag"] == {"from": "js", "team": "core"}
    assert out["afterUntag"] == {"from": "js"}
    assert out["qualified"] == {"name": "InvalidParameterValueException", "message": QUALIFIED, "status": 400}
    assert lam.list_tags(Resource=arn)["Tags"] == {"from": "js"}
