"""A caller that goes away neither cancels its invocation nor keeps its environment (as on AWS,
an invocation runs to its end or its timeout, whatever the client does). With
`--max-environments-per-function 5`: 50 callers that hang up mid-invoke, or an SDK client whose
read timeout is shorter than the function and that retries, leave the function serving at full
concurrency, with nothing on the host beyond its idle environments.

Standby sandboxes are off, so each cgroup below the server's instance is an environment."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from helpers import REGION, raw_of
from invoke_support import function_log
from lifecycle_support import RAW_CALLER_ARGS, deploy_reporting, records, start_abandoned_invoke
from recorder_double import Recorder
from sandbox_support import (
    cgroup_path,
    env_ids,
    freezer_state,
    mounts_under,
    sandbox_client,
    scratch_dirs,
    tmpfs_mounts_under,
    unique_name,
    wait_for,
)

CAP = 5
SERVER_ARGS = ("--max-environments-per-function", str(CAP), "--standby-environments", "0", *RAW_CALLER_ARGS)
CALLERS = 50
HANDLER_SECS = 2
# Upper bounds, so a failure fails rather than hangs.
RUNS_END_SECS = 60
IDLE_SECS = 30


def wait_until_all_ended(recorder: Recorder, name: str) -> int:
    """Waits until every invocation that started has ended; returns how many did."""
    def ended():
        started, done = records(recorder, f"{name}-start"), records(recorder, f"{name}-end")
        return len(done) if len(done) == len(started) else 0

    return wait_for(ended, RUNS_END_SECS, lambda: f"invocations of {name} never ended: "
                    f"{len(records(recorder, f'{name}-start'))} started, {len(records(recorder, f'{name}-end'))} ended")


def wait_until_idle(path: str) -> list[str]:
    """Waits until every environment is back in the pool (frozen); returns their ids."""
    def idle():
        envs = env_ids(path)
        return envs if envs and all(freezer_state(path, e) == "FROZEN" for e in envs) else None

    return wait_for(idle, IDLE_SECS,
                    lambda: f"environments never all idle: {[(e, freezer_state(path, e)) for e in env_ids(path)]}")


def assert_full_concurrency(server, name: str) -> None:
    """CAP invokes at once all succeed: no slot is held by an invocation that ended."""
    outcomes = [None] * CAP
    errors = {}

    def call(i):
        lam = sandbox_client(server)
        try:
            out = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": 1, "id": f"full-{i}"}))
            outcomes[i] = (out["StatusCode"], out.get("FunctionError"))
            if out.get("FunctionError"):
                errors[i] = raw_of(lam).body.decode(errors="replace")
        except ClientError as e:
            outcomes[i] = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CAP)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if outcomes != [(200, None)] * CAP:
        # The function's log holds the handler's traceback, if it got that far.
        log = "\n".join(function_log(server, name)[-80:])
        pytest.fail(f"{CAP} concurrent invokes: {outcomes}, errors: {errors}\nfunction log (last 80 lines):\n{log}")


def assert_only_idle_environments(server, path: str) -> None:
    """Each cgroup, /tmp mount and scratch directory is one of the pool's idle environments."""
    envs = wait_until_idle(path)
    assert len(envs) <= CAP, envs
    mounts = tmpfs_mounts_under(server.data_dir / "envs")
    assert len(mounts) == len(envs), f"environments {envs}, /tmp mounts {mounts}"
    assert len(scratch_dirs(server)) == len(envs), f"environments {envs}, scratch {scratch_dirs(server)}"
    assert len(mounts_under(server.data_dir)) == len(envs), mounts_under(server.data_dir)


def test_fifty_callers_that_hang_up_mid_invoke_leave_every_slot_free(start_server, recorder):
    server = start_server(*SERVER_ARGS)
    path = cgroup_path(server)
    name = unique_name("fn-hang-up")
    deploy_reporting(sandbox_client(server), name, recorder, Timeout=30)

    # Rounds of CAP callers, each hanging up once its handler runs: every slot is taken by an
    # abandoned invocation, and the next round only starts once they are handed back.
    for _ in range(CALLERS // CAP):
        sockets = [start_abandoned_invoke(server.url, recorder, name, HANDLER_SECS) for _ in range(CAP)]
        for sock in sockets:
            sock.close()

    # On AWS an abandoned invocation is not cancelled: each runs to its end.
    assert wait_until_all_ended(recorder, name) == CALLERS
    assert_full_concurrency(server, name)
    assert_only_idle_environments(server, path)


def test_an_sdk_retrying_on_read_timeouts_leaks_no_slot(start_server, recorder):
    server = start_server(*SERVER_ARGS)
    path = cgroup_path(server)
    name = unique_name("fn-retry-storm")
    deploy_reporting(sandbox_client(server), name, recorder, Timeout=30)
    # An unmodified SDK's behaviour, scaled down: it gives up reading before the function
    # returns, and sends the call again, 3 attempts in all.
    impatient = boto3.client(
        "lambda", endpoint_url=server.url, region_name=REGION,
        aws_access_key_id="AKIDLAMINAE2E0000000", aws_secret_access_key="lamina-e2e-dummy-secret",
        config=Config(read_timeout=1, connect_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"}),
    )

    for call in range(2):
        with pytest.raises((BotoCoreError, ClientError)):
            impatient.invoke(FunctionName=name, Payload=json.dumps({"sleep": 3, "id": f"call-{call}"}))

    # Each attempt runs, even when its caller gave up before the handler started.
    wait_for(lambda: len(records(recorder, f"{name}-start")) >= 6, RUNS_END_SECS,
             lambda: f"attempts started: {records(recorder, f'{name}-start')}")
    assert len(records(recorder, f"{name}-start")) == 6, "2 calls of 3 attempts each"
    assert wait_until_all_ended(recorder, name) == 6
    assert_full_concurrency(server, name)
    assert_only_idle_environments(server, path)
