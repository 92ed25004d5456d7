"""Lamina's Node.js bootstrap against AWS's own Node.js runtime client, both run by Lamina: each
handler is deployed twice with the same ZIP, as nodejs20.x (Lamina's bootstrap) and as
provided.al2023 with a layer holding aws-lambda-ric 3.3.0 from npm (built by
scripts/prepare-tests; 4.x needs Node 22) and an `/opt/bootstrap` that runs it with the
machine's node, as AWS's container images do (`node <ric>/bin/index.mjs $_HANDLER`, from the
task root). Both must give the same payload and FunctionError: the same result, or the same
`errorType` and `errorMessage`, and a `trace` of the same shape (its message lines and the
handler's own frames; the runtime's frames differ by file and line). Streaming handlers
(`awslambda.streamifyResponse`) must stream the same bytes and end the same way through
InvokeWithResponseStream.

The reference runs from `/opt/ric/dist/index.mjs`, where AWS's managed runtime has the same
code at `/var/runtime/index.mjs`; that path is the one difference the comparison removes.

One answer differs on purpose (test_a_promise_that_never_settles...): an async handler whose
promise never settles. aws-lambda-ric 3.3.0 answers `null` once the event loop is empty;
AWS's managed Node.js runtimes today fail the invoke with `Runtime.NodeJsExit`, and Lamina
follows them.
"""

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from harness import REPO
from helpers import UUID_RE
from invoke_support import fn_name, function_log, invoke, mlam, zip_with_modes  # noqa: F401

RIC = Path(os.environ.get("LAMINA_E2E_NODE_RIC", REPO / "target" / "e2e-node-ric" / "node_modules" / "aws-lambda-ric"))
RIC_DIR = "/opt/ric"
NODE_PATH = ("/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:"
             "/var/runtime:/var/task")

