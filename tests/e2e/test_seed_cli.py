"""The user's flow from the seed document, verbatim, with the real AWS CLI (region us-west-2):

    mkdir python
    pip install requests -t python/            (offline, from target/e2e-wheels)
    zip -r layer.zip python/
    aws lambda publish-layer-version --layer-name requests-layer --zip-file fileb://layer.zip \
        --compatible-runtimes python3.8

and then every other layer command through the CLI.
"""

import json
import subprocess

import pytest

from harness import AwsCli
from helpers import code_sha256, http_get, layer_arn, layer_version_arn, tree_dir

SEED_ARN = "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1"


def sh(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, venv_python, wheels_dir):
    """Steps 1 and 2 of the seed: the python/ directory with requests, zipped by Info-ZIP."""
    work = tmp_path_factory.mktemp("seed")
    sh(["mkdir", "python"], work)
    sh([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-index", "--find-links", str(wheels_dir), "requests", "-t", "python/"], work)
    sh(["zip", "-r", "layer.zip", "python/"], work)
    assert (work / "python" / "requests" / "__init__.py").is_file()
    return work


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def published(module_server, workdir, cli):
    """Step 3 of the seed, against a fresh server so the name is free."""
    return cli(
        "lambda", "publish-layer-version", "--layer-name", "requests-layer", "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "python3.8", "--endpoint-url", module_server.url,
        cwd=workdir,
    )


@pytest.fixture
def lambda_cli(cli, module_server):
    """`lambda_cli("get-layer-version", ...)` against the module's server."""

    def run(*args):
        return cli("lambda", *args, "--endpoint-url", module_server.url)

    return run


def test_publish_returns_the_seed_arn(published, workdir):
    data = (workdir / "layer.zip").read_bytes()

    assert published["LayerVersionArn"] == SEED_ARN
    assert published["LayerArn"] == layer_arn("requests-layer")
    assert published["Version"] == 1
    assert published["CompatibleRuntimes"] == ["python3.8"]
    assert published["Content"]["CodeSize"] == len(data)
    assert published["Content"]["CodeSha256"] == code_sha256(data)


def test_published_zip_downloads_and_is_extracted(published, workdir, module_server):
    data = (workdir / "layer.zip").read_bytes()

    assert http_get(published["Content"]["Location"]).body == data
    assert (tree_dir(module_server.data_dir, data) / "python" / "requests" / "__init__.py").is_file()


def test_get_layer_version(published, lambda_cli):
    got = lambda_cli("get-layer-version", "--layer-name", "requests-layer", "--version-number", "1")

    assert got["LayerVersionArn"] == SEED_ARN
    assert got["Content"]["CodeSha256"] == published["Content"]["CodeSha256"]


def test_get_layer_version_by_arn(published, lambda_cli):
    got = lambda_cli("get-layer-version-by-arn", "--arn", SEED_ARN)

    assert got["LayerVersionArn"] == SEED_ARN
    assert got["Version"] == 1


def test_list_layers(published, lambda_cli):
    layers = lambda_cli("list-layers")["Layers"]
    by_runtime = lambda_cli("list-layers", "--compatible-runtime", "python3.8")["Layers"]

    for listing in (layers, by_runtime):
        [layer] = [entry for entry in listing if entry["LayerName"] == "requests-layer"]
        assert layer["LayerArn"] == layer_arn("requests-layer")
        assert layer["LatestMatchingVersion"]["LayerVersionArn"] == SEED_ARN
    assert "requests-layer" not in [
        entry["LayerName"] for entry in lambda_cli("list-layers", "--compatible-runtime", "python3.12")["Layers"]
    ]


def test_list_layer_versions(published, lambda_cli):
    versions = lambda_cli("list-layer-versions", "--layer-name", "requests-layer")["LayerVersions"]

    assert [v["LayerVersionArn"] for v in versions] == [SEED_ARN]


def test_permission_add_get_remove(published, lambda_cli):
    added = lambda_cli(
        "add-layer-version-permission", "--layer-name", "requests-layer", "--version-number", "1",
        "--statement-id", "xaccount", "--action", "lambda:GetLayerVersion", "--principal", "210987654321",
    )
    assert json.loads(added["Statement"]) == {
        "Sid": "xaccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": "lambda:GetLayerVersion", "Resource": SEED_ARN,
    }

    policy = lambda_cli("get-layer-version-policy", "--layer-name", "requests-layer", "--version-number", "1")
    assert policy["RevisionId"] == added["RevisionId"]
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["xaccount"]

    removed = lambda_cli(
        "remove-layer-version-permission", "--layer-name", "requests-layer", "--version-number", "1",
        "--statement-id", "xaccount", "--revision-id", added["RevisionId"],
    )
    assert removed is None


def test_add_permission_text_output_is_revision_then_statement(workdir, cli, module_server):
    cli(
        "lambda", "publish-layer-version", "--layer-name", "text-layer", "--zip-file", "fileb://layer.zip",
        "--endpoint-url", module_server.url, cwd=workdir,
    )
    result = cli.run(
        "lambda", "add-layer-version-permission", "--layer-name", "text-layer", "--version-number", "1",
        "--statement-id", "textout", "--action", "lambda:GetLayerVersion", "--principal", "*",
        "--output", "text", "--endpoint-url", module_server.url,
    )
    assert result.returncode == 0, result.stderr
    revision, statement = result.stdout.rstrip("\n").split("\t")
    assert json.loads(statement)["Sid"] == "textout"
    assert len(revision) == 36


def test_cli_shows_aws_errors(published, cli, module_server):
    result = cli.run(
        "lambda", "get-layer-version", "--layer-name", "requests-layer", "--version-number", "99",
        "--endpoint-url", module_server.url,
    )

    assert result.returncode in (254, 255)  # CLI v2 / v1 exit code for a service error
    assert "(ResourceNotFoundException)" in result.stderr
    assert "The resource you requested does not exist." in result.stderr


def test_list_layer_versions_walks_pages_with_page_size(lambda_cli, workdir, module_server, cli):
    for _ in range(3):
        cli(
            "lambda", "publish-layer-version", "--layer-name", "paged-layer", "--zip-file", "fileb://layer.zip",
            "--endpoint-url", module_server.url, cwd=workdir,
        )

    versions = lambda_cli("list-layer-versions", "--layer-name", "paged-layer", "--page-size", "1")["LayerVersions"]

    assert [v["Version"] for v in versions] == [3, 2, 1]


def test_delete_layer_version(lambda_cli, workdir, module_server, cli):
    cli(
        "lambda", "publish-layer-version", "--layer-name", "doomed-layer", "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "python3.8", "--endpoint-url", module_server.url, cwd=workdir,
    )

    assert lambda_cli("delete-layer-version", "--layer-name", "doomed-layer", "--version-number", "1") is None
    assert lambda_cli("list-layer-versions", "--layer-name", "doomed-layer")["LayerVersions"] == []
    assert lambda_cli("delete-layer-version", "--layer-name", "doomed-layer", "--version-number", "1") is None
    republished = cli(
        "lambda", "publish-layer-version", "--layer-name", "doomed-layer", "--zip-file", "fileb://layer.zip",
        "--endpoint-url", module_server.url, cwd=workdir,
    )
    assert republished["LayerVersionArn"] == layer_version_arn("doomed-layer", 2)
