"""A hostile function against the jail's confinement (issue 10, item 7): it runs under a
seccomp filter in the spirit of Docker's default profile (the calls that widen the kernel's
attack surface fail with EPERM; ordinary threads and processes still work), its
/proc/self/mountinfo names no path of the server's data directory, and the host's /proc/net
is masked. Each check runs inside a function deployed with boto3.

The module's server keeps its data directory in a fresh directory with a unique name (see
`unshadowed_dir`), so finding that name anywhere in mountinfo means a host path leaked,
whatever file system the directory lives on (a bind mount shows its source's path inside
that file system, not from `/`).
"""

import platform

import pytest

from function_support import publish_layer
from harness import LaminaServer, make_client
from invoke_support import deploy, invoke
from sandbox_support import (
    assert_other_function_works,
    remove_unshadowed_dir,
    sandbox_client,
    unique_name,
    unshadowed_dir,
)


@pytest.fixture(scope="module")
def module_server(request):
    root = unshadowed_dir()
    server = LaminaServer(root / "data", root / "lamina.log", []).start()
    request.node._lamina_module_server = server
    yield server
    server.stop()
    remove_unshadowed_dir(root)


@pytest.fixture(scope="module")
def slam(module_server):
    return sandbox_client(module_server)


@pytest.fixture
def name():
    return unique_name("fn-confined")


# --- the seccomp filter -----------------------------------------------------------------------

# Calls made by number through ctypes (libc has no wrapper for some, and Python 3.11 has no
# os.unshare); the numbers of the machine the function runs on.
SYSCALLS = {
    "x86_64": {"clone": 56, "clone3": 435, "unshare": 272, "ptrace": 101, "keyctl": 250,
               "bpf": 321, "mount": 165, "personality": 135},
    "aarch64": {"clone": 220, "clone3": 435, "unshare": 97, "ptrace": 117, "keyctl": 219,
                "bpf": 280, "mount": 40, "personality": 92},
}

HOSTILE_CALLS = """
import ctypes
import errno
import os
import subprocess
import threading

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
PTRACE_TRACEME = 0
KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_SESSION_KEYRING = -3
ADDR_NO_RANDOMIZE = 0x0040000


# Makes the call in a child process, so a call the filter let through changes nothing here
# (a new namespace, a tracer); returns "ok" or the errno's name.
def call(nr, *args):
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        ctypes.set_errno(0)
        ret = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
        if ret == 0 and nr == NR["clone"]:
            os._exit(0)  # the new process of a clone the filter let through
        result = "ok" if ret != -1 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
        os.write(writer, result.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as f:
        result = f.read()
    os.waitpid(pid, 0)
    return result


def lambda_handler(event, context):
    global NR
    NR = event["nr"]
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\\n").split(":\\t", 1) for line in f if ":\\t" in line)
    denied = {
        "unshare(CLONE_NEWUSER)": call(NR["unshare"], CLONE_NEWUSER),
        "clone(CLONE_NEWUSER)": call(NR["clone"], CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
        "mount": call(NR["mount"], 0, 0, 0, 0, 0),
        "ptrace(PTRACE_TRACEME)": call(NR["ptrace"], PTRACE_TRACEME, 0, 0, 0),
        "keyctl(GET_KEYRING_ID)": call(NR["keyctl"], KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0),
        "bpf": call(NR["bpf"], 0, 0, 0),
        "personality(ADDR_NO_RANDOMIZE)": call(NR["personality"], ADDR_NO_RANDOMIZE),
        "clone3": call(NR["clone3"], 0, 0),
    }

    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(i * i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, fork_status = os.waitpid(pid, 0)
    true = subprocess.run(["/bin/true"], timeout=10)
    echo = subprocess.run(["/bin/sh", "-c", "echo from-a-shell"], capture_output=True, text=True, timeout=10)
    return {
        "Seccomp": status.get("Seccomp"),
        "NoNewPrivs": status.get("NoNewPrivs"),
        "denied": denied,
        "personality query": call(NR["personality"], 0xFFFFFFFF),
        "threads": sorted(results),
        "fork exit code": os.waitstatus_to_exitcode(fork_status),
        "true": true.returncode,
        "shell": echo.stdout.strip(),
    }
"""


