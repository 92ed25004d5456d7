"""Hostile functions against the sandbox: each is deployed and invoked through the API, is
contained as AWS contains it, and afterwards the server still serves another function.

Already covered elsewhere, not repeated here:
  - writing to /opt or /var/task fails with EROFS: test_runtime_filesystem.py
  - polling another environment's Runtime API is refused: test_runtime_api_isolation.py
  - a function that never returns is stopped at its timeout (Sandbox.Timedout) and the next
    invoke gets a fresh environment: test_invoke_faults.py

The module's server keeps its data directory where no private mount of the sandbox covers it
(not under /tmp or /var, wherever the repository is cloned): a data dir below /tmp would be
hidden from functions by their private /tmp alone, which would prove nothing about the jail's
root.

Tests that watch one server's cgroups (freezing, the recursive fork bomb) run on a server
of their own, so every environment directory there is theirs.
"""

import concurrent.futures
import os
import re
import time
import uuid
from pathlib import Path

import pytest

from harness import LaminaServer
from invoke_support import deploy, invoke
from sandbox_support import (
    all_env_ids,
    assert_other_function_works,
    cgroup_path,
    cpu_usage_ns,
    env_dirs,
    env_file,
    env_ids,
    freezer_state,
    health,
    inner_pid,
    machine_cgroups,
    processes_in,
    remove_unshadowed_dir,
    sandbox_client,
    shadowed_in_sandbox,
    unique_name,
    unshadowed_dir,
    wait_for,
)

SANDBOX_UID_MIN = 900_000
# Standby sandboxes (jails waiting in fresh cgroups) are turned off: these tests count the
# environment directories of the functions they invoke.
NO_STANDBY = ("--standby-environments", "0")
FREEZE_DEADLINE_SECS = 1.5
GONE_DEADLINE_SECS = 10


@pytest.fixture(scope="module")
def module_server(request):
    root = unshadowed_dir()
    server = LaminaServer(root / "data", root / "lamina.log", list(NO_STANDBY)).start()
    request.node._lamina_module_server = server
    yield server
    server.stop()
    remove_unshadowed_dir(root)


@pytest.fixture(scope="module")
def slam(module_server):
    return sandbox_client(module_server)


@pytest.fixture
def own_server(start_server):
    """A server of this test alone; stopped with SIGTERM (so it can end its environments)
    before the fixture's SIGKILL."""
    server = start_server(*NO_STANDBY)
    yield server
    server.stop()


@pytest.fixture
def name():
    return unique_name("fn-hostile")


# --- isolation mode ---------------------------------------------------------------------------


def test_health_reports_namespaces_and_the_cgroup_version(module_server):
    doc = health(module_server)

    assert doc["isolation"] == "namespaces", doc
    assert doc["cgroups"] == machine_cgroups(), doc
    assert doc["cgroups"] in ("v1", "v2"), doc
    assert re.fullmatch(r"lamina/[A-Za-z0-9._-]+", doc["cgroupPath"]), doc


def test_the_banner_names_the_isolation_mode(module_server):
    assert "isolation: namespaces" in module_server.log_tail()


# --- cgroups ---------------------------------------------------------------------------------


def test_each_environment_has_a_cgroup_limited_to_its_memory_size_with_a_pids_limit(own_server):
    lam = sandbox_client(own_server)
    path = cgroup_path(own_server)
    name = unique_name("fn-cgroup")
    deploy(lam, name, LIST_PROCESSES, MemorySize=256)

    inside = invoke(lam, name).json()

    envs = env_ids(path)
    assert len(envs) == 1, env_dirs(path)
    env = envs[0]
    assert re.fullmatch(r"[A-Za-z0-9._-]+", env), env
    if machine_cgroups() == "v2":
        memory, pids = env_file(path, env, "unified", "memory.max"), env_file(path, env, "unified", "pids.max")
    else:
        memory, pids = env_file(path, env, "memory", "memory.limit_in_bytes"), env_file(path, env, "pids", "pids.max")
    assert int(memory.read_text()) == 256 << 20
    assert pids.read_text().strip().isdigit(), f"no pids limit: {pids.read_text()!r}"
    # Every process the function saw is in the environment's cgroup, seen from the host.
    on_host = processes_in(f"{path}/{env}")
    assert set(inside["pids"]) <= {inner_pid(pid) for pid in on_host}, (on_host, inside)
    assert_other_function_works(lam)


# --- privileges -------------------------------------------------------------------------------

