"""The seed's whole flow with the real AWS CLI, against Lamina:

    mkdir python && pip install requests -t python/ && zip -r layer.zip python/
    aws lambda publish-layer-version --layer-name requests-layer --zip-file fileb://layer.zip \
        --compatible-runtimes python3.8
    aws lambda create-function ...            (the seed's lambda_function.py)
    aws lambda update-function-configuration --function-name my-function \
        --layers arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1
    aws lambda invoke ...

The handler is the seed's, except that it fetches a local stand-in for api.github.com.
"""

import base64
import json
import subprocess
import zipfile

import pytest

from harness import AwsCli
from http_double import GITHUB_ROOT, FakeGitHub

SEED_LAYER_ARN = "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1"

SEED_HANDLER = '''import requests

def lambda_handler(event, context):
    response = requests.get("{url}")
    return {{
        'statusCode': 200,
        'body': response.json()
    }}
'''


def sh(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def github():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory, venv_python, wheels_dir, github):
    work = tmp_path_factory.mktemp("seed-flow")
    sh(["mkdir", "python"], work)
    sh([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-index", "--find-links", str(wheels_dir), "requests", "-t", "python/"], work)
    sh(["zip", "-r", "layer.zip", "python/"], work)
    (work / "lambda_function.py").write_text(SEED_HANDLER.format(url=github.url + "/"))
    with zipfile.ZipFile(work / "function.zip", "w") as z:
        z.write(work / "lambda_function.py", "lambda_function.py")
    return work


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def flow(module_server, seed_dir, cli):
    """Runs the seed's steps once; returns what each printed."""
    url = ["--endpoint-url", module_server.url]
    steps = {}
    steps["publish"] = cli(
        "lambda", "publish-layer-version", "--layer-name", "requests-layer", "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "python3.8", *url, cwd=seed_dir,
    )
    steps["create"] = cli(
        "lambda", "create-function", "--function-name", "my-function", "--runtime", "python3.11",
        "--handler", "lambda_function.lambda_handler", "--role", "arn:aws:iam::123456789012:role/lambda-role",
        "--zip-file", "fileb://function.zip", *url, cwd=seed_dir,
    )
    steps["attach"] = cli(
        "lambda", "update-function-configuration", "--function-name", "my-function", "--layers", SEED_LAYER_ARN,
        *url, cwd=seed_dir,
    )
    cli("lambda", "wait", "function-updated-v2", "--function-name", "my-function", *url)
    steps["invoke"] = cli(
        "lambda", "invoke", "--function-name", "my-function", "--log-type", "Tail", *url,
        str(seed_dir / "response.json"), cwd=seed_dir,
    )
    steps["response"] = json.loads((seed_dir / "response.json").read_text())
    return steps


def test_the_layer_is_published_with_the_seed_arn(flow):
    assert flow["publish"]["LayerVersionArn"] == SEED_LAYER_ARN


def test_the_layer_is_attached(flow):
    assert [layer["Arn"] for layer in flow["attach"]["Layers"]] == [SEED_LAYER_ARN]


def test_invoke_returns_the_handler_result_with_requests_from_the_layer(flow, github):
    assert flow["invoke"]["StatusCode"] == 200
    assert "FunctionError" not in flow["invoke"], flow["response"]
    assert flow["response"] == {"statusCode": 200, "body": GITHUB_ROOT}
    assert github.hits >= 1


def test_invoke_log_tail_has_start_end_and_report(flow):
    tail = base64.b64decode(flow["invoke"]["LogResult"]).decode()
    assert "START RequestId: " in tail
    assert "END RequestId: " in tail
    assert "REPORT RequestId: " in tail


def test_without_the_layer_requests_cannot_be_imported(module_server, seed_dir, cli):
    url = ["--endpoint-url", module_server.url]
    cli(
        "lambda", "create-function", "--function-name", "no-layer", "--runtime", "python3.11",
        "--handler", "lambda_function.lambda_handler", "--role", "arn:aws:iam::123456789012:role/lambda-role",
        "--zip-file", "fileb://function.zip", *url, cwd=seed_dir,
    )
    out = cli("lambda", "invoke", "--function-name", "no-layer", *url, str(seed_dir / "err.json"), cwd=seed_dir)
    assert out["FunctionError"] == "Unhandled"
    error = json.loads((seed_dir / "err.json").read_text())
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'lambda_function': No module named 'requests'"
