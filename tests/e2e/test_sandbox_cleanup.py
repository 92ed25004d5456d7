"""Nothing an environment leaves on the host outlives it: its cgroup directories (one per
controller below `<hierarchy>/<cgroupPath>/`), its /tmp tmpfs (mounted on the host at
`<data-dir>/envs/<env-id>/tmp`), its scratch directory and its processes. Neither when it
ends normally (idle reaping), nor when the server dies by SIGKILL: the next server on the
same data directory removes what the dead one left, before serving.

Each test has its own servers; every server is stopped at the end of its test (SIGTERM) so
no environment outlives the test either.
"""

import json

import pytest

from sandbox_support import (
    OK_HANDLER,
    assert_other_function_works,
    cgroup_path,
    env_dirs,
    env_ids,
    leftovers,
    mounts_under,
    processes_in,
    sandbox_client,
    scratch_dirs,
    tmpfs_mounts_under,
    unique_name,
    wait_for,
)
from invoke_support import deploy, invoke

LEFTOVER_DEADLINE_SECS = 5
REAP_DEADLINE_SECS = 15

COUNTER = """
import time

CALLS = 0


def lambda_handler(event, context):
    global CALLS
    CALLS += 1
    time.sleep(event.get("sleep", 0))
    return CALLS
"""


@pytest.fixture
def servers(start_server):
    """`start_server`, with every server it started stopped (SIGTERM) at teardown before the
    fixture's SIGKILL."""
    started = []

    def start(*args, **kwargs):
        server = start_server(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def nothing_left(server, path: str) -> bool:
    return not any(leftovers(server, path).values())


# Standby sandboxes (jails waiting in fresh cgroups) are turned off where a test counts the
# environment directories of the functions it invokes.
NO_STANDBY = ("--standby-environments", "0")


def test_the_cgroup_instance_is_stable_for_a_data_dir_and_distinct_between_data_dirs(servers):
    first = servers(*NO_STANDBY)
    path = cgroup_path(first)
    lam = sandbox_client(first)
    name = unique_name("fn-instance")
    deploy(lam, name, COUNTER)
    assert invoke(lam, name).json() == 1
    warm = env_ids(path)
    assert len(warm) == 1, warm

    # Another server on another data dir: its own instance, and its start-up clean-up does
    # not touch this server's environments.
    other = servers(*NO_STANDBY)
    other_path = cgroup_path(other)
    assert other_path != path
    assert env_ids(path) == warm
    assert invoke(lam, name).json() == 2
    assert env_ids(other_path) == []

    first.stop()
    restarted = servers(*NO_STANDBY, data_dir=first.data_dir)
    assert cgroup_path(restarted) == path


def test_an_environment_reaped_when_idle_leaves_nothing(servers):
    server = servers("--idle-timeout-secs", "1", *NO_STANDBY)
    path = cgroup_path(server)
    lam = sandbox_client(server)
    name = unique_name("fn-reaped")
    deploy(lam, name, OK_HANDLER)

    assert invoke(lam, name).json() == "ok"

    envs = env_ids(path)
    assert len(envs) == 1, env_dirs(path)
    assert len(tmpfs_mounts_under(server.data_dir / "envs")) == 1, mounts_under(server.data_dir)
    assert len(scratch_dirs(server)) == 1, scratch_dirs(server)
    assert processes_in(path), "no process in the environment's cgroup"
    wait_for(lambda: nothing_left(server, path), REAP_DEADLINE_SECS,
             lambda: f"after the idle timeout, the environment left: {leftovers(server, path)}")
    assert invoke(lam, name).json() == "ok"


def test_after_sigkill_with_live_environments_a_restart_leaves_nothing(servers):
    # With the default standby sandboxes: those left by the dead server must go too.
    server = servers()
    path = cgroup_path(server)
    lam = sandbox_client(server)
    idle, busy = unique_name("fn-idle"), unique_name("fn-busy")
    deploy(lam, idle, OK_HANDLER)
    deploy(lam, busy, COUNTER, Timeout=60)
    # One environment idle (frozen), one in the middle of an invoke.
    assert invoke(lam, idle).json() == "ok"
    started = lam.invoke(FunctionName=busy, InvocationType="Event", Payload=json.dumps({"sleep": 30}).encode())
    assert started["StatusCode"] == 202
    # Two environments with a /tmp each, plus the standby sandboxes (a cgroup, no /tmp).
    wait_for(lambda: len(env_ids(path)) >= 4 and len(tmpfs_mounts_under(server.data_dir / "envs")) == 2,
             LEFTOVER_DEADLINE_SECS,
             lambda: f"two environments and the standbys never existed together: {leftovers(server, path)}")

    server.kill()

    # What the dead server left: without a clean-up at start, it would stay.
    left = leftovers(server, path)
    old_envs = set(env_ids(path))
    old_mounts = set(tmpfs_mounts_under(server.data_dir / "envs"))
    old_scratch = set(left["scratch dirs"])
    assert len(old_envs) >= 4, left
    assert len(old_mounts) == 2, left
    assert len(old_scratch) == 2, left
    assert left["processes"], left

    # It runs the interrupted Event again (30 s of sleep): a short grace ends it at teardown.
    restarted = servers("--shutdown-grace-secs", "1", data_dir=server.data_dir)
    assert cgroup_path(restarted) == path

    old_processes = set(left["processes"])

    def dead_servers_leftovers() -> dict:
        # The restarted server makes standbys of its own (new cgroups, no /tmp, no scratch), and
        # runs the interrupted Event invocation again (it stayed queued): only what the dead
        # server started counts.
        return {
            "cgroups": old_envs & set(env_ids(path)),
            "processes": {pid: cmd for pid, cmd in processes_in(path).items() if pid in old_processes},
            "mounts": old_mounts & set(tmpfs_mounts_under(restarted.data_dir / "envs")),
            "scratch dirs": old_scratch & set(scratch_dirs(restarted)),
        }

    wait_for(lambda: not any(dead_servers_leftovers().values()), LEFTOVER_DEADLINE_SECS,
             lambda: f"after the restart, the dead server's environments left: {dead_servers_leftovers()}")

    lam = sandbox_client(restarted)
    assert invoke(lam, idle).json() == "ok"
    assert invoke(lam, busy).json() == 1
    assert_other_function_works(lam)
    restarted.stop()
    assert not tmpfs_mounts_under(restarted.data_dir / "envs"), "a stopped server left /tmp mounts"
