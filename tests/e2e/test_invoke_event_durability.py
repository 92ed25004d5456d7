"""No accepted `Event` invocation is lost (spec §8): an event is stored before its 202, and
runs at least once through SIGTERM, kill -9 and restarts on the same data dir; throttles
(a function at its concurrency cap) consume none of the retries.

Each handler posts its `context.aws_request_id` to a recorder on loopback, which counts them."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from harness import make_client
from invoke_support import deploy, fn_name, function_log, handler_zip, invoke  # noqa: F401 - fn_name: a fixture
from recorder_double import CLIENT_SOURCE, Recorder

CAP_ARGS = ("--max-environments-per-function", "1")
# Upper bounds, so a failure fails rather than hangs; on success each takes seconds.
ALL_RUN_SECS = 240
PROGRESS_SECS = 60
EXIT_SECS = 30
QUIET_SECS = 2.0


def deploy_reporting(lam, name: str, recorder: Recorder, run_secs: float = 0, **kwargs) -> None:
    """A function whose handler posts its request id under the tag `name`, then waits at the
    gate named in the event if there is one, or `run_secs`."""
    code = handler_zip(f"""
        import time
        from recorder_client import record, wait_gate

        def lambda_handler(event, context):
            record("{name}", {{"request_id": context.aws_request_id}})
            if "gate" in event:
                return wait_gate(event["gate"])
            time.sleep({run_secs})
            return "ok"
    """, {"recorder_client.py": CLIENT_SOURCE.encode()})
    deploy(lam, name, zip_bytes=code, Environment={"Variables": {"RECORDER_URL": recorder.url}}, **kwargs)


def received_ids(recorder: Recorder, tag: str) -> list[str]:
    return [json.loads(body)["request_id"] for body in recorder.records(tag)]


def wait_until(what: str, done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting until {what}"
        time.sleep(0.05)


class Invoker:
    """Sends up to `count` Event invokes one after another in a thread, keeping the request id
    of each 202; stops at the first failed call (the server went away), or when the `with`
    block ends. `send_all()` sends them all instead."""

    def __init__(self, server, name: str, count: int):
        self.lam = make_client(server.url)
        self.name = name
        self.count = count
        self.accepted: list[str] = []
        self.failed_calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for n in range(self.count):
            if self._stop.is_set():
                return
            try:
                out = self.lam.invoke(FunctionName=self.name, InvocationType="Event", Payload=json.dumps({"n": n}))
            except (BotoCoreError, ClientError):
                # The server is shutting down or was killed: this event was not accepted (its
                # row may exist all the same, if the 202 was lost with the server).
                self.failed_calls += 1
                return
            assert out["StatusCode"] == 202, out
            self.accepted.append(out["ResponseMetadata"]["RequestId"])

    def send_all(self) -> "Invoker":
        self._thread.start()
        self._thread.join(timeout=ALL_RUN_SECS)
        assert not self._thread.is_alive(), "the invoker did not finish"
        assert self.failed_calls == 0, "an invoke failed"
        return self

    def __enter__(self) -> "Invoker":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=PROGRESS_SECS)
        assert not self._thread.is_alive(), "the invoker did not stop"


def interrupt_midway(server, invoker: Invoker, recorder: Recorder, tag: str, how: signal.Signals) -> None:
    """Once some events are accepted and some ran, while events are still being sent and run,
    signals the server and waits for it to exit."""
    ran_before = len(recorder.records(tag))
    wait_until(
        "events are accepted and running",
        lambda: len(invoker.accepted) >= 50 and len(recorder.records(tag)) >= ran_before + 10,
        PROGRESS_SECS,
    )
    server.proc.send_signal(how)
    server.proc.wait(timeout=EXIT_SECS)


def test_every_accepted_event_runs_through_sigterm_kill_and_restarts(start_server, recorder, fn_name):
    first = start_server(*CAP_ARGS)
    # Slower to run than to accept, so events queue up behind the one environment.
    deploy_reporting(make_client(first.url), fn_name, recorder, run_secs=0.02)
    accepted: list[str] = []

    # 1. SIGTERM while events are sent and run: running ones finish, the rest stay queued.
    with Invoker(first, fn_name, 200) as invoker:
        interrupt_midway(first, invoker, recorder, fn_name, signal.SIGTERM)
    accepted += invoker.accepted
    assert first.proc.returncode == 0, first.log_tail()
    ran_at_sigterm = len(received_ids(recorder, fn_name))
    assert ran_at_sigterm < len(accepted), "the SIGTERM came too late to leave events queued"

    # 2. Restart: the queued events run; kill -9 while more are sent and run.
    second = start_server(*CAP_ARGS, data_dir=first.data_dir)
    with Invoker(second, fn_name, 150) as invoker:
        interrupt_midway(second, invoker, recorder, fn_name, signal.SIGKILL)
    accepted += invoker.accepted
    received_at_kill = len(received_ids(recorder, fn_name))

    # 3. Restart again: everything left runs, and the last events are sent.
    third = start_server(*CAP_ARGS, data_dir=first.data_dir)
    accepted += Invoker(third, fn_name, 500 - len(accepted)).send_all().accepted
    assert len(accepted) == len(set(accepted)) == 500

    wait_until(
        "every accepted event ran",
        lambda: set(accepted) <= set(received_ids(recorder, fn_name)),
        ALL_RUN_SECS,
    )
    time.sleep(QUIET_SECS)  # a repeated run would have happened by now
    received = received_ids(recorder, fn_name)
    repeated = {rid: received.count(rid) for rid in set(received) if received.count(rid) > 1}
    # With one environment, at most one event was mid-invoke at the kill -9; nothing else
    # may run twice (the SIGTERM let the running event finish).
    assert len(repeated) <= 1 and all(n == 2 for n in repeated.values()), repeated
    assert received_at_kill > ran_at_sigterm, "the restart after SIGTERM ran nothing before the kill"
    assert not [line for line in function_log(third, fn_name) if "discarded" in line]


def test_events_to_a_function_at_its_cap_all_run_once(start_server, recorder, fn_name):
    # The default retry delays (1 and 2 minutes): were a throttle to use up a retry, the events
    # would not all run within the wait below.
    server = start_server(*CAP_ARGS)
    lam = make_client(server.url)
    deploy_reporting(lam, fn_name, recorder)
    gate = f"gate-{fn_name}"
    held: dict = {}
    holder = threading.Thread(
        target=lambda: held.update(out=invoke(make_client(server.url), fn_name, {"gate": gate}))
    )
    holder.start()
    try:
        # The function's only environment is busy: every event is throttled until it is free.
        recorder.wait_for(fn_name, 1)
        invoker = Invoker(server, fn_name, 300).send_all()
        assert len(invoker.accepted) == 300
        assert len(recorder.records(fn_name)) == 1, "an event ran beside the held invocation"
    finally:
        recorder.open_gate(gate)
        holder.join(timeout=PROGRESS_SECS)
    assert held["out"].json() is True

    wait_until(
        "every event ran",
        lambda: set(invoker.accepted) <= set(received_ids(recorder, fn_name)),
        ALL_RUN_SECS,
    )
    time.sleep(QUIET_SECS)
    received = received_ids(recorder, fn_name)[1:]  # the first is the held invocation
    assert sorted(received) == sorted(invoker.accepted), "each event runs exactly once"
    assert not [line for line in function_log(server, fn_name) if "discarded" in line]
