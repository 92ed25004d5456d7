"""SnapStart for Python, as AWS defines it: `SnapStart: {ApplyOn: PublishedVersions}` makes
PublishVersion run the version's Init once (the version is `Pending` meanwhile), and each cold
start of that version is restored from that initialised state: no second Init, the
`snapshot_restore_py` hooks in AWS's order, `Restore Duration` instead of `Init Duration` in
REPORT, and each restored environment as isolated as a new one (its own uid, PID namespace,
`/tmp`, network and random state). `$LATEST` runs its Init as always."""

from __future__ import annotations

import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from function_support import ROLE
from harness import REPO, make_client
from invoke_support import fn_name, function_log, handler_zip, invoke, mlam  # noqa: F401
from sandbox_support import cgroup_path, leftovers, processes_in

RUNTIME = "python3.12"
PUBLISH_WAIT_SECS = 90

# Init writes a counter file beside the code's own state; the hooks record their order.
HANDLER_SOURCE = '''
import os, random, socket, time

from snapshot_restore_py import register_after_restore, register_before_snapshot

EVENTS = ["init"]
INIT_PID = os.getpid()
INIT_RANDOM = random.random()
with open("/tmp/from-init", "w") as f:
    f.write("written during Init")


@register_before_snapshot
def first_before():
    EVENTS.append("before-1")


@register_before_snapshot
def second_before():
    EVENTS.append("before-2")


def after(tag):
    EVENTS.append(tag)


register_after_restore(after, "after-1")
register_after_restore(after, tag="after-2")


def lambda_handler(event, context):
    name = event.get("write")
    if name:
        with open("/tmp/" + name, "w") as f:
            f.write(name)
        time.sleep(event.get("sleep", 0))
    return {
        "events": EVENTS,
        "init_pid": INIT_PID,
        "pid": os.getpid(),
        "uid": os.getuid(),
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "tmp": sorted(os.listdir("/tmp")),
        "tmp_owner": os.stat("/tmp/from-init").st_uid,
        "random": random.random(),
        "init_random": INIT_RANDOM,
        "urandom": os.urandom(8).hex(),
        "initialization_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "log_stream": context.log_stream_name,
        "env_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        "template_fd": os.environ.get("_LAMINA_TEMPLATE_FD"),
    }
'''


def create(lam, name: str, source: str = HANDLER_SOURCE, files: dict[str, bytes] | None = None,
           runtime: str = RUNTIME, **kwargs) -> None:
    """CreateFunction with SnapStart on: `source` as the handler module, plus `files`."""
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip(source, files)},
        SnapStart={"ApplyOn": "PublishedVersions"},
        **kwargs,
    )


def publish(lam, name: str) -> tuple[str, dict]:
    """PublishVersion, then the version's configuration once its state is settled."""
    version = lam.publish_version(FunctionName=name)["Version"]
    deadline = time.monotonic() + PUBLISH_WAIT_SECS
    while True:
        config = lam.get_function_configuration(FunctionName=name, Qualifier=version)
        if config["State"] != "Pending" or time.monotonic() > deadline:
            return version, config
        time.sleep(0.1)


def report_of(log: str) -> str:
    lines = [line for line in log.splitlines() if line.startswith("REPORT ")]
    assert len(lines) == 1, log
    return lines[0]