def test_the_seccomp_filter_refuses_hostile_calls_and_keeps_threads_and_processes(slam, name):
    nr = SYSCALLS[platform.machine()]
    deploy(slam, name, HOSTILE_CALLS, Timeout=30)

    out = invoke(slam, name, {"nr": nr})

    assert out.function_error is None, out.payload
    got = out.json()
    assert got["Seccomp"] == "2", got
    assert got["NoNewPrivs"] == "1", got
    # EPERM, as Docker answers them (not a kill, so the function goes on to report it).
    for call in ("unshare(CLONE_NEWUSER)", "clone(CLONE_NEWUSER)", "mount", "ptrace(PTRACE_TRACEME)",
                 "keyctl(GET_KEYRING_ID)", "bpf", "personality(ADDR_NO_RANDOMIZE)"):
        assert got["denied"][call] == "EPERM", (call, got)
    # clone3 keeps its flags out of a filter's reach: ENOSYS makes libc fall back to clone.
    assert got["denied"]["clone3"] == "ENOSYS", got
    assert got["personality query"] == "ok", got
    assert got["threads"] == [0, 1, 4, 9], got
    assert got["fork exit code"] == 7, got
    assert got["true"] == 0, got
    assert got["shell"] == "from-a-shell", got
    assert_other_function_works(slam)


# --- mountinfo --------------------------------------------------------------------------------

READ_MOUNTINFO = """
def lambda_handler(event, context):
    with open("/proc/self/mountinfo") as f:
        return f.read()
"""


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_mountinfo_names_no_path_of_the_data_directory(slam, module_server, name, layers):
    arns = [
        publish_layer(slam, unique_name(f"layer-confined-{i}"), {f"python/mod{i}.py": b"X = 1\n"})[0]["LayerVersionArn"]
        for i in range(layers)
    ]
    deploy(slam, name, READ_MOUNTINFO, Layers=arns)
    unique = module_server.data_dir.parent.name
    assert len(unique) >= 12, unique

    out = invoke(slam, name)

    assert out.function_error is None, out.payload
    mountinfo = out.json()
    mount_points = [line.split()[4] for line in mountinfo.splitlines()]
    # The code, the runtime, the interpreter and the layers are all mounted...
    for where in ("/var/task", "/var/runtime", "/var/lang", "/opt"):
        assert where in mount_points, mountinfo
    # ...but neither the data directory nor its trees show.
    assert unique not in mountinfo, mountinfo
    assert "trees/sha256" not in mountinfo, mountinfo
    assert str(module_server.data_dir) not in mountinfo, mountinfo


# --- /proc/net --------------------------------------------------------------------------------

READ_PROC_NET = """
import errno


def lambda_handler(event, context):
    out = {}
    for path in event["paths"]:
        try:
            with open(path) as f:
                out[path] = f.read()
        except OSError as e:
            out[path] = errno.errorcode[e.errno]
    return out
"""


def _listening_port_rows(table: str, port: int) -> list[str]:
    """Rows of a /proc/net/tcp table whose local address has this port (hex, as the kernel
    writes it)."""
    return [row for row in table.splitlines() if f":{port:04X} " in row]


def test_proc_net_shows_the_environments_own_network_only(slam, module_server, name):
    # A private network per environment (the default): /proc/net is the environment's own.
    deploy(slam, name, READ_PROC_NET)
    # The host's table does list the server, so its absence below means something.
    with open("/proc/net/tcp") as f:
        assert _listening_port_rows(f.read(), module_server.port)

    got = invoke(slam, name, {"paths": ["/proc/net/tcp"]}).json()

    table = got["/proc/net/tcp"]
    assert not _listening_port_rows(table, module_server.port), table
    assert _listening_port_rows(table, 9001), table
    assert_other_function_works(slam)


def test_proc_net_is_masked_on_the_hosts_network(start_server, name):
    server = start_server("--function-network", "host")
    lam = make_client(server.url)
    deploy(lam, name, READ_PROC_NET)
    paths = ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/unix"]

    got = invoke(lam, name, {"paths": paths}).json()

    for path in paths:
        assert got[path] == "ENOTDIR", (path, got[path][:500])


def test_the_hosts_sockets_do_not_show_in_proc_self_net(start_server, name):
    # With a private network per environment (on the host's, only /proc/net is masked).
    server = start_server("--function-network", "isolated")
    lam = make_client(server.url)
    deploy(lam, name, READ_PROC_NET)

    got = invoke(lam, name, {"paths": ["/proc/self/net/tcp"]}).json()

    table = got["/proc/self/net/tcp"]
    assert not _listening_port_rows(table, server.port), table
    # The environment's own socket table: its Runtime API on its loopback.
    assert _listening_port_rows(table, 9001), table
