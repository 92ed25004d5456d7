"""SIGTERM has a deadline of its own (`--shutdown-grace-secs`): the server stops accepting, gives
in-flight invocations the grace period, then ends those still running (a synchronous call whose
caller is still connected, one whose caller hung up, a runaway `Event` invocation past the
grace) and exits, leaving no cgroup, mount, scratch directory or process of its environments.
The `Event` invocation it cut short stays queued and runs again at the next start."""

from __future__ import annotations

import json
import signal
import subprocess
import threading

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from lifecycle_support import RAW_CALLER_ARGS, deploy_reporting, records, start_abandoned_invoke
from sandbox_support import (
    cgroup_path,
    leftovers,
    sandbox_client,
    unique_name,
    wait_for,
)

GRACE_ARGS = ("--shutdown-grace-secs", "2", *RAW_CALLER_ARGS)
# Far past the grace: without a deadline of its own, shutdown would wait for them.
SYNC_SLEEP_SECS = 60
RUNAWAY_TIMEOUT_SECS = 60
# Upper bounds, so a failure fails rather than hangs (the grace is 2 s).
EXIT_SECS = 30
START_SECS = 30


def test_sigterm_ends_what_outlives_the_grace_and_leaves_nothing(start_server, recorder):
    # With the default standby sandboxes: they must go too.
    server = start_server(*GRACE_ARGS)
    path = cgroup_path(server)
    lam = sandbox_client(server)
    slow, runaway = unique_name("fn-slow"), unique_name("fn-runaway")
    deploy_reporting(lam, slow, recorder, Timeout=120)
    deploy_reporting(lam, runaway, recorder, Timeout=RUNAWAY_TIMEOUT_SECS)

    # A synchronous caller that stays connected...
    connected = {}

    def call():
        patient = sandbox_client(server, read_timeout=120)
        try:
            connected["out"] = patient.invoke(FunctionName=slow, Payload=json.dumps({"sleep": SYNC_SLEEP_SECS, "id": "connected"}))
        except (BotoCoreError, ClientError) as e:
            connected["error"] = e

    caller = threading.Thread(target=call)
    caller.start()
    # ...one that hung up...
    start_abandoned_invoke(server.url, recorder, slow, SYNC_SLEEP_SECS).close()
    # ...and an Event invocation that runs past its timeout.
    queued = lam.invoke(FunctionName=runaway, InvocationType="Event",
                        Payload=json.dumps({"sleep": RUNAWAY_TIMEOUT_SECS + 30, "id": "runaway"}))
    assert queued["StatusCode"] == 202
    wait_for(lambda: len(records(recorder, f"{slow}-start")) == 2 and records(recorder, f"{runaway}-start"),
             START_SECS, "the three invocations never ran together")

    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=EXIT_SECS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within {EXIT_SECS} s of SIGTERM with a 2 s grace")

    assert server.proc.returncode == 0, server.log_tail()
    left = leftovers(server, path)
    assert not any(left.values()), f"after shutdown: {left}"
    caller.join(timeout=EXIT_SECS)
    assert "error" in connected, f"the connected caller's 60 s invoke did not end with the server: {connected}"
    assert records(recorder, f"{slow}-end") == [], "no synchronous invocation could have finished"

    # The Event invocation cut short is still queued: it runs again, with its request id.
    restarted = start_server(*GRACE_ARGS, data_dir=server.data_dir)
    runs = recorder.wait_for(f"{runaway}-start", 2, timeout=START_SECS)
    request_ids = {json.loads(run)["request_id"] for run in runs}
    assert request_ids == {queued["ResponseMetadata"]["RequestId"]}, runs
    restarted.stop()
