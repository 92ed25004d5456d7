"""External extensions (Extensions API `2020-01-01`), as AWS runs them: every executable file
of `/opt/extensions` (from a layer) starts at the beginning of Init, in the function's sandbox,
with its environment and its log; it registers, then long-polls `event/next` for an INVOKE
event per invoke and SHUTDOWN when the environment ends. Init ends only once every extension
registered and called `next` (one that exits first fails Init, `Extension.Crash`); the caller
gets the response as soon as the runtime answers, while the extension's post-invoke work still
counts against the invoke (END and REPORT follow it)."""

import json
import re

from invoke_support import deploy, fn_name, function_log, invoke, mlam, zip_with_modes  # noqa: F401
from helpers import client_error
from sandbox_support import wait_for

# A small external extension: registers for both events, then prints each event it gets. With
# EXT_SLOW set, it works that many seconds after each INVOKE before its next `next`.
EXTENSION = b"""#!/usr/bin/python3
import json, os, sys, time, urllib.request
api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension"
name = os.path.basename(sys.argv[0])
slow = float(os.environ.get("EXT_SLOW", "0"))
registration = urllib.request.Request(
    f"{api}/register", data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": name}, method="POST",
)
with urllib.request.urlopen(registration) as answer:
    ext_id = answer.headers["Lambda-Extension-Identifier"]
    info = json.load(answer)
print(f"[{name}] registered for {info['functionName']} {info['functionVersion']} {info['handler']}", flush=True)
while True:
    poll = urllib.request.Request(f"{api}/event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(poll) as answer:
        event = json.load(answer)
    if event["eventType"] == "INVOKE":
        print(f"[{name}] INVOKE {event['requestId']} {event['invokedFunctionArn']}", flush=True)
        if slow:
            time.sleep(slow)
            print(f"[{name}] done {event['requestId']}", flush=True)
    else:
        print(f"[{name}] SHUTDOWN {event['shutdownReason']}", flush=True)
        break
"""

HANDLER = (
    b"def lambda_handler(event, context):\n"
    b"    print('handler ran', context.aws_request_id)\n"
    b"    return context.aws_request_id\n"
)


def code() -> bytes:
    return zip_with_modes({"lambda_function.py": (HANDLER, 0o644)})


def extension_layer(lam, layer_name, data: bytes = EXTENSION) -> str:
    out = lam.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": zip_with_modes({"extensions/my-ext": (data, 0o755)})},
    )
    return out["LayerVersionArn"]


def test_an_extension_registers_gets_each_invoke_and_shutdown(start_server, client_for, fn_name, layer_name):
    server = start_server()
    lam = client_for(server)
    deploy(lam, fn_name, zip_bytes=code(), Layers=[extension_layer(lam, layer_name)])

    ids = []
    for _ in range(2):
        out = invoke(lam, fn_name)
        assert out.function_error is None, out.payload
        ids.append(out.json())

    # Each INVOKE is the extension's before the environment is frozen: logged before REPORT.
    lines = function_log(server, fn_name)
    assert f"[my-ext] registered for {fn_name} $LATEST lambda_function.lambda_handler" in lines, lines
    for request_id in ids:
        invoke_line = next(i for i, l in enumerate(lines) if l.startswith(f"[my-ext] INVOKE {request_id} "))
        assert lines[invoke_line].endswith(f":function:{fn_name}"), lines[invoke_line]
        report = next(i for i, l in enumerate(lines) if l.startswith(f"REPORT RequestId: {request_id}"))
        assert invoke_line < report, lines

    server.stop()
    # The log is read through the API: a server started again on the data dir serves it.
    lines = function_log(server.start(), fn_name)
    assert "[my-ext] SHUTDOWN spindown" in lines, lines


def test_an_extension_that_exits_before_registering_fails_init(mlam, module_server, fn_name, layer_name):
    arn = extension_layer(mlam, layer_name, b"#!/bin/sh\necho 'my-ext gives up'\nexit 3\n")
    deploy(mlam, fn_name, zip_bytes=code(), Layers=[arn])

    for _ in range(2):  # every attempt starts a new environment and fails the same way
        out = invoke(mlam, fn_name)
        assert out.function_error == "Unhandled", out.payload
        # AWS: {"errorMessage": "RequestId: <id> Error: exit code 3", "errorType": "Extension.Crash"}
        error = out.json()
        assert error["errorType"] == "Extension.Crash", out.payload
        assert re.fullmatch(r"RequestId: [0-9a-f-]{36} Error: exit code 3", error["errorMessage"]), out.payload

    lines = function_log(module_server, fn_name)
    assert "my-ext gives up" in lines, lines
    assert not any(l.startswith("handler ran") for l in lines), lines


