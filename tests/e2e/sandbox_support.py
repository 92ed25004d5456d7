"""Shared pieces of the sandbox tests: the health document, the cgroups of a server's
environments, host mounts and processes, and "another function still works".

A server's environments live in one cgroup directory per environment below
`<hierarchy root>/<cgroupPath>/` (`cgroupPath` = `lamina/<instance>` from `/_lamina/health`).
On cgroup v1 each controller is its own hierarchy (`/sys/fs/cgroup/memory/...`,
`/sys/fs/cgroup/pids/...`, `/sys/fs/cgroup/freezer/...`, `/sys/fs/cgroup/cpuacct/...`); on
v2 there is one (`/sys/fs/cgroup/...`). Each environment's `/tmp` is a tmpfs mounted on the
host at `<data-dir>/envs/<env-id>/tmp`.

Everything that waits has a deadline, and every boto3 client here has short read timeouts,
so no test can hang.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from harness import REPO, LaminaServer
from helpers import REGION, RawRecorder, raw_request
from invoke_support import deploy, invoke

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The v1 controllers every environment has a directory in.
V1_CONTROLLERS = ("memory", "pids", "freezer", "cpuacct")
CGROUP_PATH_RE = re.compile(r"lamina/[A-Za-z0-9._-]+")
# Longest an invoke in these tests may take (the slowest function has Timeout 20 s).
READ_TIMEOUT_SECS = 40

OK_HANDLER = "def lambda_handler(event, context):\n    return 'ok'\n"


# --- clients ----------------------------------------------------------------------------------


def sandbox_client(server: LaminaServer | str, read_timeout: float = READ_TIMEOUT_SECS):
    """A boto3 Lambda client like `harness.make_client`, but with a short read timeout: a
    hostile function that wedges the server fails the test instead of hanging it."""
    url = server if isinstance(server, str) else server.url
    client = boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="AKIDLAMINAE2E0000000",
        aws_secret_access_key="lamina-e2e-dummy-secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=read_timeout, connect_timeout=5),
    )
    recorder = RawRecorder()
    client.meta.events.register("after-call.lambda", recorder)
    client._lamina_raw = recorder
    return client


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assert_other_function_works(lam) -> None:
    """A new trivial function deploys and answers "ok" on the same server: the server still
    serves, and still starts fresh environments."""
    name = unique_name("fn-still-ok")
    deploy(lam, name, OK_HANDLER, Timeout=10)
    out = invoke(lam, name)
    assert out.function_error is None, f"the trivial function failed after the hostile one: {out.payload!r}"
    assert out.json() == "ok"


# --- servers ----------------------------------------------------------------------------------


# Top-level directories an environment's root has a private one of (a tmpfs, or its own
# /proc and /dev): a host path below one of them is hidden from functions by that mount alone,
# whatever the rest of the jail does.
SANDBOX_PRIVATE_TOP_DIRS = ("tmp", "var", "opt", "etc", "dev", "proc")

# Where `unshadowed_dir` may put its directories, first fit: the repository's target/, the
# home directory, and the root directory (the sandbox tests run as root), so that one fits
# wherever the repository is cloned (CI clones to a path nobody chooses, maybe under /tmp).
UNSHADOWED_PARENTS = (REPO / "target" / "e2e-sandbox", Path.home() / ".cache" / "lamina-e2e-sandbox",
                      Path("/lamina-e2e-sandbox"))


def shadowed_in_sandbox(path: Path) -> bool:
    """Whether `path` (resolved) lies below a directory the sandbox has a private one of."""
    parts = Path(os.path.realpath(path)).parts
    return len(parts) > 1 and parts[1] in SANDBOX_PRIVATE_TOP_DIRS


def unshadowed_dir() -> Path:
    """A fresh directory that no private mount of the sandbox covers (not under /tmp, /var,
    ...): a server data dir there is hidden from functions only if the jail's root leaves the
    host's files out, which is what a test of that needs."""
    for parent in UNSHADOWED_PARENTS:
        if shadowed_in_sandbox(parent):
            continue
        root = parent / uuid.uuid4().hex[:12]
        try:
            root.mkdir(parents=True)
        except OSError:
            continue
        return root
    raise RuntimeError(f"no directory outside the sandbox's private mounts could be made: {UNSHADOWED_PARENTS}")


def remove_unshadowed_dir(root: Path) -> None:
    """Removes `root` (and its parent if that is left empty), unless something is still
    mounted below it: rmtree would descend into the mount (a leaked bind could reach host
    files), so a leak is left in place instead, for the cleanup tests to report."""
    if mounts_under(root):
        return
    shutil.rmtree(root, ignore_errors=True)
    try:
        root.parent.rmdir()
    except OSError:
        pass


# --- health -----------------------------------------------------------------------------------


def health(server: LaminaServer) -> dict:
    resp = raw_request(server.url, "GET", "/_lamina/health")
    assert resp.status == 200, resp
    return resp.json()


def machine_cgroups() -> str:
    """What the server should report for this machine: "v2" on a unified-only hierarchy,
    "v1" when the v1 controllers are mounted."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return "v2"
    if all((CGROUP_ROOT / c / "tasks").exists() for c in V1_CONTROLLERS):
        return "v1"
    return "none"


def cgroup_path(server: LaminaServer) -> str:
    """`cgroupPath` from health, checked against the machine: these tests need cgroups."""
    doc = health(server)
    assert doc.get("isolation") == "namespaces", f"health: {doc}"
    assert doc.get("cgroups") == machine_cgroups(), f"health: {doc} (this machine: {machine_cgroups()})"
    assert doc.get("cgroups") in ("v1", "v2"), f"these tests need cgroups; health: {doc}"
    path = doc.get("cgroupPath")
    assert isinstance(path, str) and CGROUP_PATH_RE.fullmatch(path), f"health: {doc}"
    return path


# --- cgroups ----------------------------------------------------------------------------------


def cgroup_hierarchies() -> list[Path]:
    """Mount points of every cgroup hierarchy (v1 and v2) on this machine."""
    roots = []
    for entry in mountinfo():
        if entry["fstype"] in ("cgroup", "cgroup2"):
            roots.append(Path(entry["mount_point"]))
    return roots


def controller_dirs(path: str) -> dict[str, Path]:
    """The instance's directory in each controller the environments use: `{controller: dir}`
    (v2: one entry, "unified")."""
    if machine_cgroups() == "v2":
        return {"unified": CGROUP_ROOT / path}
    return {c: CGROUP_ROOT / c / path for c in V1_CONTROLLERS}


def env_dirs(path: str) -> dict[str, list[str]]:
    """`{controller: sorted env-ids}`: the environment directories below the instance."""
    found = {}
    for controller, root in controller_dirs(path).items():
        try:
            found[controller] = sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            found[controller] = []
    return found


def env_ids(path: str) -> list[str]:
    """The live environments: env-ids present in every controller's instance directory."""
    dirs = list(env_dirs(path).values())
    return sorted(set(dirs[0]).intersection(*dirs[1:]))


def all_env_ids(path: str) -> list[str]:
    """Env-ids present in any controller's instance directory."""
    return sorted(set().union(*env_dirs(path).values()))


def leftover_cgroup_dirs(path: str) -> list[str]:
    """Every directory below `<hierarchy>/<path>/` in every cgroup hierarchy (including
    controllers the sandbox does not claim to use), as absolute paths."""
    left = []
    for root in cgroup_hierarchies():
        base = root / path
        if not base.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(base):
            left.extend(os.path.join(dirpath, d) for d in dirnames)
    return sorted(left)


def env_file(path: str, env_id: str, controller: str, name: str) -> Path:
    if machine_cgroups() == "v2":
        return CGROUP_ROOT / path / env_id / name
    return CGROUP_ROOT / controller / path / env_id / name


def freezer_state(path: str, env_id: str) -> str:
    """"FROZEN", "FREEZING" or "THAWED" (v2's `cgroup.events` mapped onto those names)."""
    if machine_cgroups() == "v2":
        events = env_file(path, env_id, "unified", "cgroup.events").read_text()
        return "FROZEN" if re.search(r"^frozen 1$", events, re.M) else "THAWED"
    return env_file(path, env_id, "freezer", "freezer.state").read_text().strip()


def cpu_usage_ns(path: str, env_id: str) -> int:
    """CPU time the environment's processes have used, in nanoseconds."""
    if machine_cgroups() == "v2":
        stat = env_file(path, env_id, "unified", "cpu.stat").read_text()
        return int(re.search(r"^usage_usec (\d+)$", stat, re.M).group(1)) * 1000
    return int(env_file(path, env_id, "cpuacct", "cpuacct.usage").read_text())


def processes_in(path: str) -> dict[int, str]:
    """`{pid: cmdline}` of every host process in the cgroup `path` (relative to a hierarchy
    root, e.g. `lamina/<instance>`) or below it, in any hierarchy."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            groups = Path(entry.path, "cgroup").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in groups.splitlines():
            group = line.split(":", 2)[2].strip("/")
            if group == path or group.startswith(path + "/"):
                found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
                break
    return found


def inner_pid(host_pid: int) -> int | None:
    """The pid `host_pid` has in its innermost PID namespace (`NSpid` in its status)."""
    try:
        status = Path(f"/proc/{host_pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    match = re.search(r"^NSpid:\s+(.*)$", status, re.M)
    return int(match.group(1).split()[-1]) if match else None


# --- mounts -----------------------------------------------------------------------------------


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mountinfo() -> list[dict[str, str]]:
    """This process's mount table (the host's: the tests and the server share it)."""
    entries = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" ")
        sep = fields.index("-")
        entries.append({
            "mount_point": _unescape(fields[4]),
            "fstype": fields[sep + 1],
            "source": _unescape(fields[sep + 2]),
            "line": line,
        })
    return entries


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below `directory` (resolved), e.g. environments' /tmp tmpfs."""
    base = os.path.realpath(directory)
    return sorted(
        e["mount_point"] for e in mountinfo()
        if e["mount_point"] == base or e["mount_point"].startswith(base + "/")
    )


def tmpfs_mounts_under(directory: Path) -> list[str]:
    base = os.path.realpath(directory)
    return sorted(
        e["mount_point"] for e in mountinfo()
        if e["fstype"] == "tmpfs" and e["mount_point"].startswith(base + "/")
    )


def scratch_dirs(server: LaminaServer) -> list[str]:
    """Entries of `<data-dir>/envs/`."""
    try:
        return sorted(os.listdir(server.data_dir / "envs"))
    except FileNotFoundError:
        return []


# --- waiting ----------------------------------------------------------------------------------


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Polls `predicate()` until it returns something truthy, which is returned; fails with
    `what()` (or `what`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"after {timeout} s: {what() if callable(what) else what}")
        time.sleep(interval)


def leftovers(server, path: str) -> dict:
    """Everything of the server's environments on the host (cgroup `path`), by kind."""
    return {
        "cgroup dirs": leftover_cgroup_dirs(path),
        "processes": processes_in(path),
        "mounts under the data dir": mounts_under(server.data_dir),
        "scratch dirs": scratch_dirs(server),
    }
