"""Node.js functions (nodejs18.x/20.x/22.x) run on Lamina's own Node bootstrap: the handler
forms AWS documents (async, promise, callback; CommonJS `.js`/`.cjs`, ES modules `.mjs` and
`"type": "module"`), the `context` object, a layer's `nodejs/node_modules` package on
NODE_PATH, and AWS's error payloads (`{errorType, errorMessage, trace}` and the `Runtime.*`
faults). The machine's node (Debian's /usr/bin/node, v20) runs every Node runtime, the
nearest version standing in for the others."""

import json
import re
import subprocess

import pytest

from function_support import ROLE, function_arn, publish_layer
from harness import LAMINA_BIN
from helpers import UUID_RE
from invoke_support import fn_name, function_log, invoke, mlam  # noqa: F401
from zips import simple_zip


def deploy_node(lam, name: str, files: dict[str, str], handler: str = "index.handler",
                runtime: str = "nodejs20.x", **kwargs) -> dict:
    """CreateFunction of a Node.js function whose ZIP holds `files` (text)."""
    code = simple_zip({path: text.encode() for path, text in files.items()})
    return lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                               Code={"ZipFile": code}, **kwargs)


ASYNC_CJS = """
exports.handler = async (event, context) => {
  console.log('got', JSON.stringify(event));
  return { echo: event, node: process.version, env: process.env.AWS_EXECUTION_ENV,
           nodePath: process.env.NODE_PATH, taskRoot: process.env.LAMBDA_TASK_ROOT,
           runtimeDir: process.env.LAMBDA_RUNTIME_DIR, cwd: process.cwd() };
};
"""


def test_a_commonjs_async_handler_answers_with_awss_environment(mlam, fn_name):
    deploy_node(mlam, fn_name, {"index.js": ASYNC_CJS})

    out = invoke(mlam, fn_name, {"a": 1})

    assert out.function_error is None, out.payload
    body = out.json()
    assert body["echo"] == {"a": 1}
    assert body["node"].startswith("v")
    assert body["env"] == "AWS_Lambda_nodejs20.x"
    assert body["nodePath"] == ("/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:"
                                "/var/runtime/node_modules:/var/runtime:/var/task")
    assert (body["taskRoot"], body["runtimeDir"], body["cwd"]) == ("/var/task", "/var/runtime", "/var/task")


def test_console_lines_carry_time_request_id_and_level(mlam, module_server, fn_name):
    deploy_node(mlam, fn_name, {"index.js": ASYNC_CJS})

    invoke(mlam, fn_name, {"b": 2})

    lines = function_log(module_server, fn_name)
    logged = [line for line in lines if line.endswith('\tINFO\tgot {"b":2}')]
    assert len(logged) == 1, lines
    stamp, request_id, _level, _text = logged[0].split("\t")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert re.fullmatch(UUID_RE, request_id)


def test_a_callback_handler_answers_through_its_callback(mlam, fn_name):
    source = """
    exports.handler = (event, context, callback) => {
      setTimeout(() => callback(null, { via: 'callback', n: event.n + 1 }), 10);
    };
    """
    deploy_node(mlam, fn_name, {"index.js": source})

    assert invoke(mlam, fn_name, {"n": 41}).json() == {"via": "callback", "n": 42}


def test_a_promise_returning_handler_answers_with_its_value(mlam, fn_name):
    source = "exports.handler = (event) => new Promise((ok) => setTimeout(() => ok('later'), 10));\n"
    deploy_node(mlam, fn_name, {"index.js": source})

    assert invoke(mlam, fn_name).json() == "later"


def test_an_mjs_es_module_handler_in_a_subdirectory(mlam, fn_name):
    source = "export const handler = async (event) => ({ esm: true, got: event.x });\n"
    deploy_node(mlam, fn_name, {"src/app.mjs": source}, handler="src/app.handler", runtime="nodejs22.x")

    assert invoke(mlam, fn_name, {"x": "y"}).json() == {"esm": True, "got": "y"}


