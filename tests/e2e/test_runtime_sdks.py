"""The runtime's own libraries, as AWS ships them: a Python function imports boto3 and a
Node.js one the AWS SDK for JavaScript v3 without packaging them, a layer's or the function's
own copy wins, and a server that cannot reach the package registries says so.

The SDKs come from the registries (PyPI, the npm registry) into the session's shared
directory (`conftest.runtime_sdks`); the pinned versions are Lamina's
(`crates/lamina-exec/src/runtime_sdks.rs`)."""

from __future__ import annotations

import json
import os
import re
import time

from function_support import ROLE, fn_name, publish_layer  # noqa: F401 - fn_name: fixture
from invoke_support import invoke, mlam  # noqa: F401 - mlam: fixture
from zips import simple_zip

BOTO3_VERSION = "1.44.8"
BOTOCORE_VERSION = "1.44.8"
CLIENT_S3_VERSION = "3.1173.0"

BOTO3_PROBE = """
import boto3, botocore, sys

def handler(event, context):
    client = boto3.client("s3", region_name="us-east-1")  # built, never called
    return {"boto3": boto3.__version__, "botocore": botocore.__version__,
            "file": boto3.__file__, "client": type(client).__name__,
            "path": sys.path[:5]}
"""


def create(lam, name: str, files: dict[str, str], runtime: str, handler: str, **kwargs) -> dict:
    code = simple_zip({path: text.encode() for path, text in files.items()})
    return lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                               Code={"ZipFile": code}, **kwargs)


def settled(lam, name: str) -> dict:
    """The configuration once the function is no longer `Pending`."""
    deadline = time.monotonic() + 300
    while True:
        got = lam.get_function_configuration(FunctionName=name)
        if got["State"] != "Pending" or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_a_python_function_imports_the_runtimes_boto3(mlam, fn_name):
    create(mlam, fn_name, {"app.py": BOTO3_PROBE}, "python3.12", "app.handler")
    assert settled(mlam, fn_name)["State"] == "Active"

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    body = out.json()
    assert (body["boto3"], body["botocore"]) == (BOTO3_VERSION, BOTOCORE_VERSION)
    assert body["client"] == "S3"
    # In the runtime's own directory, searched after the code and the layers.
    assert body["file"] == "/var/runtime/boto3/__init__.py"
    task, layer_site, layer_python, runtime = body["path"][:4]
    assert (task, layer_python, runtime) == ("/var/task", "/opt/python", "/var/runtime")
    assert re.fullmatch(r"/opt/python/lib/python3\.\d+/site-packages", layer_site), layer_site


def test_a_layers_boto3_wins_over_the_runtimes(mlam, fn_name):
    layer, _ = publish_layer(mlam, fn_name + "-boto3",
                             {"python/boto3/__init__.py": b'__version__ = "0.0-layer"\n'})
    create(mlam, fn_name, {"app.py": "import boto3\n\ndef handler(e, c):\n    return [boto3.__version__, boto3.__file__]\n"},
           "python3.12", "app.handler", Layers=[layer["LayerVersionArn"]])
    assert settled(mlam, fn_name)["State"] == "Active"

    assert invoke(mlam, fn_name).json() == ["0.0-layer", "/opt/python/boto3/__init__.py"]


def test_the_functions_own_boto3_wins_over_the_runtimes(mlam, fn_name):
    create(mlam, fn_name, {"boto3/__init__.py": '__version__ = "0.0-task"\n',
                           "app.py": "import boto3\n\ndef handler(e, c):\n    return boto3.__version__\n"},
           "python3.12", "app.handler")
    settled(mlam, fn_name)

    assert invoke(mlam, fn_name).json() == "0.0-task"


NODE_REQUIRE = """
const { S3Client } = require('@aws-sdk/client-s3');
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb');
exports.handler = async () => {
  const s3 = new S3Client({ region: 'us-east-1' });  // built, never sent
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  return { s3: typeof s3.send, doc: typeof doc.send,
           version: require('@aws-sdk/client-s3/package.json').version,
           resolved: require.resolve('@aws-sdk/client-s3') };
};
"""

NODE_IMPORT = """
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
export const handler = async () => {
  const s3 = new S3Client({ region: 'us-east-1' });
  return { s3: typeof s3.send, command: new ListBucketsCommand({}).constructor.name,
           sqs: typeof new SQSClient({ region: 'us-east-1' }).send,
           resolved: import.meta.resolve('@aws-sdk/client-s3') };
};
"""


def test_a_node_function_requires_the_runtimes_sdk(mlam, fn_name):
    create(mlam, fn_name, {"index.js": NODE_REQUIRE}, "nodejs20.x", "index.handler")
    assert settled(mlam, fn_name)["State"] == "Active"

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    body = out.json()
    assert (body["s3"], body["doc"], body["version"]) == ("function", "function", CLIENT_S3_VERSION)
    assert body["resolved"].startswith("/var/runtime/node_modules/@aws-sdk/client-s3/"), body


def test_a_node_es_module_imports_the_runtimes_sdk(mlam, fn_name):
    create(mlam, fn_name, {"index.mjs": NODE_IMPORT}, "nodejs20.x", "index.handler")
    assert settled(mlam, fn_name)["State"] == "Active"

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    body = out.json()
    assert (body["s3"], body["command"], body["sqs"]) == ("function", "ListBucketsCommand", "function")
    # Found through NODE_PATH as AWS's Node.js 18+ runtimes find it, where it really is.
    assert body["resolved"].startswith("file:///var/runtime/node_modules/@aws-sdk/client-s3/"), body