# name: (handler, {file: source}); every source is dedented.
CASES = {
    "success-async": ("index.handler", {"index.js": """
        exports.handler = async (event) => ({ doubled: event.n * 2, items: [1, 2.5, null, true], s: 'héllo ✓' });
    """}),
    "success-callback": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { n: event.n }), 5); };
    """}),
    "success-promise": ("index.handler", {"index.js": """
        exports.handler = (event) => new Promise((ok) => setTimeout(() => ok([event.n]), 5));
    """}),
    "returns-undefined": ("index.handler", {"index.js": """
        exports.handler = async () => {};
    """}),
    "esm-success": ("app.handler", {"app.mjs": """
        export const handler = async (event) => ({ esm: true, n: event.n });
    """}),
    "type-module-js": ("index.handler", {"package.json": '{"type": "module"}', "index.js": """
        export const handler = async (event) => ({ typeModule: true, n: event.n });
    """}),
    "nested-handler": ("lib/deep.handlers.main", {"lib/deep.js": """
        exports.handlers = { main: async () => 'nested' };
    """}),
    "thrown-error": ("index.handler", {"index.js": """
        exports.handler = async (event) => {
          throw new Error(`boom ${event.n}`);
        };
    """}),
    "custom-error-class": ("index.handler", {"index.js": """
        class PaymentDeclined extends Error {
          constructor(message) { super(message); this.name = 'PaymentDeclined'; this.code = 402; }
        }
        exports.handler = async (event) => { throw new PaymentDeclined(`card ${event.n} declined`); };
    """}),
    "unnamed-error-subclass": ("index.handler", {"index.js": """
        class Quiet extends Error {}
        exports.handler = async () => { throw new Quiet('no name of its own'); };
    """}),
    "thrown-string": ("index.handler", {"index.js": """
        exports.handler = async () => { throw 'just a string'; };
    """}),
    "thrown-object": ("index.handler", {"index.js": """
        exports.handler = async () => { throw { reason: 'plain object' }; };
    """}),
    "sync-throw": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => { throw new RangeError('sync ' + event.n); };
    """}),
    "rejected-promise": ("index.handler", {"index.js": """
        exports.handler = () => Promise.reject(new TypeError('rejected on purpose'));
    """}),
    "unhandled-rejection": ("index.handler", {"index.js": """
        exports.handler = async () => {
          Promise.reject(new Error('nobody waits for me'));
          await new Promise((ok) => setTimeout(ok, 100));
          return 'too late';
        };
    """}),
    "uncaught-exception-in-timer": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => {
          setTimeout(() => { throw new SyntaxError('thrown from a timer'); }, 5);
        };
    """}),
    "syntax-error": ("index.handler", {"index.js": """
        exports.handler = async () => {
    """}),
    "esm-syntax-error": ("index.handler", {"index.mjs": """
        export const handler = async () => {
    """}),
    "missing-module": ("index.handler", {"other.js": """
        exports.handler = async () => 1;
    """}),
    "missing-package": ("index.handler", {"index.js": """
        require('left-pad-not-installed');
        exports.handler = async () => 1;
    """}),
    "esm-missing-package": ("index.handler", {"index.mjs": """
        import 'left-pad-not-installed';
        export const handler = async () => 1;
    """}),
    "missing-handler": ("index.handler", {"index.js": """
        exports.other = async () => 1;
    """}),
    "handler-not-a-function": ("index.handler", {"index.js": """
        exports.handler = 42;
    """}),
    "malformed-handler": ("nodot", {"index.js": """
        exports.handler = async () => 1;
    """}),
    "error-at-init": ("index.handler", {"index.js": """
        throw new Error('init failed');
    """}),
    "callback-error": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => callback(new TypeError('callback says no'));
    """}),
    "callback-string-error": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => callback('a plain string');
    """}),
    "context-succeed": ("index.handler", {"index.js": """
        exports.handler = (event, context) => { context.succeed({ via: 'succeed' }); };
    """}),
    "context-fail": ("index.handler", {"index.js": """
        exports.handler = (event, context) => { context.fail(new Error('via fail')); };
    """}),
    "context-done": ("index.handler", {"index.js": """
        exports.handler = (event, context) => { context.done(null, 'via done'); };
    """}),
    "context-methods": ("index.handler", {"index.js": """
        exports.handler = async (event, context) => {
          const remaining = context.getRemainingTimeInMillis();
          const types = {};
          for (const key of Object.keys(context).sort()) types[key] = typeof context[key];
          return {
            keys: Object.keys(context).sort(),
            types,
            remaining: remaining > 0 && remaining <= 7000,
            waits: context.callbackWaitsForEmptyEventLoop,
            memory: context.memoryLimitInMB,
            version: context.functionVersion,
            arnEndsWithName: context.invokedFunctionArn.endsWith(':' + context.functionName),
            requestId: /^[0-9a-f-]{36}$/.test(context.awsRequestId),
            logGroup: context.logGroupName === '/aws/lambda/' + context.functionName,
          };
        };
    """}),
    "context-fail-without-error": ("index.handler", {"index.js": """
        exports.handler = (event, context) => { context.fail(); };
    """}),
    "async-and-callback": ("index.handler", {"index.js": """
        exports.handler = async (event, context, callback) => { callback(null, 'from the callback'); return 'from the promise'; };
    """}),
    "callback-without-waiting": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => {}, 3000);
          callback(null, 'answered before the timer');
        };
    """}),
    "aggregate-error": ("index.handler", {"index.js": """
        exports.handler = async () => { throw new AggregateError([new Error('one'), new Error('two')], 'several'); };
    """}),
    "error-like-object": ("index.handler", {"index.js": """
        exports.handler = (event, context, callback) => callback({
          name: 'Custom', message: 'looks like one', stack: 'Custom: looks like one\\n    at somewhere (/var/task/x.js:1:1)',
        });
    """}),
    "cjs-extension": ("index.handler", {"package.json": '{"type": "module"}', "index.cjs": """
        exports.handler = async () => typeof require;
    """}),
    "esm-top-level-await-error": ("index.handler", {"index.mjs": """
        await Promise.resolve();
        throw new TypeError('failed at the top level');
        export const handler = async () => 1;
    """}),
    "main-module": ("index.handler", {"index.js": """
        exports.handler = async () => [require.main === undefined, typeof process.mainModule, typeof module.parent];
    """}),
    "circular-result": ("index.handler", {"index.js": """
        exports.handler = async () => { const a = {}; a.self = a; return a; };
    """}),
}


def sources(files: dict[str, str]) -> dict[str, tuple[bytes, int]]:
    return {name: (textwrap.dedent(text).lstrip("\n").encode(), 0o644) for name, text in files.items()}


def ric_bootstrap() -> bytes:
    node = Path("/usr/bin/node")
    if not node.exists():
        raise RuntimeError(f"{node} not found: the parity test runs aws-lambda-ric with the machine's node")
    return textwrap.dedent(f"""\
        #!/bin/sh
        # As AWS's Node.js base images start aws-lambda-ric: from the task root.
        export NODE_PATH={NODE_PATH}
        cd "$LAMBDA_TASK_ROOT"
        exec {node} {RIC_DIR}/bin/index.mjs "$_HANDLER"
    """).encode()


