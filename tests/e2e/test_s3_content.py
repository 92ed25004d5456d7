"""A Lamina keeping its ZIPs in an S3-compatible store (`--artifacts s3://...`): content given
as `S3Bucket`/`S3Key` is read from that server, as AWS reads it from S3, and with
`--content-urls s3` the `Content.Location`/`Code.Location` URLs are the store's presigned GET
URLs. Needs the SeaweedFS of scripts/s3-test: `eval "$(scripts/s3-test start)"` (scripts/test
does it) exports the LAMINA_TEST_S3_* variables read here."""

import hashlib
import uuid

import pytest

from function_support import HANDLER, ROLE, RUNTIME, fn_name  # noqa: F401 (fixture)
from helpers import assert_aws_error, client_error, code_sha256, http_get
from invoke_support import handler_zip, invoke
from s3_support import put_object, s3, s3_server  # noqa: F401 (fixtures)
from zips import simple_zip


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

    # UpdateFunctionCode reads S3 too.
    new_value = uuid.uuid4().hex
    new_code = handler_zip(f"def lambda_handler(event, context):\n    return {new_value!r}\n")
    new_key = f"{s3['prefix']}/uploads/function-2.zip"
    put_object(aws, s3, tmp_path, new_key, new_code)
    updated = aws(
        "lambda", "update-function-code", "--endpoint-url", s3_server.url,
        "--function-name", fn_name, "--s3-bucket", s3["bucket"], "--s3-key", new_key,
    )
    assert updated["CodeSha256"] == code_sha256(new_code)
    lam.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    assert invoke(lam, fn_name).json() == new_value


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
