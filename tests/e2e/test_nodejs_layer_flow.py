"""The seed's flow with a Node.js layer, with the real AWS CLI and a real npm package:

    lamina layer build --runtime nodejs20.x is-number@7.0.0 -o layer.zip   (npm, the registry)
    lamina layer inspect layer.zip
    aws lambda publish-layer-version --layer-name is-number-layer --zip-file fileb://layer.zip \
        --compatible-runtimes nodejs20.x
    aws lambda create-function ...        (CommonJS and ES module handlers, async and callback)
    aws lambda update-function-configuration --function-name ... --layers <the layer's ARN>
    aws lambda invoke ...

`is-number` (one CommonJS file, no dependencies) comes from the npm registry npm is configured
with, as a user's build would; the handlers `require` it, or `import` it from an ES module,
which finds it through NODE_PATH as AWS's Node.js 18+ runtimes do.
"""

import json
import subprocess

import pytest

from harness import LAMINA_BIN, AwsCli
from zips import simple_zip

PACKAGE = "is-number@7.0.0"
LAYER_ARN = "arn:aws:lambda:us-west-2:123456789012:layer:is-number-layer:1"
ROLE = "arn:aws:iam::123456789012:role/lambda-role"

# Each handler answers [isNumber(event.value), isNumber("not a number"), how it was loaded].
HANDLERS = {
    "cjs-async": ("index.js", """
const isNumber = require('is-number');
exports.handler = async (event) => [isNumber(event.value), isNumber('not a number'), 'cjs-async'];
"""),
    "cjs-callback": ("index.js", """
const isNumber = require('is-number');
exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, [isNumber(event.value), isNumber('not a number'), 'cjs-callback']), 5);
};
"""),
    "esm-async": ("index.mjs", """
import isNumber from 'is-number';
export const handler = async (event) => [isNumber(event.value), isNumber('not a number'), 'esm-async'];
"""),
    "esm-callback": ("index.mjs", """
import isNumber from 'is-number';
export function handler(event, context, callback) {
  callback(null, [isNumber(event.value), isNumber('not a number'), 'esm-callback']);
}
"""),
}


def lamina(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([str(LAMINA_BIN), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """`lamina layer build` of the package, and one ZIP per handler."""
    work = tmp_path_factory.mktemp("node-layer-flow")
    built = lamina("layer", "build", "--runtime", "nodejs20.x", PACKAGE, "-o", "layer.zip", cwd=work)
    assert built.returncode == 0, built.stderr
    for name, (file, source) in HANDLERS.items():
        (work / f"{name}.zip").write_bytes(simple_zip({file: source.encode()}))
    return work


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def flow(module_server, workdir, cli):
    """Publishes the layer, creates the functions without it, invokes them, attaches the layer
    and invokes them again; returns what each step printed."""
    url = ["--endpoint-url", module_server.url]
    steps = {"before": {}, "after": {}}
    steps["publish"] = cli(
        "lambda", "publish-layer-version", "--layer-name", "is-number-layer", "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "nodejs20.x", *url, cwd=workdir,
    )

    def invoke(name):
        out = workdir / f"{name}.json"
        meta = cli("lambda", "invoke", "--function-name", name,
                   "--payload", '{"value": "42"}', *url, str(out), cwd=workdir)
        return meta, json.loads(out.read_text())

    for name in HANDLERS:
        cli("lambda", "create-function", "--function-name", name, "--runtime", "nodejs20.x",
            "--handler", "index.handler", "--role", ROLE, "--zip-file", f"fileb://{name}.zip", *url, cwd=workdir)
        steps["before"][name] = invoke(name)
        steps[f"attach-{name}"] = cli(
            "lambda", "update-function-configuration", "--function-name", name, "--layers", LAYER_ARN, *url,
        )
        cli("lambda", "wait", "function-updated-v2", "--function-name", name, *url)
        steps["after"][name] = invoke(name)
    return steps


def test_the_build_puts_the_package_in_nodejs_node_modules_reproducibly(workdir):
    again = lamina("layer", "build", "--runtime", "nodejs20.x", PACKAGE, "-o", "again.zip", cwd=workdir)

    assert again.returncode == 0, again.stderr
    assert (workdir / "again.zip").read_bytes() == (workdir / "layer.zip").read_bytes()
    listing = subprocess.run(["unzip", "-Z1", "layer.zip"], cwd=workdir, capture_output=True, text=True, check=True)
    assert "nodejs/node_modules/is-number/index.js" in listing.stdout.splitlines()


def test_inspect_lists_the_package_with_its_version(workdir):
    out = lamina("layer", "inspect", "layer.zip", "--runtime", "nodejs20.x", cwd=workdir)

    assert out.returncode == 0, out.stdout + out.stderr
    assert "is-number  7.0.0  /opt/nodejs/node_modules/is-number" in out.stdout, out.stdout
    assert "No findings." in out.stdout


def test_the_layer_is_published_and_attached(flow):
    assert flow["publish"]["LayerVersionArn"] == LAYER_ARN
    assert flow["publish"]["CompatibleRuntimes"] == ["nodejs20.x"]
    for name in HANDLERS:
        assert [layer["Arn"] for layer in flow[f"attach-{name}"]["Layers"]] == [LAYER_ARN]


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_without_the_layer_the_package_is_not_found(flow, name):
    meta, body = flow["before"][name]

    assert meta["FunctionError"] == "Unhandled", body
    if name.startswith("cjs"):
        assert body["errorType"] == "Runtime.ImportModuleError"
        assert body["errorMessage"].startswith("Error: Cannot find module 'is-number'"), body
    else:
        # As AWS's runtime: an ES module's failed import is not mapped to a Runtime.* fault.
        assert body["errorType"] == "Error"
        assert body["errorMessage"].startswith("Cannot find package 'is-number' imported from /var/task/index.mjs"), body


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_with_the_layer_each_handler_form_uses_the_package(flow, name):
    meta, body = flow["after"][name]

    assert meta["StatusCode"] == 200
    assert "FunctionError" not in meta, body
    assert body == [True, False, name]
