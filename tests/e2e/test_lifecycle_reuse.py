"""Execution environments (spec §6): a warm environment is reused with its module state, and
concurrent invokes each get their own environment (one in-flight invocation each)."""

import json
import threading

import pytest

from harness import make_client
from invoke_support import deploy, fn_name, handler_zip, invoke, mlam  # noqa: F401
from recorder_double import CLIENT_SOURCE, Recorder

CONCURRENT_INVOKES = 8


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def test_a_warm_environment_keeps_module_state_between_invokes(mlam, fn_name):
    deploy(mlam, fn_name, """
        import os
        CALLS = 0

        def lambda_handler(event, context):
            global CALLS
            CALLS += 1
            return {"calls": CALLS, "pid": os.getpid()}
    """)

    first, second, third = (invoke(mlam, fn_name).json() for _ in range(3))

    assert [first["calls"], second["calls"], third["calls"]] == [1, 2, 3]
    assert first["pid"] == second["pid"] == third["pid"]


def test_concurrent_invokes_run_at_once_in_separate_environments(module_server, mlam, fn_name, recorder):
    # Each invocation reports that it started, then waits at a gate the test opens only once
    # all of them have started: so all were in flight at the same time.
    gate = f"gate-{fn_name}"
    code = handler_zip(f"""
        import os
        import uuid
        from recorder_client import record, wait_gate

        ENVIRONMENT = uuid.uuid4().hex

        def lambda_handler(event, context):
            record("{fn_name}", {{"environment": ENVIRONMENT}})
            wait_gate("{gate}")
            return {{"environment": ENVIRONMENT, "uid": os.getuid()}}
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(mlam, fn_name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}})
    results: list = [None] * CONCURRENT_INVOKES

    def call(i):
        client = make_client(module_server.url)  # one per thread: the raw recorder is per client
        try:
            results[i] = invoke(client, fn_name)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CONCURRENT_INVOKES)]
    for t in threads:
        t.start()
    try:
        started = recorder.wait_for(fn_name, CONCURRENT_INVOKES, timeout=60)
    finally:
        recorder.open_gate(gate)
        for t in threads:
            t.join(timeout=120)

    assert len({json.loads(b)["environment"] for b in started}) == CONCURRENT_INVOKES
    assert all(not isinstance(r, Exception) and r.function_error is None for r in results), results
    assert len({r.json()["environment"] for r in results}) == CONCURRENT_INVOKES
    # Each environment runs as its own uid (PIDs are per environment: every runtime is pid 2).
    assert len({r.json()["uid"] for r in results}) == CONCURRENT_INVOKES