def test_a_slow_extension_does_not_delay_the_response(mlam, module_server, fn_name, layer_name):
    deploy(
        mlam, fn_name, zip_bytes=code(), Layers=[extension_layer(mlam, layer_name)],
        Environment={"Variables": {"EXT_SLOW": "2"}}, Timeout=30,
    )

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    request_id = out.json()
    # The response came while the extension was still working on the invoke.
    at_response = function_log(module_server, fn_name)
    assert f"[my-ext] done {request_id}" not in at_response, at_response
    # Its work counts against the invoke: END and REPORT come after it.
    def reported():
        lines = function_log(module_server, fn_name)
        return lines if any(l.startswith(f"REPORT RequestId: {request_id}") for l in lines) else None

    lines = wait_for(reported, 30, "no REPORT line")
    done = lines.index(f"[my-ext] done {request_id}")
    report = next(i for i, l in enumerate(lines) if l.startswith(f"REPORT RequestId: {request_id}"))
    assert done < report, lines
    # The environment stays warm for the next invoke.
    again = invoke(mlam, fn_name)
    assert again.function_error is None, again.payload
    assert json.loads(again.payload) != request_id


def test_an_environment_counts_against_reserved_concurrency_until_its_extensions_finish(
    mlam, module_server, fn_name, layer_name
):
    deploy(
        mlam, fn_name, zip_bytes=code(), Layers=[extension_layer(mlam, layer_name)],
        Environment={"Variables": {"EXT_SLOW": "6"}}, Timeout=30,
    )
    mlam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)

    first = invoke(mlam, fn_name)
    # Answered, but its extension still works on the invoke: the one environment is busy, so
    # the function's one reserved execution is in use, as AWS counts it.
    err = client_error(mlam.invoke, FunctionName=fn_name, Payload=b"{}")
    lines = function_log(module_server, fn_name)

    assert first.function_error is None, first.payload
    assert f"[my-ext] done {first.json()}" not in lines, lines
    assert err.response["Error"]["Code"] == "TooManyRequestsException"
    assert err.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

    def reported():
        lines = function_log(module_server, fn_name)
        return any(l.startswith(f"REPORT RequestId: {first.json()}") for l in lines)

    wait_for(reported, 30, "no REPORT line")
    assert invoke(mlam, fn_name).function_error is None


def test_an_extension_init_error_fails_init_with_extension_init_error(mlam, module_server, fn_name, layer_name):
    failing = b"""#!/usr/bin/python3
import json, os, urllib.request
api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension"
registration = urllib.request.Request(
    f"{api}/register", data=b'{"events":["INVOKE"]}', headers={"Lambda-Extension-Name": "my-ext"}, method="POST",
)
with urllib.request.urlopen(registration) as answer:
    ext_id = answer.headers["Lambda-Extension-Identifier"]
report = urllib.request.Request(
    f"{api}/init/error", data=json.dumps({"errorMessage": "no config", "errorType": "Extension.ConfigInvalid"}).encode(),
    headers={"Lambda-Extension-Identifier": ext_id, "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"},
    method="POST",
)
with urllib.request.urlopen(report) as answer:
    print("my-ext reported", answer.status, flush=True)
"""
    deploy(mlam, fn_name, zip_bytes=code(), Layers=[extension_layer(mlam, layer_name, failing)])

    out = invoke(mlam, fn_name)

    assert out.function_error == "Unhandled", out.payload
    error = out.json()
    assert error["errorType"] == "Extension.InitError", out.payload
    assert re.fullmatch(r"RequestId: [0-9a-f-]{36} Error: Extension.ConfigInvalid", error["errorMessage"]), out.payload
    assert not any(l.startswith("handler ran") for l in function_log(module_server, fn_name))


def test_a_timed_out_invoke_shuts_the_extension_down_with_reason_timeout(mlam, module_server, fn_name, layer_name):
    slow = zip_with_modes({"lambda_function.py": (
        b"import time\n"
        b"def lambda_handler(event, context):\n"
        b"    time.sleep(event.get('sleep', 0))\n"
        b"    return context.aws_request_id\n", 0o644)})
    deploy(mlam, fn_name, zip_bytes=slow, Layers=[extension_layer(mlam, layer_name)], Timeout=1)

    out = invoke(mlam, fn_name, {"sleep": 5})

    assert out.function_error == "Unhandled", out.payload
    assert "Task timed out" in out.json()["errorMessage"], out.payload
    # The reset gives the extension its SHUTDOWN before the environment's processes end.
    lines = wait_for(lambda: (lambda l: l if "[my-ext] SHUTDOWN timeout" in l else None)(
        function_log(module_server, fn_name)), 30, "no SHUTDOWN timeout")
    assert "[my-ext] SHUTDOWN spindown" not in lines, lines
    # The next invoke starts a new environment, whose extension registers again.
    again = invoke(mlam, fn_name)
    assert again.function_error is None, again.payload
    registered = [l for l in function_log(module_server, fn_name) if l.startswith("[my-ext] registered for")]
    assert len(registered) == 2, registered