FAKE_CLIENT_S3 = {
    "nodejs/node_modules/@aws-sdk/client-s3/package.json":
        b'{"name": "@aws-sdk/client-s3", "version": "0.0-layer", "main": "index.js"}\n',
    "nodejs/node_modules/@aws-sdk/client-s3/index.js":
        b"exports.S3Client = class S3Client { constructor() { this.fromLayer = true; } };\n"
        b"exports.version = '0.0-layer';\n",
}


def test_a_node_layers_sdk_wins_over_the_runtimes(mlam, fn_name):
    layer, _ = publish_layer(mlam, fn_name + "-sdk", FAKE_CLIENT_S3)
    arn = [layer["LayerVersionArn"]]
    create(mlam, fn_name + "-cjs", {"index.js": (
        "const { S3Client, version } = require('@aws-sdk/client-s3');\n"
        "const { SQSClient } = require('@aws-sdk/client-sqs');\n"
        "exports.handler = async () => [version, new S3Client().fromLayer, typeof SQSClient];\n")},
        "nodejs20.x", "index.handler", Layers=arn)
    create(mlam, fn_name + "-esm", {"index.mjs": (
        "import { S3Client, version } from '@aws-sdk/client-s3';\n"
        "import { SQSClient } from '@aws-sdk/client-sqs';\n"
        "export const handler = async () => [version, new S3Client().fromLayer, typeof SQSClient];\n")},
        "nodejs20.x", "index.handler", Layers=arn)

    # The layer's client-s3; the runtime's client-sqs, which the layer does not have.
    for name in (fn_name + "-cjs", fn_name + "-esm"):
        settled(mlam, name)
        out = invoke(mlam, name)
        assert out.json() == ["0.0-layer", True, "function"], (name, out.payload)


def test_an_unreachable_registry_fails_the_function_with_the_reason(start_server, client_for, fn_name, tmp_path):
    empty = tmp_path / "sdks"
    nowhere = "http://127.0.0.1:9/"
    server = start_server(env={
        "LAMINA_RUNTIME_SDKS_DIR": str(empty),
        # pip and npm as the machine configures them, pointed at a registry that is not there.
        "PIP_INDEX_URL": nowhere, "PIP_FIND_LINKS": None, "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "3", "npm_config_registry": nowhere,
    })
    lam = client_for(server)
    create(lam, fn_name, {"app.py": BOTO3_PROBE}, "python3.12", "app.handler")

    got = settled(lam, fn_name)

    assert got["State"] == "Failed", got
    assert got["StateReasonCode"] == "InternalError"
    reason = got["StateReason"]
    assert reason.startswith("The AWS SDK that python3.12 ships is not available on this Lamina server: "
                             f"pip could not install boto3 {BOTO3_VERSION} "), reason
    assert "--runtime-sdks cached --runtime-sdks-dir DIR" in reason and "--runtime-sdks off" in reason
    assert "runtime SDK install failed" in server.log_tail()
    # Nothing half-installed is left to be taken for the SDK later.
    assert [p for p in os.listdir(empty) if not p.endswith(".lock")] == []


def test_offline_a_server_uses_a_prepared_directory_or_none(start_server, client_for, fn_name, tmp_path):
    # `cached`: only what the directory holds (prepared elsewhere with `lamina runtimes
    # --install-sdks`); an empty one fails the function and names the way out.
    cached = start_server("--runtime-sdks", "cached", env={"LAMINA_RUNTIME_SDKS_DIR": str(tmp_path / "empty")})
    lam = client_for(cached)
    create(lam, fn_name, {"app.py": BOTO3_PROBE}, "python3.12", "app.handler")
    got = settled(lam, fn_name)
    assert got["State"] == "Failed", got
    assert f"boto3 {BOTO3_VERSION} is not in {tmp_path / 'empty'}" in got["StateReason"]
    assert "lamina runtimes --install-sdks" in got["StateReason"]
    # The session's prepared directory serves a `cached` server as it is.
    prepared = start_server("--runtime-sdks", "cached")
    lam = client_for(prepared)
    create(lam, fn_name, {"app.py": BOTO3_PROBE}, "python3.12", "app.handler")
    assert settled(lam, fn_name)["State"] == "Active"
    assert invoke(lam, fn_name).json()["boto3"] == BOTO3_VERSION
    # `off`: no SDK in /var/runtime.
    off = start_server("--runtime-sdks", "off")
    lam = client_for(off)
    create(lam, fn_name, {"app.py": (
        "import importlib.util\n\ndef handler(e, c):\n"
        "    spec = importlib.util.find_spec('boto3')\n    return spec and spec.origin\n")},
        "python3.12", "app.handler")
    assert settled(lam, fn_name)["State"] == "Active"
    origin = invoke(lam, fn_name).json()
    assert origin is None or not origin.startswith("/var/runtime/"), origin


def test_lamina_runtimes_lists_the_sdks_and_where_they_are(runtime_sdks):
    import subprocess

    from harness import LAMINA_BIN

    out = subprocess.run([str(LAMINA_BIN), "runtimes"], capture_output=True, text=True, check=True).stdout
    assert f"AWS SDKs the runtimes ship (in {runtime_sdks}):" in out
    assert f"boto3 {BOTO3_VERSION}" in out and f"client-s3 {CLIENT_S3_VERSION}" in out
    assert str(runtime_sdks / "python3.11-boto3-") in out
    manifests = [json.loads((p / ".lamina-runtime-sdk.json").read_text())
                 for p in runtime_sdks.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert {m["sdk"] for m in manifests} >= {f"boto3 {BOTO3_VERSION}"}
