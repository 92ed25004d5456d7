"""A custom runtime that cannot start is the function's error, as on AWS: 200 with
`X-Amz-Function-Error: Unhandled` and `Runtime.InvalidEntrypoint`, worded the same whether the
environment came from a standby sandbox or was started for the invoke."""

import re

import pytest

from invoke_support import invoke, zip_with_modes
from function_support import ROLE, fn_name  # noqa: F401 - fixture
from harness import make_client

NO_BOOTSTRAP = "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"


@pytest.fixture(params=["0", "2"], ids=["no-standby", "standbys"])
def lam(request, start_server):
    return make_client(start_server("--standby-environments", request.param).url)


def deploy_custom(lam, name, files):
    lam.create_function(
        FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="unused",
        Code={"ZipFile": zip_with_modes(files)},
    )


def assert_invalid_entrypoint(out, why):
    assert out.status == 200
    assert out.function_error == "Unhandled", out.payload
    request_id = re.match(r"START RequestId: (\S+) ", out.log_result).group(1)
    assert out.json() == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": f"RequestId: {request_id} Error: {why}",
    }
    report = [line for line in out.log_result.splitlines() if line.startswith("REPORT ")]
    assert len(report) == 1 and report[0].endswith("Status: error\tError Type: Runtime.InvalidEntrypoint"), report


def test_a_missing_bootstrap_is_an_invalid_entrypoint(lam, fn_name):
    deploy_custom(lam, fn_name, {"handler.sh": (b"#!/bin/sh\n", 0o755)})

    for _ in range(2):  # the same on every attempt, standby or not
        assert_invalid_entrypoint(invoke(lam, fn_name, LogType="Tail"), NO_BOOTSTRAP)


def test_a_bootstrap_that_may_not_run_is_an_invalid_entrypoint(lam, fn_name):
    deploy_custom(lam, fn_name, {"bootstrap": (b"#!/bin/sh\nexit 0\n", 0o644)})

    out = invoke(lam, fn_name, LogType="Tail")

    assert_invalid_entrypoint(out, "fork/exec /var/task/bootstrap: permission denied")
