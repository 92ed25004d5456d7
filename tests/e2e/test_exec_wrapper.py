"""Wrapper scripts (`AWS_LAMBDA_EXEC_WRAPPER`), as AWS documents them: a managed runtime is
started as `<wrapper> <the runtime's start command...>`, so a wrapper ending in `exec "$@"`
starts it after changing its environment or arguments; the path is the function's own
(`/opt/...` from a layer, `/var/task/...`). A wrapper that does not exist or may not be run
fails Init the way AWS's `/var/runtime/bootstrap` makes it fail (exit 127 and 126, its line in
the log, `Runtime.ExitError`); the OS-only runtimes (`provided.*`) ignore the variable."""

import re

from function_support import ROLE
from invoke_support import deploy, fn_name, function_log, invoke, mlam, zip_with_modes  # noqa: F401

WRAPPER = b'#!/bin/bash\necho "wrapped: $@"\nexport EXTRA=1\nexec "$@"\n'

# The handler answers what the wrapper changed: the variable it exported, and the interpreter's
# options (a wrapper that adds `-X importtime` shows in `sys._xoptions`).
HANDLER_SOURCE = (
    b"import os, sys\n\n"
    b"def lambda_handler(event, context):\n"
    b"    return {'extra': os.environ.get('EXTRA'), 'xoptions': sorted(sys._xoptions)}\n"
)


def code(extra: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    files = {"lambda_function.py": (HANDLER_SOURCE, 0o644)}
    files.update(extra or {})
    return zip_with_modes(files)


def wrapper_layer(mlam, layer_name, data: bytes = WRAPPER, mode: int = 0o755) -> str:
    out = mlam.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": zip_with_modes({"wrapper.sh": (data, mode)})},
    )
    return out["LayerVersionArn"]


def with_wrapper(path: str) -> dict:
    return {"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": path}}


def assert_exit_error(out, status: int):
    assert out.status == 200
    assert out.function_error == "Unhandled", out.payload
    request_id = re.search(r"START RequestId: (\S+) ", out.log_result).group(1)
    assert out.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}",
    }


def test_a_wrapper_from_a_layer_starts_the_runtime_with_its_changes(mlam, module_server, fn_name, layer_name):
    arn = wrapper_layer(mlam, layer_name)
    deploy(mlam, fn_name, zip_bytes=code(), Layers=[arn], Environment=with_wrapper("/opt/wrapper.sh"))

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json() == {"extra": "1", "xoptions": []}
    wrapped = [line for line in function_log(module_server, fn_name) if line.startswith("wrapped: ")]
    # The runtime's own start command, as the function sees its paths.
    assert wrapped == ["wrapped: /var/lang/bin/python3.11 /var/runtime/bootstrap.py"], wrapped


def test_a_wrapper_in_the_functions_code_adds_interpreter_options(mlam, fn_name):
    # AWS's documented example: a wrapper that starts Python with `-X importtime`.
    importtime = b'#!/bin/bash\nargs=("$@")\nexec "${args[0]}" -X importtime "${args[@]:1}"\n'
    deploy(
        mlam, fn_name, zip_bytes=code({"wrapper": (importtime, 0o755)}),
        Environment=with_wrapper("/var/task/wrapper"),
    )

    out = invoke(mlam, fn_name, LogType="Tail")

    assert out.function_error is None, out.payload
    assert out.json() == {"extra": None, "xoptions": ["importtime"]}


def test_a_missing_wrapper_fails_init_with_exit_status_127(mlam, module_server, fn_name):
    deploy(mlam, fn_name, zip_bytes=code(), Environment=with_wrapper("/opt/no-such-wrapper"))

    for _ in range(2):  # every attempt starts a new environment and fails the same way
        assert_exit_error(invoke(mlam, fn_name, LogType="Tail"), 127)

    assert "/opt/no-such-wrapper: does not exist" in function_log(module_server, fn_name)


def test_a_wrapper_that_may_not_be_run_fails_init_with_exit_status_126(mlam, module_server, fn_name, layer_name):
    arn = wrapper_layer(mlam, layer_name, mode=0o644)
    deploy(mlam, fn_name, zip_bytes=code(), Layers=[arn], Environment=with_wrapper("/opt/wrapper.sh"))

    assert_exit_error(invoke(mlam, fn_name, LogType="Tail"), 126)

    assert "/opt/wrapper.sh: is not an executable" in function_log(module_server, fn_name)


def test_an_os_only_runtime_ignores_the_wrapper(mlam, fn_name):
    # AWS: wrapper scripts are not supported on the OS-only runtimes (the `provided` family).
    bootstrap = (
        b"#!/usr/bin/python3\n"
        b"import json, os, urllib.request\n"
        b"api = f\"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation\"\n"
        b"while True:\n"
        b"    with urllib.request.urlopen(f'{api}/next') as event:\n"
        b"        request_id = event.headers['Lambda-Runtime-Aws-Request-Id']\n"
        b"    answer = json.dumps(os.environ.get('EXTRA', 'unwrapped')).encode()\n"
        b"    urllib.request.urlopen(f'{api}/{request_id}/response', data=answer).close()\n"
    )
    mlam.create_function(
        FunctionName=fn_name, Runtime="provided.al2023", Role=ROLE,
        Handler="unused", Code={"ZipFile": zip_with_modes({"bootstrap": (bootstrap, 0o755)})},
        Environment=with_wrapper("/opt/no-such-wrapper"),
    )

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json() == "unwrapped"