@pytest.fixture(scope="module")
def ric_layer(mlam) -> str:
    """A layer with aws-lambda-ric (its bin, dist and package.json) at /opt/ric and the
    /opt/bootstrap that starts it; its version ARN."""
    if not (RIC / "dist" / "rapid-client.node").is_file():
        raise RuntimeError(f"aws-lambda-ric is not built at {RIC}; run scripts/prepare-tests")
    files = {"bootstrap": (ric_bootstrap(), 0o755)}
    for path in sorted(RIC.rglob("*")):
        relative = path.relative_to(RIC)
        if path.is_file() and relative.parts[0] in ("bin", "dist", "package.json"):
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            files[f"ric/{relative}"] = (path.read_bytes(), mode)
    version = mlam.publish_layer_version(LayerName="aws-lambda-ric", Content={"ZipFile": zip_with_modes(files)})
    return version["LayerVersionArn"]


def create(lam, name: str, handler: str, code: bytes, **kwargs) -> None:
    lam.create_function(FunctionName=name, Role="arn:aws:iam::123456789012:role/lambda-role", Handler=handler,
                        Code={"ZipFile": code}, Timeout=7, **kwargs)


RUNTIME_FRAME = re.compile(r"^\s+at .*(?:file://)?(?:/var/runtime/|" + re.escape(RIC_DIR) + r"/|node:)")


def trace_shape(trace: list[str]) -> list[str]:
    """The trace with each run of the runtime's and Node's own frames as one `<runtime>` line:
    the message lines and the handler's frames stay as they are."""
    shape = []
    for line in trace:
        if not RUNTIME_FRAME.match(line):
            shape.append(line)
        elif not shape or shape[-1] != "    at <runtime>":
            shape.append("    at <runtime>")
    return shape


def normalised(payload: bytes, function_error: str | None):
    """The payload as JSON, the reference's path made AWS's, and the trace's shape."""
    text = payload.decode().replace(f"{RIC_DIR}/dist/index.mjs", "/var/runtime/index.mjs")
    body = json.loads(text)
    if function_error and isinstance(body, dict) and isinstance(body.get("trace"), list):
        body["trace"] = trace_shape(body["trace"])
    return body


@pytest.fixture(params=sorted(CASES))
def pair(request, mlam, fn_name, ric_layer):
    """The case deployed both ways; returns (lamina function, aws-lambda-ric function)."""
    handler, files = CASES[request.param]
    code = zip_with_modes(sources(files))
    ours, theirs = f"{fn_name}-lamina", f"{fn_name}-ric"
    create(mlam, ours, handler, code, Runtime="nodejs20.x")
    create(mlam, theirs, handler, code, Runtime="provided.al2023", Layers=[ric_layer])
    return ours, theirs


def test_lamina_and_aws_lambda_ric_give_the_same_answer(mlam, pair):
    ours, theirs = pair

    mine = invoke(mlam, ours, {"n": 21})
    reference = invoke(mlam, theirs, {"n": 21})

    assert reference.status == mine.status == 200
    assert mine.function_error == reference.function_error
    assert normalised(mine.payload, mine.function_error) == normalised(reference.payload, reference.function_error)


def test_a_promise_that_never_settles_is_where_lamina_follows_the_managed_runtime(mlam, fn_name, ric_layer):
    code = zip_with_modes(sources({"index.js": "exports.handler = async () => new Promise(() => {});\n"}))
    ours, theirs = f"{fn_name}-lamina", f"{fn_name}-ric"
    create(mlam, ours, "index.handler", code, Runtime="nodejs20.x")
    create(mlam, theirs, "index.handler", code, Runtime="provided.al2023", Layers=[ric_layer])

    mine = invoke(mlam, ours)
    reference = invoke(mlam, theirs)

    assert (reference.function_error, reference.json()) == (None, None)
    assert mine.function_error == "Unhandled"
    assert mine.json()["errorType"] == "Runtime.NodeJsExit"
    assert "a Promise that was never settled" in mine.json()["errorMessage"]


LOGGING = """
class Declined extends Error { constructor(m) { super(m); this.name = 'Declined'; this.code = 'E42'; } }
exports.handler = async (event) => {
  console.log('plain', 42, { nested: { a: [1, 'two'] } });
  console.log({ alone: true, list: [1, null] });
  console.info('multi\\nline');
  console.warn('%s and %d', 'format', 7);
  console.error(new TypeError('logged, not thrown'));
  console.error('with context', new Declined('logged with a message'));
  const circular = { name: 'loop' };
  circular.self = circular;
  console.log(circular);
  console.debug('debug');
  console.trace('trace');
  if (event.fail) throw new Declined('thrown after logging');
  return 'logged';
};
"""


