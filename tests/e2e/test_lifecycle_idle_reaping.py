"""`--idle-timeout-secs 1`: an environment idle for longer is shut down, and the next invoke
starts a fresh one (its module state starts over)."""

import os
import time

import pytest

from invoke_support import deploy, fn_name, invoke, mlam, start_module_server  # noqa: F401

REAP_DEADLINE_SECS = 30


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    yield from start_module_server(request, tmp_path_factory, "--idle-timeout-secs", "1")


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + REAP_DEADLINE_SECS
    while process_exists(pid):
        assert time.monotonic() < deadline, f"environment process {pid} still alive after {REAP_DEADLINE_SECS} s idle"
        time.sleep(0.1)


def test_an_idle_environment_is_shut_down_and_the_next_invoke_starts_fresh(mlam, fn_name):
    deploy(mlam, fn_name, """
        import os
        CALLS = 0

        def lambda_handler(event, context):
            global CALLS
            CALLS += 1
            return {"calls": CALLS, "pid": os.getpid()}
    """)
    first = invoke(mlam, fn_name).json()
    assert first["calls"] == 1

    wait_until_gone(first["pid"])
    after = invoke(mlam, fn_name).json()

    assert after["calls"] == 1
    assert after["pid"] != first["pid"]
