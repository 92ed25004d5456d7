"""The test S3 server (SeaweedFS, scripts/s3-test) for e2e tests of a Lamina keeping its ZIPs
there: its settings from the LAMINA_TEST_S3_* variables (`eval "$(scripts/s3-test start)"`;
scripts/test does it), a server started with `--artifacts s3://...`, and uploads through the
AWS CLI."""

import os
import subprocess
import uuid

import pytest


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


def s3_args(s3) -> list[str]:
    """`lamina serve` arguments keeping the ZIPs under the test's prefix."""
    return ["--artifacts", f"s3://{s3['bucket']}/{s3['prefix']}/blobs", "--s3-endpoint", s3["endpoint"]]


def s3_env(s3) -> dict[str, str]:
    """The server's environment: the S3 server's identity, as the usual AWS variables."""
    return {"AWS_ACCESS_KEY_ID": s3["key_id"], "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_REGION": "us-east-1"}


@pytest.fixture
def s3_server(start_server, s3):
    """A server keeping its ZIPs in the test S3 server, handing out its presigned URLs."""
    return start_server(*s3_args(s3), "--content-urls", "s3", env=s3_env(s3))


def put_object(aws, s3, tmp_path, key: str, data: bytes) -> None:
    """`aws s3api put-object` to the test S3 server, as its identity."""
    body = tmp_path / "upload.zip"
    body.write_bytes(data)
    env = {
        **aws.env,
        "AWS_ACCESS_KEY_ID": s3["key_id"],
        "AWS_SECRET_ACCESS_KEY": s3["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [str(aws.exe), "--endpoint-url", s3["endpoint"], "s3api", "put-object",
         "--bucket", s3["bucket"], "--key", key, "--body", str(body)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
