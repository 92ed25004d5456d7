"""The seed's whole flow with the real AWS CLI, against Lamina:

    mkdir python && pip install requests -t python/ && zip -r layer.zip python/
    aws lambda publish-layer-version --layer-name requests-layer --zip-file fileb://layer.zip \
        --compatible-runtimes python3.8
    aws lambda create-function ...            (the seed's lambda_function.py)
    aws lambda update-function-configuration --function-name my-function \
        --layers arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1
    aws lambda invoke ...

The server runs with the default settings (no `--function-network`: a private network per
environment on this machine, which the first test checks), and the function reaches an HTTPS
stand-in for api.github.com in the outside namespace (outside.py) through NAT, as it would
reach the real one.

The handler is the seed's, except that it reads the URL from `GITHUB_API_URL` (the seed's
URL when unset). The test sets it to the stand-in's address, with `REQUESTS_CA_BUNDLE`
naming the stand-in's certificate (shipped in the function's ZIP). Why not the name
api.github.com itself: an environment resolves names through the host's own `/etc/hosts`
and `resolv.conf` (mirrored read-only into its root), so the name could only be pointed at
the stand-in by editing the machine's `/etc/hosts` for every process on it; an environment
variable changes this function alone, and the TLS, the routing and NAT stay as they are for
the real API.
"""

import base64
import json
import subprocess
import urllib.request
import zipfile

import pytest

from harness import AwsCli
from http_double import GITHUB_ROOT, FakeGitHub

SEED_LAYER_ARN = "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1"

SEED_HANDLER = '''import os
import requests

def lambda_handler(event, context):
    response = requests.get(os.environ.get("GITHUB_API_URL", "https://api.github.com"))
    return {
        'statusCode': 200,
        'body': response.json()
    }
'''
STAND_IN_CA = "stand-in-ca.pem"


def sh(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def github():
    with FakeGitHub(https=True) as fake:
        yield fake


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory, venv_python, wheels_dir, github):
    work = tmp_path_factory.mktemp("seed-flow")
    sh(["mkdir", "python"], work)
    sh([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-index", "--find-links", str(wheels_dir), "requests", "-t", "python/"], work)
    sh(["zip", "-r", "layer.zip", "python/"], work)
    (work / "lambda_function.py").write_text(SEED_HANDLER)
    with zipfile.ZipFile(work / "function.zip", "w") as z:
        z.write(work / "lambda_function.py", "lambda_function.py")
        z.writestr(STAND_IN_CA, github.ca_pem)
    return work


def stand_in_environment(github) -> str:
    """`--environment` pointing the seed's handler at the stand-in (see the module's doc)."""
    return json.dumps({"Variables": {
        "GITHUB_API_URL": github.url + "/", "REQUESTS_CA_BUNDLE": f"/var/task/{STAND_IN_CA}",
    }})


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def flow(module_server, seed_dir, cli, github):
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
        "--zip-file", "fileb://function.zip", "--environment", stand_in_environment(github), *url, cwd=seed_dir,
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


def test_the_server_has_the_default_settings_and_they_give_a_private_network(module_server):
    assert "--function-network" not in module_server.extra_args
    with urllib.request.urlopen(f"{module_server.url}/_lamina/health", timeout=5) as r:
        assert json.load(r)["functionNetwork"] == "isolated"


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