def test_extension_lines_are_never_cut_by_the_runtime_output(mlam, module_server, fn_name, layer_name):
    # Both write at once for a while, each line in two pieces (print under PYTHONUNBUFFERED
    # writes the text, then the newline): on one shared pipe their lines would interleave.
    # At most 20,000 lines each, so a fast machine stays within the function's log cap
    # (20 MB) and the log still holds the first line.
    chatty_extension = b"""#!/usr/bin/python3
import json, os, time, urllib.request
api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension"
registration = urllib.request.Request(
    f"{api}/register", data=b'{"events":["INVOKE"]}', headers={"Lambda-Extension-Name": "my-ext"}, method="POST",
)
with urllib.request.urlopen(registration) as answer:
    ext_id = answer.headers["Lambda-Extension-Identifier"]
while True:
    poll = urllib.request.Request(f"{api}/event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(poll) as answer:
        json.load(answer)
    i, end = 0, time.monotonic() + 0.5
    while time.monotonic() < end and i < 20000:
        print(f"extension line {i}", flush=True)
        i += 1
    print("extension done", flush=True)
"""
    chatty_handler = zip_with_modes({"lambda_function.py": (
        b"import time\n"
        b"def lambda_handler(event, context):\n"
        b"    i, end = 0, time.monotonic() + 0.5\n"
        b"    while time.monotonic() < end and i < 20000:\n"
        b"        print(f'function line {i}', flush=True)\n"
        b"        i += 1\n"
        b"    return i\n", 0o644)})
    deploy(mlam, fn_name, zip_bytes=chatty_handler, Layers=[extension_layer(mlam, layer_name, chatty_extension)],
           Timeout=10)

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    def all_logged():
        lines = function_log(module_server, fn_name)
        return lines if "extension done" in lines and any(l.startswith("REPORT") for l in lines) else None

    lines = wait_for(all_logged, 30, "not every line was logged")
    function_lines = [l for l in lines if l.startswith("function line ")]
    extension_lines = [l for l in lines if l.startswith("extension line ")]
    assert function_lines == [f"function line {i}" for i in range(out.json())], "a function line was cut"
    assert extension_lines == [f"extension line {i}" for i in range(len(extension_lines))], "an extension line was cut"
    whole = set(function_lines) | set(extension_lines)
    cut = [l for l in lines if "line" in l and l not in whole]
    assert not cut, cut[:5]


REGISTERS_THEN_EXITS = b"""#!/usr/bin/python3
import os, sys, urllib.request
api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension"
registration = urllib.request.Request(
    f"{api}/register", data=b'{"events":["INVOKE"]}', headers={"Lambda-Extension-Name": "my-ext"}, method="POST",
)
with urllib.request.urlopen(registration) as answer:
    ext_id = answer.headers["Lambda-Extension-Identifier"]
if os.environ.get("EXT_EXIT_AT") == "init":
    sys.exit(3)
poll = urllib.request.Request(f"{api}/event/next", headers={"Lambda-Extension-Identifier": ext_id})
with urllib.request.urlopen(poll) as answer:
    answer.read()
print("my-ext exits during the invoke", flush=True)
sys.exit(4)
"""


def test_an_extension_that_crashes_after_registering_fails_with_extension_crash(mlam, module_server, fn_name,
                                                                                layer_name):
    arn = extension_layer(mlam, layer_name, REGISTERS_THEN_EXITS)
    slow = zip_with_modes({"lambda_function.py": (
        b"import time\n"
        b"def lambda_handler(event, context):\n"
        b"    time.sleep(3)\n"
        b"    return 'too late'\n", 0o644)})
    # During Init: registered, then gone before its `next`.
    deploy(mlam, fn_name, zip_bytes=slow, Layers=[arn], Timeout=10,
           Environment={"Variables": {"EXT_EXIT_AT": "init"}})
    out = invoke(mlam, fn_name)
    assert out.function_error == "Unhandled", out.payload
    assert out.json()["errorType"] == "Extension.Crash", out.payload
    assert re.fullmatch(r"RequestId: [0-9a-f-]{36} Error: exit code 3", out.json()["errorMessage"]), out.payload

    # During an invoke: the extension's exit ends the environment before the handler answers.
    mlam.update_function_configuration(FunctionName=fn_name, Environment={"Variables": {"EXT_EXIT_AT": "invoke"}})
    mlam.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    out = invoke(mlam, fn_name)
    assert out.function_error == "Unhandled", out.payload
    assert out.json()["errorType"] == "Extension.Crash", out.payload
    assert re.fullmatch(r"RequestId: [0-9a-f-]{36} Error: exit code 4", out.json()["errorMessage"]), out.payload
    assert "my-ext exits during the invoke" in function_log(module_server, fn_name)