def user_lines(lines: list[str]) -> list[str]:
    """The function's own log lines (the runtime's platform lines and the reference's start
    banner left out), with the time and request id made placeholders and the stack frames'
    positions in the runtime dropped."""
    out = []
    for line in lines:
        if re.match(r"(START|END|REPORT|INIT_START) ", line) or line.startswith("Executing '"):
            continue
        line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "<time>", line)
        line = re.sub(UUID_RE, "<request-id>", line)
        line = re.sub(r"\r\s+at [^\r]*(?:/var/runtime/|/opt/ric/|node:)[^\r]*", "", line)
        line = re.sub(r',"    at [^"]*(?:/var/runtime/|/opt/ric/|node:)[^"]*"', "", line)
        out.append(re.sub(r'\\n\s+at (?:(?!\\n)[^"])*?(?:/var/runtime/|/opt/ric/|node:)(?:(?!\\n)[^"])*', "", line))
    return out


@pytest.mark.parametrize("log_format", ["TEXT", "JSON"])
def test_console_lines_are_the_same(mlam, module_server, fn_name, ric_layer, log_format):
    """Text lines, and the JSON ones both runtimes write under AWS_LAMBDA_LOG_FORMAT=JSON
    (set here as a variable: Lamina does not set it from LoggingConfig)."""
    code = zip_with_modes(sources({"index.js": LOGGING}))
    ours, theirs = f"{fn_name}-lamina", f"{fn_name}-ric"
    logging = {"Environment": {"Variables": {"AWS_LAMBDA_LOG_FORMAT": log_format}}}
    create(mlam, ours, "index.handler", code, Runtime="nodejs20.x", **logging)
    create(mlam, theirs, "index.handler", code, Runtime="provided.al2023", Layers=[ric_layer], **logging)

    assert invoke(mlam, ours).json() == invoke(mlam, theirs).json() == "logged"
    assert invoke(mlam, ours, {"fail": True}).function_error == "Unhandled"
    assert invoke(mlam, theirs, {"fail": True}).function_error == "Unhandled"

    mine, reference = user_lines(function_log(module_server, ours)), user_lines(function_log(module_server, theirs))
    assert len(mine) == 19, mine  # 9 lines an invoke, and the second one's "Invoke Error"
    assert mine == reference


def test_the_reference_function_really_runs_aws_lambda_ric(mlam, fn_name, ric_layer):
    source = "exports.handler = async () => [process.argv[1], typeof globalThis.awslambda];\n"
    create(mlam, fn_name, "index.handler", zip_with_modes(sources({"index.js": source})),
           Runtime="provided.al2023", Layers=[ric_layer])

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json() == [f"{RIC_DIR}/bin/index.mjs", "object"]


def test_the_built_ric_is_the_version_the_tests_name():
    assert json.loads((RIC / "package.json").read_text())["version"] == "3.3.0"


STREAMING = {
    "stream-with-prelude": """
        exports.handler = awslambda.streamifyResponse(async (event, stream) => {
          stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { a: 'b' } });
          stream.write('one;');
          await new Promise((ok) => setTimeout(ok, 50));
          stream.write(Buffer.from('two;'));
          stream.end('three;');
        });
    """,
    "stream-failing-midway": """
        exports.handler = awslambda.streamifyResponse(async (event, stream) => {
          stream.setContentType('text/plain');
          stream.write('partial;');
          await new Promise((ok) => setTimeout(ok, 20));
          throw new RangeError('failed midway ' + event.n);
        });
    """,
}


@pytest.mark.parametrize("case", sorted(STREAMING))
def test_a_streaming_handler_streams_the_same_under_aws_lambda_ric(mlam, module_server, fn_name, ric_layer, case):
    from url_support import streaming_client

    code = zip_with_modes(sources({"index.js": STREAMING[case]}))
    ours, theirs = f"{fn_name}-lamina", f"{fn_name}-ric"
    create(mlam, ours, "index.handler", code, Runtime="nodejs20.x")
    create(mlam, theirs, "index.handler", code, Runtime="provided.al2023", Layers=[ric_layer])
    slam = streaming_client(module_server.url)

    def streamed(name):
        events = list(slam.invoke_with_response_stream(FunctionName=name, Payload=b'{"n": 3}')["EventStream"])
        body = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
        return body, events[-1]["InvokeComplete"]

    assert streamed(ours) == streamed(theirs)
