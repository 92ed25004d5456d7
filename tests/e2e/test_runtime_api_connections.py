"""One environment cannot exhaust the server's descriptors through its Runtime API listener:
the server holds at most 64 of its connections open (the rest wait in the kernel's backlog,
costing the server nothing), and the API keeps answering meanwhile."""

import os
import threading
import time

from function_support import fn_name  # noqa: F401 - fixture
from invoke_support import deploy, invoke

BOUND = 64  # lamina_exec::runtime_api::MAX_CONNECTIONS_PER_ENVIRONMENT

HOARDER = """
import os
import socket
import time


def lambda_handler(event, context):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split("/")[0].split(":")
    held, failures = [], 0
    while len(held) < event["connections"] and failures < 3:
        s = socket.socket()
        s.settimeout(0.2)
        try:
            s.connect((host, int(port)))
            held.append(s)
        except OSError:
            s.close()
            failures += 1
    time.sleep(event["hold_secs"])
    for s in held:
        s.close()
    return len(held)
"""


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_connections_to_the_runtime_api_are_bounded_per_environment(fresh_server, client_for, fn_name):
    lam = client_for(fresh_server)
    deploy(lam, fn_name, HOARDER, Timeout=30)
    invoke(lam, fn_name, {"connections": 1, "hold_secs": 0})  # warm: its own connection is open
    pid = fresh_server.proc.pid
    baseline = open_fds(pid)

    result: dict = {}
    hoarding = threading.Thread(
        target=lambda: result.update(out=invoke(lam, fn_name, {"connections": 600, "hold_secs": 4}))
    )
    hoarding.start()
    peak, answered = baseline, 0
    deadline = time.monotonic() + 60
    while hoarding.is_alive() and time.monotonic() < deadline:
        peak = max(peak, open_fds(pid))
        client_for(fresh_server).list_functions()
        answered += 1
        time.sleep(0.05)
    hoarding.join(timeout=60)

    held = result["out"].json()
    # The function got many more connections than the bound (accepted or in the backlog)...
    assert held > BOUND + 20, held
    # ...but the server holds only the bound's worth of them, plus a little of its own.
    assert peak - baseline <= BOUND + 16, (peak, baseline, held)
    assert answered > 0
    assert invoke(lam, fn_name, {"connections": 1, "hold_secs": 0}).json() == 1
