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


def processes_of(uid: int) -> list[int]:
    """Host pids running as `uid` (each environment has a uid of its own)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/status") as status:
                uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
        except (OSError, StopIteration):
            continue
        if entry.isdigit() and int(uids[0]) == uid:
            pids.append(int(entry))
    return pids


def wait_until_gone(uid: int) -> None:
    assert uid != 0, "the environment runs as root: this test needs namespace isolation"
    deadline = time.monotonic() + REAP_DEADLINE_SECS
    while processes_of(uid):
        assert time.monotonic() < deadline, f"environment of uid {uid} still alive after {REAP_DEADLINE_SECS} s idle"
        time.sleep(0.1)


def test_an_idle_environment_is_shut_down_and_the_next_invoke_starts_fresh(mlam, fn_name):
    deploy(mlam, fn_name, """
        import os
        CALLS = 0

        def lambda_handler(event, context):
            global CALLS
            CALLS += 1
            return {"calls": CALLS, "uid": os.getuid()}
    """)
    first = invoke(mlam, fn_name).json()
    assert first["calls"] == 1

    wait_until_gone(first["uid"])
    after = invoke(mlam, fn_name).json()

    assert after["calls"] == 1