def test_a_published_version_is_restored_not_initialised_again(mlam, fn_name):
    create(mlam, fn_name)
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Active", config
    assert config["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}

    first = invoke(mlam, fn_name, Qualifier=version, LogType="Tail")
    assert first.status == 200 and first.function_error is None, first.payload
    body = first.json()
    # Init ran once, at publish; the hooks ran in AWS's order: before-snapshot hooks in reverse
    # order of registration, after-restore hooks in order, with their arguments.
    assert body["events"] == ["init", "before-2", "before-1", "after-1", "after-2"]
    assert body["initialization_type"] == "snap-start"
    assert body["template_fd"] is None
    report = report_of(first.log_result)
    assert "Restore Duration: " in report and "Billed Restore Duration: " in report, report
    assert "Init Duration" not in report, report
    # Its own log stream, not the template's.
    assert body["log_stream"] == body["env_stream"]

    again = invoke(mlam, fn_name, Qualifier=version, LogType="Tail").json()
    assert again["events"] == body["events"], "a warm invoke runs no hook"
    assert again["pid"] == body["pid"] and again["uid"] == body["uid"]

    latest = invoke(mlam, fn_name, LogType="Tail")
    assert latest.json()["initialization_type"] == "on-demand"
    assert latest.json()["events"] == ["init"], "$LATEST is never snapshotted"
    assert "Init Duration: " in report_of(latest.log_result)
    unqualified = mlam.get_function_configuration(FunctionName=fn_name)
    assert unqualified["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}


def test_restored_environments_share_no_tmp_pids_uid_or_random_state(mlam, fn_name):
    create(mlam, fn_name)
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Active", config

    def call(tag):
        return invoke(mlam, fn_name, {"write": tag, "sleep": 1.5}, Qualifier=version).json()

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(call, ["file-a", "file-b"])
    # Two environments, both copies of the one Init.
    assert a["init_pid"] == b["init_pid"] and a["init_random"] == b["init_random"]
    assert a["uid"] != b["uid"], (a["uid"], b["uid"])
    assert a["random"] != b["random"], "random was not re-seeded after the restore"
    assert a["urandom"] != b["urandom"]
    # Each /tmp is its own, and starts as the snapshot's (what Init wrote): the other's file
    # is not there.
    assert a["tmp"] == ["file-a", "from-init"], a["tmp"]
    assert b["tmp"] == ["file-b", "from-init"], b["tmp"]
    assert a["tmp_owner"] == a["uid"] and b["tmp_owner"] == b["uid"]
    # Each is in a PID namespace of its own with only its own few processes.
    assert a["processes"] == b["processes"] and len(a["processes"]) <= 3, a["processes"]
    assert a["pid"] == b["pid"]
    assert a["log_stream"] != b["log_stream"]


FAILING_INIT = '''
import os
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
    raise RuntimeError("no snapshot for me")

def lambda_handler(event, context):
    return "ok"
'''


def test_an_init_that_fails_at_publish_fails_the_version(mlam, fn_name):
    create(mlam, fn_name, FAILING_INIT)
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Failed", config
    assert config["StateReasonCode"] == "FunctionError", config
    assert "no snapshot for me" in config["StateReason"], config
    with pytest.raises(mlam.exceptions.ResourceConflictException):
        mlam.invoke(FunctionName=fn_name, Qualifier=version, Payload=b"{}")
    # $LATEST is not snapshotted: it runs.
    assert invoke(mlam, fn_name).json() == "ok"


def test_a_failing_before_snapshot_hook_fails_the_version(mlam, fn_name):
    source = '''
from snapshot_restore_py import register_before_snapshot

@register_before_snapshot
def refuse():
    raise ValueError("not now")

def lambda_handler(event, context):
    return "ok"
'''
    create(mlam, fn_name, source)
    _, config = publish(mlam, fn_name)
    assert config["State"] == "Failed", config
    assert "Runtime.BeforeSnapshotError" in config["StateReason"], config


def test_templates_and_restored_environments_leave_nothing_when_the_server_stops(start_server):
    server = start_server()
    lam = make_client(server.url)
    path = cgroup_path(server)
    create(lam, "snap-ok")
    create(lam, "snap-broken", FAILING_INIT)
    version, config = publish(lam, "snap-ok")
    assert config["State"] == "Active", config
    assert publish(lam, "snap-broken")[1]["State"] == "Failed"
    assert invoke(lam, "snap-ok", Qualifier=version).status == 200
    # The template and the restored environment run: processes in the server's cgroups.
    assert processes_in(path)

    server.stop()

    assert not any(leftovers(server, path).values()), leftovers(server, path)


def test_snapstart_limits_are_refused_as_aws_refuses_them(mlam, fn_name):
    with pytest.raises(mlam.exceptions.InvalidParameterValueException) as refused:
        create(mlam, fn_name, runtime="python3.11")
    assert "python3.11 is not supported for SnapStart enabled functions." in str(refused.value)
    create(mlam, fn_name)
    with pytest.raises(mlam.exceptions.InvalidParameterValueException) as refused:
        mlam.update_function_configuration(FunctionName=fn_name, EphemeralStorage={"Size": 1024})
    assert "512 MB" in str(refused.value)
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Active", config
    with pytest.raises(mlam.exceptions.InvalidParameterValueException) as refused:
        mlam.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1
        )
    assert "SnapStart" in str(refused.value)
    # Turned off, the next version runs its Init as any other.
    mlam.update_function_configuration(FunctionName=fn_name, SnapStart={"ApplyOn": "None"})
    mlam.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    plain, config = publish(mlam, fn_name)
    assert config["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    assert invoke(mlam, fn_name, Qualifier=plain).json()["initialization_type"] == "on-demand"


def test_a_failing_after_restore_hook_fails_the_invoke(mlam, module_server, fn_name):
    source = '''
from snapshot_restore_py import register_after_restore

@register_after_restore
def refuse():
    raise ValueError("cannot reconnect")

def lambda_handler(event, context):
    return "ok"
'''
    create(mlam, fn_name, source)
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Active", config
    with pytest.raises(mlam.exceptions.SnapStartException) as refused:
        mlam.invoke(FunctionName=fn_name, Qualifier=version, Payload=b"{}")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "afterRestore()" in str(refused.value)
    lines = function_log(module_server, fn_name)
    assert any("Runtime.AfterRestoreError" in line and "cannot reconnect" in line for line in lines), lines
    assert any("Restore Duration: " in line for line in lines if line.startswith("REPORT ")), lines


def test_a_version_whose_snapshot_is_being_made_is_not_ready(mlam, fn_name):
    source = '''
import os, time
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
    time.sleep(5)

def lambda_handler(event, context):
    return "ok"
'''
    create(mlam, fn_name, source)
    version = mlam.publish_version(FunctionName=fn_name)["Version"]
    assert mlam.get_function_configuration(FunctionName=fn_name, Qualifier=version)["State"] == "Pending"
    with pytest.raises(mlam.exceptions.SnapStartNotReadyException) as refused:
        mlam.invoke(FunctionName=fn_name, Qualifier=version, Payload=b"{}")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    mlam.get_waiter("function_active_v2").wait(FunctionName=fn_name, Qualifier=version)
    assert invoke(mlam, fn_name, Qualifier=version).json() == "ok"


def test_the_hooks_of_awss_own_package_bundled_by_the_function_run(mlam, fn_name):
    wheels = sorted((REPO / "target" / "snapstart-wheels").glob("snapshot_restore_py-*.whl"))
    assert wheels, "no snapshot-restore-py wheel: scripts/prepare-tests downloads it"
    with zipfile.ZipFile(wheels[-1]) as wheel:
        package = wheel.read("snapshot_restore_py.py")
    assert b"Amazon Web Services" in package
    source = """
import snapshot_restore_py
from snapshot_restore_py import register_after_restore, register_before_snapshot

EVENTS = []
register_before_snapshot(EVENTS.append, "before")
register_after_restore(EVENTS.append, "after")

def lambda_handler(event, context):
    return {"events": EVENTS, "package": snapshot_restore_py.__file__}
"""
    create(mlam, fn_name, source, {"snapshot_restore_py.py": package})
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Active", config
    body = invoke(mlam, fn_name, Qualifier=version).json()
    assert body == {"events": ["before", "after"], "package": "/var/task/snapshot_restore_py.py"}


def test_a_template_that_dies_is_made_again(mlam, fn_name):
    # A thread Init leaves running ends the template's process a while after the snapshot
    # (the thread runs only while the template is thawed for a restore); the copies, forked
    # from one thread, never have it.
    source = '''
import os, threading, time

def end_later():
    time.sleep(2)
    os._exit(7)

if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
    threading.Thread(target=end_later, daemon=True).start()

def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return os.getpid()
'''
    create(mlam, fn_name, source)
    version, config = publish(mlam, fn_name)
    assert config["State"] == "Active", config
    time.sleep(3)

    def call(_):
        return invoke(mlam, fn_name, {"sleep": 1}, Qualifier=version)

    for _ in range(2):
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(call, range(3)))
        for result in results:
            assert result.status == 200 and result.function_error is None, result.payload
