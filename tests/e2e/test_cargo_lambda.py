"""cargo-lambda (from PyPI), as a Rust developer deploys and calls a function: `cargo lambda
deploy` with `--tag` and `--enable-function-url` creates the function, tags it and gives it a
URL that answers over HTTP; a second deploy updates the code and the tags; `cargo lambda invoke
--remote` calls it. The function is tests/fixtures/rust-function on the real `lambda_runtime`."""

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from function_support import fn_name  # noqa: F401
from harness import REPO, VENV
from helpers import ACCESS_KEY, REGION, SECRET_KEY

CARGO_LAMBDA = VENV / "bin" / "cargo-lambda"
MANIFEST = REPO / "tests" / "fixtures" / "rust-function" / "Cargo.toml"
BOOTSTRAP = Path(os.environ.get(
    "LAMINA_E2E_RUST_BOOTSTRAP", REPO / "target" / "e2e-rust-function" / "release" / "bootstrap"
))


@pytest.fixture
def cargo_lambda(tmp_path, server):
    """Runs `cargo lambda <args>` against the shared server with its root key; returns stdout."""
    if not CARGO_LAMBDA.is_file():
        raise RuntimeError(f"cargo-lambda not found at {CARGO_LAMBDA}; run scripts/prepare-tests")
    if not BOOTSTRAP.is_file():
        raise RuntimeError(f"rust function not built at {BOOTSTRAP}; run scripts/e2e")
    # cargo-lambda zips beside the binary: a copy keeps the shared build untouched.
    binary = tmp_path / "bin" / "bootstrap"
    binary.parent.mkdir()
    shutil.copy2(BOOTSTRAP, binary)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        # `cargo metadata` runs through rustup, which finds its toolchains from the real home.
        "CARGO_HOME": os.environ.get("CARGO_HOME", str(Path.home() / ".cargo")),
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_COLOR": "1",
    }

    def run(*args: str, deploy_binary: bool = False) -> str:
        extra = ["--binary-path", str(binary)] if deploy_binary else []
        result = subprocess.run(
            [str(CARGO_LAMBDA), "lambda", *args, "--endpoint-url", server.url, *extra],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, f"cargo lambda {args[0]} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    return run


def test_deploy_with_tags_and_a_url_then_invoke_remotely(lam, cargo_lambda, fn_name):
    role = "arn:aws:iam::123456789012:role/lambda-role"
    cargo_lambda(
        "deploy", "--manifest-path", str(MANIFEST), "--role", role,
        "--tag", "team=x,env=test", "--enable-function-url", fn_name, deploy_binary=True,
    )

    function = lam.get_function(FunctionName=fn_name)
    assert function["Configuration"]["Runtime"] == "provided.al2023"
    assert lam.list_tags(Resource=function["Configuration"]["FunctionArn"])["Tags"] == {"team": "x", "env": "test"}
    url = lam.get_function_url_config(FunctionName=fn_name)["FunctionUrl"]
    with urllib.request.urlopen(f"{url.rstrip('/')}/hello?name=lamina", timeout=60) as answer:
        assert answer.status == 200
        event = json.loads(answer.read())
    assert event["echoed_by"] == "lambda_runtime"
    assert (event["rawPath"], event["rawQueryString"]) == ("/hello", "name=lamina")

    # A second deploy updates the function in place, with new tags.
    cargo_lambda(
        "deploy", "--manifest-path", str(MANIFEST), "--role", role, "--tag", "team=y", fn_name,
        deploy_binary=True,
    )
    tags = lam.list_tags(Resource=function["Configuration"]["FunctionArn"])["Tags"]
    assert tags["team"] == "y"

    out = cargo_lambda("invoke", "--remote", "--data-ascii", '{"from": "cargo-lambda"}', fn_name)
    answer = json.loads(out)
    assert (answer["from"], answer["echoed_by"], answer["function_name"]) == ("cargo-lambda", "lambda_runtime", fn_name)