PRIVILEGES = """
import errno
import os
import resource


def lambda_handler(event, context):
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    try:
        os.setuid(0)
        setuid = "succeeded"
    except OSError as e:
        setuid = errno.errorcode[e.errno]
    return {
        "resuid": os.getresuid(),
        "resgid": os.getresgid(),
        "groups": os.getgroups(),
        "CapEff": status.get("CapEff"),
        "CapPrm": status.get("CapPrm"),
        "CapBnd": status.get("CapBnd"),
        "NoNewPrivs": status.get("NoNewPrivs"),
        "setuid0": setuid,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC),
    }
"""


def test_the_function_runs_unprivileged_with_aws_rlimits(slam, name):
    deploy(slam, name, PRIVILEGES)

    got = invoke(slam, name).json()

    assert all(uid >= SANDBOX_UID_MIN for uid in got["resuid"]), got
    assert all(gid >= SANDBOX_UID_MIN for gid in got["resgid"]), got
    assert all(gid >= SANDBOX_UID_MIN for gid in got["groups"]), got
    assert got["CapEff"] == "0000000000000000", got
    assert got["CapPrm"] == "0000000000000000", got
    assert got["CapBnd"] == "0000000000000000", got
    assert got["NoNewPrivs"] == "1", got
    assert got["setuid0"] == "EPERM", got
    assert got["nofile"] == [1024, 1024], got
    assert got["nproc"] == [1024, 1024], got
    assert_other_function_works(slam)


# --- the root file system ---------------------------------------------------------------------

TRY_CREATE = """
import errno
import os


def lambda_handler(event, context):
    results = {}
    for path in event["paths"]:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            results[path] = errno.errorcode[e.errno]
            continue
        # Outside a sandbox this wrote to the host: undo it, and report.
        os.close(fd)
        os.unlink(path)
        results[path] = "created"
    return results
"""


def test_the_root_file_system_is_read_only(slam, name):
    deploy(slam, name, TRY_CREATE)
    tag = uuid.uuid4().hex[:12]
    paths = [f"/lamina-e2e-{tag}", f"/etc/lamina-e2e-{tag}", f"/usr/lamina-e2e-{tag}"]

    got = invoke(slam, name, {"paths": paths}).json()

    assert set(got) == set(paths), got
    for path, result in got.items():
        assert result in ("EROFS", "EACCES"), f"{path}: {result}"
    assert_other_function_works(slam)


PROBE_PATHS = """
import errno
import os


def _try(call):
    try:
        call()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]


def lambda_handler(event, context):
    results = {}
    for path in event["paths"]:
        def read():
            with open(path, "rb") as f:
                f.read(16)
        results[path] = {
            "exists": os.path.exists(path),
            "list": _try(lambda: os.listdir(path)),
            "read": _try(read),
        }
    return results
"""


def test_the_servers_data_directory_is_invisible(slam, module_server, name):
    deploy(slam, name, PROBE_PATHS)
    data = module_server.data_dir
    paths = [str(data), str(data / "lamina.db"), str(data / "envs"), str(data.parent)]
    assert not any(shadowed_in_sandbox(Path(p)) for p in paths), paths

    got = invoke(slam, name, {"paths": paths}).json()

    for path in paths:
        assert got[path]["exists"] is False, f"{path}: {got[path]}"
        assert got[path]["list"] != "ok", f"{path}: {got[path]}"
        assert got[path]["read"] != "ok", f"{path}: {got[path]}"
    assert_other_function_works(slam)


def test_root_home_and_etc_shadow_are_absent_or_unreadable(slam, name):
    deploy(slam, name, PROBE_PATHS)

    got = invoke(slam, name, {"paths": ["/root", "/etc/shadow"]}).json()

    root, shadow = got["/root"], got["/etc/shadow"]
    assert root["exists"] is False or root["list"] == "EACCES", root
    assert shadow["exists"] is False or shadow["read"] == "EACCES", shadow
    assert_other_function_works(slam)


READ_PASSWD = """
def lambda_handler(event, context):
    with open("/etc/passwd") as f:
        return f.read()
"""


def test_etc_passwd_is_the_sandboxs_not_the_hosts(slam, name):
    deploy(slam, name, READ_PASSWD)
    with open("/etc/passwd") as f:
        host = f.read()

    out = invoke(slam, name)

    assert out.function_error is None, out.payload
    passwd = out.json()
    assert passwd != host
    assert any(line.startswith("sbx_user1051:") for line in passwd.splitlines()), passwd
    assert_other_function_works(slam)


