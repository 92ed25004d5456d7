"""One environment cannot exhaust the server's descriptors through its Runtime API listener:
the server holds at most 64 of its connections open (the rest wait in the kernel's backlog,
costing the server nothing), and the API keeps answering meanwhile. Nor can many environments
together: a cold start is throttled unless every environment could take its whole share and
still leave the server's reserve (`--fd-reserve`) free."""

import os
import resource
import threading
import time

from botocore.exceptions import ClientError

from function_support import fn_name  # noqa: F401 - fixture
from invoke_support import deploy, invoke

BOUND = 64  # lamina_exec::runtime_api::MAX_CONNECTIONS_PER_ENVIRONMENT
SHARE = BOUND + 16  # lamina_exec::descriptors::ENVIRONMENT_SHARE

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


def test_environments_leave_the_servers_descriptor_reserve_to_the_api(start_server, client_for, fn_name):
    reserve = 100
    server = start_server("--fd-reserve", str(reserve), "--standby-environments", "0")
    lam = client_for(server)
    deploy(lam, fn_name, HOARDER, Timeout=30)
    invoke(lam, fn_name, {"connections": 1, "hold_secs": 0})
    pid = server.proc.pid
    # Room for about three environments' shares above the reserve; six hoarders would take
    # more than the reserve and the room together if nothing held them back.
    limit = open_fds(pid) + reserve + 3 * SHARE + 10
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))

    outcomes: list = []

    def hoard():
        try:
            outcomes.append(invoke(client_for(server), fn_name, {"connections": 600, "hold_secs": 5}).json())
        except ClientError as e:
            outcomes.append((e.response["Error"]["Code"], e.response.get("Reason")))

    hoarders = [threading.Thread(target=hoard) for _ in range(6)]
    for t in hoarders:
        t.start()
    poller, peak, answered = client_for(server), 0, 0
    while any(t.is_alive() for t in hoarders):
        peak = max(peak, open_fds(pid))
        poller.list_functions()  # raises if the API cannot answer
        answered += 1
        time.sleep(0.05)
    for t in hoarders:
        t.join()

    held = [o for o in outcomes if isinstance(o, int)]
    throttled = [o for o in outcomes if not isinstance(o, int)]
    assert len(held) + len(throttled) == 6, outcomes
    assert held and all(h > BOUND for h in held), outcomes
    assert throttled and set(throttled) == {("TooManyRequestsException", "ConcurrentInvocationLimitExceeded")}, outcomes
    # The environments never ate into the reserve (the test's own API connections may).
    assert peak <= limit - reserve + 16, (peak, limit)
    assert answered > 0
    assert invoke(lam, fn_name, {"connections": 1, "hold_secs": 0}).json() == 1


API_HOARDER = """
import os
import socket
import time


def hoard(event):
    held = []
    for _ in range(event["connections"]):
        try:
            held.append(socket.create_connection(("127.0.0.1", event["port"]), timeout=3))
        except OSError:
            break
    time.sleep(event["hold_secs"])
    return len(held)


def lambda_handler(event, context):
    children = []
    for _ in range(event["processes"] - 1):
        pid = os.fork()
        if pid == 0:
            hoard(event)
            os._exit(0)
        children.append(pid)
    held = hoard(event)
    for pid in children:
        os.waitpid(pid, 0)
    return held
"""


def test_a_function_on_a_private_network_cannot_hoard_connections_to_the_api(start_server, client_for, fn_name):
    # On the host network (`--function-network host`, loud by design) a function can open
    # thousands of connections to the API's own listener; on its private network the API is
    # out of reach, so no number of processes can take the server's descriptors that way.
    server = start_server(
        "--function-network", "isolated", "--fd-reserve", "100", "--standby-environments", "0")
    lam = client_for(server)
    deploy(lam, fn_name, API_HOARDER, Timeout=30)
    warm = {"processes": 1, "connections": 1, "port": server.port, "hold_secs": 0}
    assert invoke(lam, fn_name, warm).json() == 0
    pid = server.proc.pid
    limit = open_fds(pid) + 1000
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))

    held: list = []
    hoarding = threading.Thread(target=lambda: held.append(invoke(
        client_for(server), fn_name, {"processes": 3, "connections": 700, "port": server.port, "hold_secs": 6})))
    hoarding.start()
    time.sleep(3)
    try:
        client_for(server).list_functions()
    finally:
        hoarding.join()
    assert held[0].json() == 0
    assert "Too many open files" not in server.log_tail()
