"""Lamina's Python bootstrap against AWS's own runtime client, both run by Lamina (spec §9):
each handler is deployed twice, as python3.11 (Lamina's bootstrap) and as provided.al2023
whose ZIP carries awslambdaric (copied from the e2e venv, so nothing is downloaded and no host
path is needed inside the sandbox) and a `bootstrap` that execs the system Python 3.X with
`-m awslambdaric $_HANDLER`. Both must give the same payload, byte for byte (request ids
aside), and the same FunctionError."""

import json
import os
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from invoke_support import deploy, fn_name, invoke, mlam, zip_with_modes  # noqa: F401

CASES = {
    "success": ("lambda_function.lambda_handler", """
        def lambda_handler(event, context):
            return {"doubled": event["n"] * 2, "items": [1, 2.5, None, True], "nested": {"k": "v"}}
    """),
    "returns-none": ("lambda_function.lambda_handler", """
        def lambda_handler(event, context):
            pass
    """),
    "unicode-result": ("lambda_function.lambda_handler", """
        def lambda_handler(event, context):
            return {"greeting": "héllo wörld ✓", "crab": "🦀", "quote": 'say "hi"\\n'}
    """),
    "raises": ("lambda_function.lambda_handler", """
        class PaymentDeclined(Exception):
            pass

        def lambda_handler(event, context):
            raise PaymentDeclined("card %d declined" % event["n"])
    """),
    "import-error": ("lambda_function.lambda_handler", """
        import not_installed_anywhere

        def lambda_handler(event, context):
            return 1
    """),
    "handler-not-found": ("lambda_function.no_such_handler", """
        def lambda_handler(event, context):
            return 1
    """),
    "malformed-handler": ("lambda_handler", """
        def lambda_handler(event, context):
            return 1
    """),
    "syntax-error": ("lambda_function.lambda_handler", """
        def lambda_handler(event, context)
            return 1
    """),
    "marshal-error": ("lambda_function.lambda_handler", """
        def lambda_handler(event, context):
            return {"a set": {1, 2}}
    """),
}


RIC_DISTRIBUTIONS = ("awslambdaric", "simplejson", "snapshot-restore-py")


@pytest.fixture(scope="module")
def ric_files() -> dict[str, tuple[bytes, int]]:
    """awslambdaric and its dependencies as installed in the e2e venv, for a function ZIP."""
    files = {}
    for name in RIC_DISTRIBUTIONS:
        dist = metadata.distribution(name)
        for entry in dist.files or []:
            path = Path(dist.locate_file(entry))
            if entry.parts[0] == ".." or "__pycache__" in entry.parts or not path.is_file():
                continue
            files[str(entry)] = (path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)
    assert any(k.startswith("awslambdaric/") for k in files), "awslambdaric is not installed in the venv"
    return files


def awslambdaric_bootstrap() -> bytes:
    # The venv's compiled extension is built for this Python version: run the system's same one.
    python = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not python.exists():
        raise RuntimeError(f"{python} not found: the parity test needs the system Python the venv matches")
    # awslambdaric does not put the code directory on sys.path by itself.
    return f'#!/bin/sh\nexport PYTHONPATH=/var/task\nexec {python} -m awslambdaric "$_HANDLER"\n'.encode()


def ric_zip(ric_files, source: bytes) -> bytes:
    return zip_with_modes({
        **ric_files,
        "lambda_function.py": (source, 0o644),
        "bootstrap": (awslambdaric_bootstrap(), 0o755),
    })


def normalised(out) -> bytes:
    """The payload with a non-empty `requestId` replaced: it differs on every invoke."""
    if out.function_error is None:
        return out.payload
    request_id = json.loads(out.payload).get("requestId")
    return out.payload.replace(request_id.encode(), b"<request-id>") if request_id else out.payload


@pytest.fixture(params=sorted(CASES))
def pair(request, mlam, fn_name, ric_files):
    """The case deployed both ways; returns (lamina function, awslambdaric function)."""
    handler, source = CASES[request.param]
    source = textwrap.dedent(source).encode()
    ours, theirs = f"{fn_name}-lamina", f"{fn_name}-ric"
    deploy(mlam, ours, zip_bytes=zip_with_modes({"lambda_function.py": (source, 0o644)}), Handler=handler)
    deploy(mlam, theirs, Runtime="provided.al2023", Handler=handler, zip_bytes=ric_zip(ric_files, source))
    return ours, theirs


def test_lamina_and_awslambdaric_give_the_same_answer(mlam, pair):
    ours, theirs = pair

    mine = invoke(mlam, ours, {"n": 21})
    reference = invoke(mlam, theirs, {"n": 21})

    assert reference.status == mine.status == 200
    assert (mine.function_error, normalised(mine)) == (reference.function_error, normalised(reference))


def test_the_reference_function_really_runs_awslambdaric(mlam, fn_name, ric_files):
    source = b"import sys\n\ndef lambda_handler(event, context):\n    return [type(context).__module__, sys.argv[0]]\n"
    deploy(mlam, fn_name, Runtime="provided.al2023", Handler="lambda_function.lambda_handler",
           zip_bytes=ric_zip(ric_files, source))

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    context_module, program = out.json()
    assert context_module == "awslambdaric.lambda_context"
    assert program == "/var/task/awslambdaric/__main__.py"