# --- processes --------------------------------------------------------------------------------

LIST_PROCESSES = """
import os


def lambda_handler(event, context):
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    cmdlines = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdlines[pid] = f.read().replace(b"\\0", b" ").decode(errors="replace")
        except OSError:
            pass
    return {"pid": os.getpid(), "pids": pids, "cmdlines": cmdlines}
"""


def test_the_hosts_processes_are_invisible(slam, module_server, name):
    deploy(slam, name, LIST_PROCESSES)
    server_pid = module_server.proc.pid

    got = invoke(slam, name).json()

    assert got["pid"] < 10, got
    assert 1 in got["pids"], got
    assert len(got["pids"]) < 10, got
    assert server_pid not in got["pids"], got
    assert not [c for c in got["cmdlines"].values() if "lamina" in c and " serve " in c], got
    assert_other_function_works(slam)


# --- another function's /tmp ------------------------------------------------------------------

WRITE_SECRET = """
def lambda_handler(event, context):
    with open("/tmp/" + event["name"], "w") as f:
        f.write(event["secret"])
    return "written"
"""

HUNT_SECRET = """
import errno
import os


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return "error:" + errno.errorcode[e.errno]


def lambda_handler(event, context):
    reads = {path: _read(path) for path in event["paths"]}
    hits = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            path = f"/proc/{pid}/root/tmp/{event['name']}"
            if not _read(path).startswith("error:"):
                hits.append(path)
    return {"reads": reads, "proc_root_hits": hits}
"""


def test_another_functions_tmp_is_unreachable(slam, module_server, name):
    writer, hunter = f"{name}-a", f"{name}-b"
    deploy(slam, writer, WRITE_SECRET)
    deploy(slam, hunter, HUNT_SECRET)
    secret_name, secret = f"secret-{uuid.uuid4().hex}", uuid.uuid4().hex
    assert invoke(slam, writer, {"name": secret_name, "secret": secret}).json() == "written"
    # The writer's environment stays warm. From the host, find its /tmp both ways: the
    # scratch directory under the data dir, and through its processes' roots.
    on_host = sorted((module_server.data_dir / "envs").glob(f"*/tmp/{secret_name}"))
    assert len(on_host) == 1, f"the writer's secret is not in exactly one scratch dir: {on_host}"
    through_roots = [
        p for p in (f"/proc/{pid}/root/tmp/{secret_name}" for pid in _host_pids())
        if _host_reads(p) == secret
    ]
    assert through_roots, "no host process has the writer's /tmp as its /tmp"
    paths = [f"/tmp/{secret_name}", str(on_host[0]), *through_roots]

    got = invoke(slam, hunter, {"name": secret_name, "paths": paths}).json()

    for path in paths:
        assert got["reads"][path].startswith("error:"), f"the hunter read {path}: {got['reads'][path]!r}"
    assert got["proc_root_hits"] == [], got
    assert_other_function_works(slam)