def test_a_js_file_under_type_module_is_an_es_module(mlam, fn_name):
    files = {
        "package.json": '{"type": "module"}',
        "index.js": "import { hello } from './lib.js';\nexport const handler = async () => hello();\n",
        "lib.js": "export const hello = () => 'hello from type module';\n",
    }
    deploy_node(mlam, fn_name, files)

    assert invoke(mlam, fn_name).json() == "hello from type module"


def test_a_cjs_file_is_commonjs_under_type_module(mlam, fn_name):
    files = {"package.json": '{"type": "module"}', "index.cjs": "exports.handler = async () => typeof require;\n"}
    deploy_node(mlam, fn_name, files, runtime="nodejs18.x")

    assert invoke(mlam, fn_name).json() == "function"


def test_the_context_object(mlam, fn_name):
    source = """
    exports.handler = async (event, context) => ({
      functionName: context.functionName, functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn, memoryLimitInMB: context.memoryLimitInMB,
      awsRequestId: context.awsRequestId, logGroupName: context.logGroupName,
      logStreamName: context.logStreamName, remaining: context.getRemainingTimeInMillis(),
      waits: context.callbackWaitsForEmptyEventLoop,
    });
    """
    deploy_node(mlam, fn_name, {"index.js": source}, MemorySize=256, Timeout=9)

    ctx = invoke(mlam, fn_name).json()

    assert ctx["functionName"] == fn_name
    assert ctx["functionVersion"] == "$LATEST"
    assert ctx["invokedFunctionArn"] == function_arn(fn_name)
    assert ctx["memoryLimitInMB"] == "256"
    assert re.fullmatch(UUID_RE, ctx["awsRequestId"])
    assert ctx["logGroupName"] == f"/aws/lambda/{fn_name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", ctx["logStreamName"])
    assert 0 < ctx["remaining"] <= 9000
    assert ctx["waits"] is True


def test_a_layer_package_in_nodejs_node_modules_is_required(mlam, fn_name, layer_name):
    """The seed's flow for Node: a layer ships a package, the function requires it by name."""
    package = {
        "nodejs/node_modules/greeter/package.json": b'{"name": "greeter", "main": "index.js"}',
        "nodejs/node_modules/greeter/index.js": b"exports.greet = (who) => `hello ${who} from the layer`;\n",
    }
    arn = publish_layer(mlam, layer_name, package, CompatibleRuntimes=["nodejs20.x"])[0]["LayerVersionArn"]
    source = "const { greet } = require('greeter');\nexports.handler = async (e) => greet(e.who);\n"
    deploy_node(mlam, fn_name, {"index.js": source})
    assert invoke(mlam, fn_name, {"who": "x"}).function_error == "Unhandled"

    mlam.update_function_configuration(FunctionName=fn_name, Layers=[arn])

    assert invoke(mlam, fn_name, {"who": "seed"}).json() == "hello seed from the layer"


def error_of(lam, name: str) -> dict:
    out = invoke(lam, name)
    assert out.function_error == "Unhandled", out.payload
    return out.json()


def test_a_thrown_error_gives_its_type_message_and_trace(mlam, fn_name):
    source = """
    class QuotaError extends Error { constructor(m) { super(m); this.name = 'QuotaError'; } }
    exports.handler = async () => { throw new QuotaError('over quota'); };
    """
    deploy_node(mlam, fn_name, {"index.js": source})

    body = error_of(mlam, fn_name)

    assert list(body) == ["errorType", "errorMessage", "trace"]
    assert (body["errorType"], body["errorMessage"]) == ("QuotaError", "over quota")
    assert body["trace"][0] == "QuotaError: over quota"
    assert any("/var/task/index.js" in line for line in body["trace"][1:]), body["trace"]


def test_a_callback_error_is_reported_like_a_throw(mlam, fn_name):
    deploy_node(mlam, fn_name, {"index.js": "exports.handler = (e, c, cb) => cb(new TypeError('nope'));\n"})

    body = error_of(mlam, fn_name)

    assert (body["errorType"], body["errorMessage"], body["trace"][0]) == ("TypeError", "nope", "TypeError: nope")


