"""A Lamina keeping its ZIPs in an S3-compatible store (`--artifacts s3://...`): content given
as `S3Bucket`/`S3Key` is read from that server, as AWS reads it from S3, and with
`--content-urls s3` the `Content.Location`/`Code.Location` URLs are the store's presigned GET
URLs. Needs the SeaweedFS of scripts/s3-test: `eval "$(scripts/s3-test start)"` (scripts/test
does it) exports the LAMINA_TEST_S3_* variables read here."""

import hashlib
import os
import subprocess
import uuid

import pytest

from function_support import HANDLER, ROLE, RUNTIME, fn_name  # noqa: F401 (fixture)
from helpers import assert_aws_error, client_error, code_sha256, http_get
from invoke_support import handler_zip, invoke
from zips import simple_zip


def s3_settings() -> dict[str, str]:
    """The test S3 server's settings; fails (never skips) when it was not started."""
    endpoint = os.environ.get("LAMINA_TEST_S3_ENDPOINT")
    if not endpoint:
        raise RuntimeError(
            'LAMINA_TEST_S3_ENDPOINT is not set: run `eval "$(scripts/s3-test start)"` first (scripts/test does)'
        )
    return {
        "endpoint": endpoint,
        "bucket": os.environ.get("LAMINA_TEST_S3_BUCKET", "lamina-test"),
        "key_id": os.environ.get("LAMINA_TEST_S3_ACCESS_KEY_ID", "lamina-test"),
        "secret": os.environ.get("LAMINA_TEST_S3_SECRET_ACCESS_KEY", "lamina-test-secret"),
    }


@pytest.fixture
def s3():
    settings = s3_settings()
    # This test's own prefixes: its blobs and its uploads never meet another test's.
    settings["prefix"] = f"e2e/{uuid.uuid4().hex}"
    return settings


@pytest.fixture
def s3_server(start_server, s3):
    return start_server(
        "--artifacts", f"s3://{s3['bucket']}/{s3['prefix']}/blobs",
        "--s3-endpoint", s3["endpoint"],
        "--content-urls", "s3",
        env={"AWS_ACCESS_KEY_ID": s3["key_id"], "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_REGION": "us-east-1"},
    )


def put_object(aws, s3, tmp_path, key: str, data: bytes) -> None:
    """`aws s3api put-object` to the test S3 server, as its identity."""
    body = tmp_path / "upload.zip"
    body.write_bytes(data)
    env = {**aws.env, "AWS_ACCESS_KEY_ID": s3["key_id"], "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(aws.exe), "--endpoint-url", s3["endpoint"], "s3api", "put-object",
         "--bucket", s3["bucket"], "--key", key, "--body", str(body)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def downloaded_sha256(url: str) -> str:
    response = http_get(url)
    assert response.status == 200, (url, response.status, response.body[:300])
    return hashlib.sha256(response.body).hexdigest()


def test_s3_content_publishes_attaches_and_invokes(aws, s3, s3_server, client_for, tmp_path, layer_name, fn_name):  # noqa: F811
    value = uuid.uuid4().hex
    layer_zip = simple_zip({"python/s3mod.py": f"VALUE = {value!r}\n".encode()})
    layer_key = f"{s3['prefix']}/uploads/layer.zip"
    put_object(aws, s3, tmp_path, layer_key, layer_zip)

    published = aws(
        "lambda", "publish-layer-version", "--endpoint-url", s3_server.url,
        "--layer-name", layer_name, "--compatible-runtimes", RUNTIME,
        "--content", f"S3Bucket={s3['bucket']},S3Key={layer_key}",
    )

    assert published["Content"]["CodeSha256"] == code_sha256(layer_zip)
    assert published["Content"]["CodeSize"] == len(layer_zip)
    # A presigned URL of the store, not the server's own route.
    location = published["Content"]["Location"]
    assert location.startswith(s3["endpoint"]) and "X-Amz-Signature=" in location, location
    assert downloaded_sha256(location) == hashlib.sha256(layer_zip).hexdigest()

    code = handler_zip(
        """
        import s3mod

        def lambda_handler(event, context):
            return s3mod.VALUE
        """
    )
    code_key = f"{s3['prefix']}/uploads/function.zip"
    put_object(aws, s3, tmp_path, code_key, code)
    aws(
        "lambda", "create-function", "--endpoint-url", s3_server.url,
        "--function-name", fn_name, "--runtime", RUNTIME, "--role", ROLE, "--handler", HANDLER,
        "--code", f"S3Bucket={s3['bucket']},S3Key={code_key}",
        "--layers", published["LayerVersionArn"],
    )

    lam = client_for(s3_server)
    assert invoke(lam, fn_name).json() == value
    got = lam.get_function(FunctionName=fn_name)
    assert got["Configuration"]["CodeSha256"] == code_sha256(code)
    assert downloaded_sha256(got["Code"]["Location"]) == hashlib.sha256(code).hexdigest()


def test_a_missing_s3_object_gets_awss_getobject_error(s3, s3_server, client_for, layer_name, fn_name):  # noqa: F811
    lam = client_for(s3_server)
    missing = {"S3Bucket": s3["bucket"], "S3Key": f"{s3['prefix']}/uploads/never-uploaded.zip"}

    err = client_error(lam.publish_layer_version, LayerName=layer_name, Content=missing)

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Error occurred while GetObject. S3 Error Code: NoSuchKey. "
        "S3 Error Message: The specified key does not exist.",
    )
    err = client_error(
        lam.create_function, FunctionName=fn_name, Runtime=RUNTIME, Role=ROLE, Handler=HANDLER, Code=missing
    )
    assert_aws_error(lam, err, 400, "InvalidParameterValueException")
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []
