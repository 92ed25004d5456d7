"""The function API through the real AWS CLI (region us-west-2): the seed's
`update-function-configuration --layers` verbatim, the waiters, versions, aliases, account
settings, downloads and errors as the CLI prints them."""

import zipfile

import pytest

from function_support import ROLE, function_arn
from harness import AwsCli
from helpers import code_sha256, http_get, layer_version_arn
from zips import simple_zip

SEED_LAYER_ARN = "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """function.zip (the seed's handler file name) and layer.zip."""
    work = tmp_path_factory.mktemp("fn-cli")
    (work / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return {'ok': True}\n")
    with zipfile.ZipFile(work / "function.zip", "w") as z:
        z.write(work / "lambda_function.py", "lambda_function.py")
    (work / "layer.zip").write_bytes(simple_zip({"python/helper.py": b"VALUE = 1\n"}))
    return work


@pytest.fixture
def lam_cli(cli, module_server, work):
    """`lam_cli("get-function", ...)` against the module's server, run in the work dir."""

    def run(*args):
        return cli("lambda", *args, "--endpoint-url", module_server.url, cwd=work)

    return run


def create(lam_cli, name, *extra):
    return lam_cli(
        "create-function", "--function-name", name, "--runtime", "python3.12",
        "--handler", "lambda_function.lambda_handler", "--role", ROLE, "--zip-file", "fileb://function.zip", *extra,
    )


@pytest.fixture(scope="module")
def seed(cli, module_server, work):
    """Publishes requests-layer, creates my-function, then runs the seed's command verbatim."""
    url = ["--endpoint-url", module_server.url]
    published = cli(
        "lambda", "publish-layer-version", "--layer-name", "requests-layer", "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "python3.12", *url, cwd=work,
    )
    created = cli(
        "lambda", "create-function", "--function-name", "my-function", "--runtime", "python3.12",
        "--handler", "lambda_function.lambda_handler", "--role", "arn:aws:iam::123456789012:role/lambda-role",
        "--zip-file", "fileb://function.zip", *url, cwd=work,
    )
    attached = cli(
        "lambda", "update-function-configuration", "--function-name", "my-function",
        "--layers", "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1", *url, cwd=work,
    )
    return {"published": published, "created": created, "attached": attached}


def test_seed_update_function_configuration_attaches_the_layer(seed, work):
    assert seed["published"]["LayerVersionArn"] == SEED_LAYER_ARN
    assert seed["attached"]["Layers"] == [{"Arn": SEED_LAYER_ARN, "CodeSize": (work / "layer.zip").stat().st_size}]
    assert seed["attached"]["FunctionArn"] == function_arn("my-function")
    assert seed["attached"]["LastUpdateStatus"] == "InProgress"


def test_seed_function_shows_the_layer_afterwards(seed, lam_cli):
    got = lam_cli("get-function", "--function-name", "my-function")

    assert got["Configuration"]["Layers"][0]["Arn"] == SEED_LAYER_ARN
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    # The settled update has a RevisionId of its own, as on AWS.
    assert got["Configuration"]["RevisionId"] != seed["attached"]["RevisionId"]


def test_waiters_succeed_on_their_first_poll(seed, lam_cli):
    assert lam_cli("wait", "function-active-v2", "--function-name", "my-function") is None
    assert lam_cli("wait", "function-updated-v2", "--function-name", "my-function") is None
    assert lam_cli("wait", "function-active", "--function-name", "my-function") is None
    assert lam_cli("wait", "function-updated", "--function-name", "my-function") is None
    assert lam_cli("wait", "function-exists", "--function-name", "my-function") is None


def test_create_then_wait_then_update_then_wait(lam_cli):
    created = create(lam_cli, "cli-waited")
    assert created["State"] == "Pending"
    lam_cli("wait", "function-active-v2", "--function-name", "cli-waited")
    lam_cli("update-function-configuration", "--function-name", "cli-waited", "--memory-size", "512")
    lam_cli("wait", "function-updated-v2", "--function-name", "cli-waited")

    assert lam_cli("get-function-configuration", "--function-name", "cli-waited")["MemorySize"] == 512


def test_get_function_code_location_downloads_the_exact_zip(lam_cli, work):
    create(lam_cli, "cli-download")

    got = lam_cli("get-function", "--function-name", "cli-download")

    data = (work / "function.zip").read_bytes()
    assert got["Code"]["RepositoryType"] == "S3"
    assert got["Configuration"]["CodeSha256"] == code_sha256(data)
    assert http_get(got["Code"]["Location"]).body == data


def test_versions_and_aliases_through_the_cli(lam_cli):
    create(lam_cli, "cli-versions", "--publish")
    lam_cli("update-function-configuration", "--function-name", "cli-versions", "--timeout", "30")
    published = lam_cli("publish-version", "--function-name", "cli-versions", "--description", "second")
    alias = lam_cli(
        "create-alias", "--function-name", "cli-versions", "--name", "live", "--function-version", "2",
        "--routing-config", "AdditionalVersionWeights={1=0.2}",
    )
    versions = lam_cli("list-versions-by-function", "--function-name", "cli-versions")["Versions"]
    aliases = lam_cli("list-aliases", "--function-name", "cli-versions")["Aliases"]
    via_alias = lam_cli("get-function-configuration", "--function-name", "cli-versions", "--qualifier", "live")

    assert published["Version"] == "2"
    assert published["Description"] == "second"
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.2}}
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert [a["AliasArn"] for a in aliases] == [function_arn("cli-versions", "live")]
    assert (via_alias["Version"], via_alias["Timeout"]) == ("2", 30)
    lam_cli(
        "update-alias", "--function-name", "cli-versions", "--name", "live", "--function-version", "1",
        "--routing-config", '{"AdditionalVersionWeights": {}}',
    )
    assert lam_cli("get-alias", "--function-name", "cli-versions", "--name", "live")["FunctionVersion"] == "1"
    assert lam_cli("delete-alias", "--function-name", "cli-versions", "--name", "live") is None
    # The newest model gives DeleteFunction an output whose StatusCode is the HTTP status.
    assert lam_cli("delete-function", "--function-name", "cli-versions", "--qualifier", "1") == {"StatusCode": 204}


def test_list_functions_walks_pages(lam_cli):
    for i in range(3):
        create(lam_cli, f"cli-page-{i}")

    names = [f["FunctionName"] for f in lam_cli("list-functions", "--page-size", "1")["Functions"]]

    assert [n for n in names if n.startswith("cli-page-")] == ["cli-page-0", "cli-page-1", "cli-page-2"]


def test_account_settings(lam_cli):
    out = lam_cli("get-account-settings")

    assert out["AccountLimit"] == {
        "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
        "ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000,
    }
    assert out["AccountUsage"]["FunctionCount"] >= 1
    assert out["AccountUsage"]["TotalCodeSize"] > 0


def test_account_usage_counts_functions_and_code(start_server, client_for):
    server = start_server()
    lam = client_for(server)
    assert lam.get_account_settings()["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}
    data = simple_zip({"lambda_function.py": b"def lambda_handler(e, c):\n    return 1\n"})
    lam.create_function(
        FunctionName="counted", Runtime="python3.12", Role=ROLE, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": data}, Publish=True,
    )

    usage = lam.get_account_settings()["AccountUsage"]

    assert usage == {"TotalCodeSize": 2 * len(data), "FunctionCount": 1}


def test_cli_prints_aws_errors(cli, module_server):
    result = cli.run(
        "lambda", "get-function", "--function-name", "no-such-function", "--endpoint-url", module_server.url,
    )

    assert result.returncode in (254, 255)
    assert "(ResourceNotFoundException)" in result.stderr
    assert f"Function not found: {function_arn('no-such-function')}" in result.stderr


def test_cli_layers_rules(cli, module_server, lam_cli, seed):
    result = cli.run(
        "lambda", "update-function-configuration", "--function-name", "my-function",
        "--layers", layer_version_arn("requests-layer", 9), "--endpoint-url", module_server.url,
    )

    assert result.returncode in (254, 255)
    assert "(InvalidParameterValueException)" in result.stderr
    assert f"Layer version {layer_version_arn('requests-layer', 9)} does not exist." in result.stderr