def test_a_missing_module_is_an_import_module_error(mlam, fn_name):
    deploy_node(mlam, fn_name, {"other.js": "exports.handler = async () => 1;\n"})

    body = error_of(mlam, fn_name)

    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Error: Cannot find module 'index'\nRequire stack:\n- /var/runtime/index.mjs"
    assert body["trace"][:3] == ["Runtime.ImportModuleError: Error: Cannot find module 'index'",
                                 "Require stack:", "- /var/runtime/index.mjs"]


def test_a_missing_package_required_by_the_handler_is_an_import_module_error(mlam, fn_name):
    deploy_node(mlam, fn_name, {"index.js": "require('left-pad');\nexports.handler = async () => 1;\n"})

    body = error_of(mlam, fn_name)

    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Error: Cannot find module 'left-pad'\nRequire stack:\n- /var/task/index.js")


@pytest.mark.parametrize("source, message", [
    ("exports.other = async () => 1;\n", "index.handler is undefined or not exported"),
    ("exports.handler = 42;\n", "index.handler is not a function"),
])
def test_a_missing_or_wrong_export_is_handler_not_found(mlam, fn_name, source, message):
    deploy_node(mlam, fn_name, {"index.js": source})

    body = error_of(mlam, fn_name)

    assert (body["errorType"], body["errorMessage"]) == ("Runtime.HandlerNotFound", message)
    assert body["trace"][0] == f"Runtime.HandlerNotFound: {message}"


def test_a_syntax_error_is_a_user_code_syntax_error(mlam, fn_name):
    deploy_node(mlam, fn_name, {"index.js": "exports.handler = async () => {\n"})

    body = error_of(mlam, fn_name)

    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"] == "SyntaxError: Unexpected end of input"
    assert body["trace"][0] == "Runtime.UserCodeSyntaxError: SyntaxError: Unexpected end of input"


def test_an_unhandled_rejection_fails_the_invoke_and_the_next_one_runs(mlam, fn_name):
    source = """
    exports.handler = async (event) => {
      if (event.reject) Promise.reject(new Error('nobody waits for me'));
      await new Promise((ok) => setTimeout(ok, 50));
      return 'fine';
    };
    """
    deploy_node(mlam, fn_name, {"index.js": source})

    out = invoke(mlam, fn_name, {"reject": True})

    assert out.function_error == "Unhandled"
    body = out.json()
    assert body["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert body["errorMessage"] == "Error: nobody waits for me"
    assert body["trace"][0] == "Runtime.UnhandledPromiseRejection: Error: nobody waits for me"
    # The runtime exits (128) after posting, as AWS's does. Lamina freezes an environment when
    # its answer is posted, not when the runtime next calls `next`, so the exit may be seen
    # by the following invoke (Runtime.ExitError); the one after that starts a new runtime.
    after = invoke(mlam, fn_name)
    if after.function_error:
        assert after.json()["errorMessage"].endswith("Runtime exited with error: exit status 128"), after.payload
        after = invoke(mlam, fn_name)
    assert after.json() == "fine"


def test_lamina_runtimes_lists_the_node_runtimes_with_their_node():
    out = subprocess.run([str(LAMINA_BIN), "runtimes"], capture_output=True, text=True, timeout=30, check=True)
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}

    for runtime in ["nodejs18.x", "nodejs20.x", "nodejs22.x"]:
        assert "/bin/node" in lines[runtime], lines[runtime]
    assert "nearest: Node.js" in lines["nodejs22.x"]


def test_the_executed_payload_is_json_of_the_result(mlam, fn_name):
    deploy_node(mlam, fn_name, {"index.js": "exports.handler = async () => undefined;\n"})

    out = invoke(mlam, fn_name)

    assert out.function_error is None
    assert json.loads(out.payload) is None