def _host_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _host_reads(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


# --- /tmp size --------------------------------------------------------------------------------

FILL_TMP = """
import errno
import os


def lambda_handler(event, context):
    chunk = b"x" * (1 << 20)
    limit = event["mb"] << 20
    written, error = 0, None
    fd = os.open("/tmp/fill", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < limit:
            try:
                written += os.write(fd, chunk)
            except OSError as e:
                error = errno.errorcode[e.errno]
                break
    finally:
        os.close(fd)
        os.unlink("/tmp/fill")
    return {"written": written, "error": error}
"""


def test_tmp_is_limited_to_the_ephemeral_storage_size(slam, name):
    # /tmp is a tmpfs whose pages count against the memory limit: 2048 MB of memory so the
    # 512 MB of storage is what stops the writes.
    deploy(slam, name, FILL_TMP, EphemeralStorage={"Size": 512}, MemorySize=2048, Timeout=20)

    got = invoke(slam, name, {"mb": 600}).json()

    assert got["error"] == "ENOSPC", got
    assert 448 << 20 <= got["written"] <= 512 << 20, got
    assert_other_function_works(slam)


# --- fork bombs -------------------------------------------------------------------------------

FORK_UNTIL_REFUSED = """
import ctypes
import errno
import os
import signal
import time

PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


def lambda_handler(event, context):
    children, error = [], None
    try:
        # The cap only matters outside a sandbox: it stops the bomb from taking the host.
        while len(children) < event["cap"]:
            try:
                pid = os.fork()
            except OSError as e:
                error = errno.errorcode.get(e.errno, str(e.errno))
                break
            if pid == 0:
                try:
                    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                    time.sleep(event["sleep"])
                finally:
                    os._exit(0)
            children.append(pid)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            os.waitpid(pid, 0)
    return {"forked": len(children), "error": error}
"""


def test_a_fork_bomb_hits_the_process_limit(slam, name):
    deploy(slam, name, FORK_UNTIL_REFUSED, MemorySize=1024, Timeout=20)

    out = invoke(slam, name, {"cap": 1500, "sleep": 60})

    assert out.function_error is None, out.payload
    got = out.json()
    assert got["error"] == "EAGAIN", got
    assert 0 < got["forked"] < 1100, got
    assert_other_function_works(slam)


RECURSIVE_FORK_BOMB = """
import os
import resource


def lambda_handler(event, context):
    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    if os.getuid() == 0 or soft == resource.RLIM_INFINITY or soft > 4096:
        # Unbounded, this would take the whole machine: refuse, and let the test fail.
        return {"refused": f"uid {os.getuid()}, RLIMIT_NPROC {soft}"}
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""


def test_a_recursive_fork_bomb_is_stopped_and_leaves_nothing(own_server):
    lam = sandbox_client(own_server)
    # Checked first: the bomb is only ever set off where cgroups contain it.
    path = cgroup_path(own_server)
    name = unique_name("fn-bomb")
    deploy(lam, name, RECURSIVE_FORK_BOMB, MemorySize=1024, Timeout=3)

    out = invoke(lam, name, LogType="Tail")

    assert out.function_error == "Unhandled", out.payload
    got = out.json()
    request_id = re.match(r"START RequestId: (\S+) ", out.log_result).group(1)
    # 1,024 processes (the pids limit) that each dirty their copy of the interpreter's pages can
    # fill 1,024 MB before the 3 s are up, depending on the machine: either limit stopping the
    # bomb is containment, and each is reported with AWS's own words.
    assert got in (
        {"errorType": "Sandbox.Timedout",
         "errorMessage": f"RequestId: {request_id} Error: Task timed out after 3.00 seconds"},
        {"errorType": "Runtime.OutOfMemory",
         "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"},
    ), got
    wait_for(lambda: not processes_in(path), GONE_DEADLINE_SECS,
             lambda: f"processes of the bomb's environment remain: {processes_in(path)}")
    wait_for(lambda: not all_env_ids(path), GONE_DEADLINE_SECS,
             lambda: f"the bomb's environment cgroup remains: {env_dirs(path)}")
    assert_other_function_works(lam)


# --- memory -----------------------------------------------------------------------------------

HOG = """
INVOCATIONS = 0


def lambda_handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    if event.get("mb"):
        hog = b"x" * (event["mb"] << 20)  # every page written
        return {"invocations": INVOCATIONS, "allocated": len(hog)}
    return {"invocations": INVOCATIONS}
"""


def test_allocating_past_the_memory_size_is_killed_and_reported(slam, name):
    deploy(slam, name, HOG, MemorySize=128, Timeout=20)
    assert [invoke(slam, name).json() for _ in range(2)] == [{"invocations": 1}, {"invocations": 2}]

    out = invoke(slam, name, {"mb": 600}, LogType="Tail")

    assert out.function_error == "Unhandled", out.payload
    request_id = re.match(r"START RequestId: (\S+) ", out.log_result).group(1)
    assert out.json() == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    report = [line for line in out.log_result.splitlines() if line.startswith("REPORT RequestId: ")]
    assert len(report) == 1, out.log_result
    assert f"REPORT RequestId: {request_id}\t" in report[0] + "\t", report
    assert "Memory Size: 128 MB" in report[0], report
    assert "Status: error" in report[0], report
    assert "Error Type: Runtime.OutOfMemory" in report[0], report
    # The next invoke runs in a fresh environment: module state starts over.
    after = invoke(slam, name)
    assert after.function_error is None, after.payload
    assert after.json() == {"invocations": 1}
    assert_other_function_works(slam)


TMP_FILLER = """
import os

def tmp_bytes():
    st = os.statvfs("/tmp")
    return (st.f_blocks - st.f_bfree) * st.f_frsize

def lambda_handler(event, context):
    found = tmp_bytes()
    chunk = b"x" * (1 << 20)
    with open(f"/tmp/fill-{context.aws_request_id}", "wb") as f:
        for _ in range(event.get("fill_mb", 0)):
            f.write(chunk)
            f.flush()
    if event.get("hog"):
        hog = []
        while True:
            hog.append(b"y" * (8 << 20))
    return found
"""


def test_a_kept_tmp_never_grows_past_half_the_memory_over_oom_resets(own_server):
    # /tmp is kept across a reset (as on AWS), but its tmpfs pages were charged to the reset
    # environment's cgroup: the next environment takes it over only if it holds at most half
    # the function's memory, with its memory limit lowered by what it holds.
    lam = sandbox_client(own_server)
    path = cgroup_path(own_server)
    name = unique_name("fn-tmp")
    deploy(lam, name, TMP_FILLER, MemorySize=128, EphemeralStorage={"Size": 1024}, Timeout=20)
    found = []
    for _ in range(3):
        # Fills /tmp until the memory limit kills it, then looks at what the next one finds.
        killed = invoke(lam, name, {"fill_mb": 1000})
        assert killed.function_error == "Unhandled", killed.payload
        found.append(invoke(lam, name).json())
    assert all(n <= 64 << 20 for n in found), [n >> 20 for n in found]

    # A smaller kept /tmp is taken over, and the environment gets that much less memory.
    killed = invoke(lam, name, {"fill_mb": 40, "hog": True})
    assert killed.function_error == "Unhandled", killed.payload
    kept = invoke(lam, name).json()
    assert 39 << 20 <= kept <= 64 << 20, kept >> 20
    envs = env_ids(path)
    assert len(envs) == 1, envs
    if machine_cgroups() == "v2":
        memory = env_file(path, envs[0], "unified", "memory.max")
    else:
        memory = env_file(path, envs[0], "memory", "memory.limit_in_bytes")
    assert int(memory.read_text()) == (128 << 20) - kept
    assert_other_function_works(lam)


# --- frozen when idle -------------------------------------------------------------------------

SPINNER = """
import threading
import time

SPINNERS = []


def spin():
    while True:
        pass


def lambda_handler(event, context):
    if not SPINNERS:
        thread = threading.Thread(target=spin, daemon=True)
        thread.start()
        SPINNERS.append(thread)
    time.sleep(event.get("sleep", 0))
    return {"spinners": len(SPINNERS), "alive": SPINNERS[0].is_alive()}
"""


def _wait_frozen(path: str, env: str) -> None:
    wait_for(lambda: freezer_state(path, env) == "FROZEN", FREEZE_DEADLINE_SECS,
             lambda: f"environment {env} is {freezer_state(path, env)} after the invoke returned")


def _idle_cpu_ns(path: str, env: str, secs: float = 0.5) -> int:
    before = cpu_usage_ns(path, env)
    time.sleep(secs)
    return cpu_usage_ns(path, env) - before


def test_an_idle_environment_is_frozen_and_thawed_for_the_next_invoke(own_server):
    lam = sandbox_client(own_server)
    path = cgroup_path(own_server)
    name = unique_name("fn-spinner")
    deploy(lam, name, SPINNER, Timeout=10)

    assert invoke(lam, name).json() == {"spinners": 1, "alive": True}

    envs = env_ids(path)
    assert len(envs) == 1, envs
    env = envs[0]
    _wait_frozen(path, env)
    used = _idle_cpu_ns(path, env)
    assert used < 20_000_000, f"a frozen environment with a busy thread used {used / 1e6:.1f} ms of CPU in 0.5 s"

    # The next invoke thaws it: the busy thread runs again while the handler sleeps.
    before = cpu_usage_ns(path, env)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(invoke, lam, name, {"sleep": 1.5})
        wait_for(lambda: freezer_state(path, env) == "THAWED" or running.done(), 1.5,
                 "the environment was not thawed for the invoke")
        assert not running.done(), "the invoke ended before the environment was seen thawed"
        assert freezer_state(path, env) == "THAWED"
        out = running.result(timeout=30)
    assert out.function_error is None, out.payload
    assert out.json() == {"spinners": 1, "alive": True}
    used = cpu_usage_ns(path, env) - before
    assert used >= 500_000_000, f"the busy thread used only {used / 1e6:.1f} ms of CPU while thawed for 1.5 s"
    assert env_ids(path) == [env]

    _wait_frozen(path, env)
    used = _idle_cpu_ns(path, env)
    assert used < 20_000_000, f"frozen again, the environment used {used / 1e6:.1f} ms of CPU in 0.5 s"
    assert_other_function_works(lam)
