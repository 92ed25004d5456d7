"""The data directory: the default (`./.lamina`) works from any working directory, for
`lamina serve` and `lamina logs` alike; and a data directory has one server: a second
`lamina serve` on it stops at once, naming the first, and touches nothing (no crash clean-up
of the first server's environments, no cgroups, no mounts, no standbys)."""

import json
import os
import socket
import subprocess
import zipfile

from function_support import ROLE
from harness import LAMINA_BIN
from invoke_support import RUNTIME, deploy, invoke
from sandbox_support import (
    cgroup_path,
    env_ids,
    leftover_cgroup_dirs,
    mounts_under,
    processes_in,
    sandbox_client,
    scratch_dirs,
    unique_name,
)

# An upper bound, so a second server that wrongly starts cannot hang the test: one that finds
# the lock held exits before its async runtime does anything (a few milliseconds). That it
# stopped before touching anything is checked by what it left, not by a stopwatch.
SECOND_SERVER_DEADLINE_SECS = 10
LOGS_DEADLINE_SECS = 30

HELLO = "def lambda_handler(event, context):\n    return {'hello': event.get('name')}\n"

# The process and a value drawn when the module loads: both stay the same while the function
# answers from the same execution environment.
WHO_AM_I = """
import os
import uuid

LOADED = uuid.uuid4().hex


def lambda_handler(event, context):
    return {"pid": os.getpid(), "loaded": LOADED}
"""


def env_without_data_dir() -> dict:
    env = dict(os.environ)
    env.pop("LAMINA_DATA_DIR", None)
    return env


def env_without_aws(env: dict[str, str]) -> dict[str, str]:
    """`env` without AWS credentials, region nor profile: what a newcomer's shell holds."""
    return {k: v for k, v in env.items() if not k.startswith("AWS_")}


def test_serve_and_logs_use_the_default_data_dir_of_any_working_directory(start_server, aws, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    server = start_server("--standby-environments", "0", cwd=work)
    data_dir = os.path.realpath(work / ".lamina")
    assert f"data dir {data_dir} " in server.log_tail(), "the server should print its data dir, absolute"
    (work / "lambda_function.py").write_text(HELLO)
    with zipfile.ZipFile(work / "function.zip", "w") as z:
        z.write(work / "lambda_function.py", "lambda_function.py")
    name = unique_name("fn-default-dir")
    url = ("--endpoint-url", server.url)

    aws("lambda", "create-function", "--function-name", name, "--runtime", RUNTIME,
        "--handler", "lambda_function.lambda_handler", "--role", ROLE,
        "--zip-file", "fileb://function.zip", *url, cwd=work)
    aws("lambda", "wait", "function-active-v2", "--function-name", name, *url, cwd=work)
    out = aws("lambda", "invoke", "--function-name", name,
              "--payload", '{"name": "lamina"}', *url, "response.json", cwd=work)

    assert out["StatusCode"] == 200, out
    assert "FunctionError" not in out, (out, (work / "response.json").read_text())
    assert json.loads((work / "response.json").read_text()) == {"hello": "lamina"}
    assert os.path.isfile(os.path.join(data_dir, "lamina.db"))

    # `lamina logs` reads through the API, signed with the root key of the data dir it finds
    # in its working directory (`./.lamina`), as a newcomer's would be.
    logs = subprocess.run([str(LAMINA_BIN), "logs", name, *url], cwd=work, env=env_without_aws(env_without_data_dir()),
                          capture_output=True, text=True, timeout=LOGS_DEADLINE_SECS)
    assert logs.returncode == 0, logs.stderr
    lines = [line.partition("\t")[2] for line in logs.stdout.splitlines()]
    for kind in ("START", "END", "REPORT"):
        assert [line for line in lines if line.startswith(f"{kind} RequestId: ")], lines


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_a_second_server_on_the_same_data_dir_stops_at_once_and_touches_nothing(start_server, tmp_path):
    # The first server has no standbys, so every cgroup directory of its instance is the warm
    # environment's; the second is started with the defaults: had it gone on, it would have
    # made standbys in the same instance (the instance is named after the data dir).
    first = start_server("--standby-environments", "0")
    path = cgroup_path(first)
    lam = sandbox_client(first)
    name = unique_name("fn-warm")
    deploy(lam, name, WHO_AM_I)
    warm = invoke(lam, name)
    assert warm.function_error is None, warm.payload
    envs = env_ids(path)
    assert len(envs) == 1, envs
    before = {
        "cgroup dirs": leftover_cgroup_dirs(path),
        "processes": processes_in(path),
        "mounts": mounts_under(first.data_dir),
        "scratch": scratch_dirs(first),
        "lock file": (first.data_dir / "lamina.lock").read_text(),
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        second_port = s.getsockname()[1]

    second = subprocess.run(
        [str(LAMINA_BIN), "serve", "--listen", f"127.0.0.1:{second_port}", "--data-dir", str(first.data_dir)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SECOND_SERVER_DEADLINE_SECS,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )

    assert second.returncode != 0, second
    assert f"pid {first.proc.pid}" in second.stderr, second.stderr
    assert f"http://127.0.0.1:{first.port}" in second.stderr, second.stderr
    assert str(os.path.realpath(first.data_dir)) in second.stderr, second.stderr
    assert _port_is_free(second_port), "the second server should not have listened"
    after = {
        "cgroup dirs": leftover_cgroup_dirs(path),
        "processes": processes_in(path),
        "mounts": mounts_under(first.data_dir),
        "scratch": scratch_dirs(first),
        "lock file": (first.data_dir / "lamina.lock").read_text(),
    }
    assert after == before
    again = invoke(lam, name)
    assert again.function_error is None, again.payload
    assert again.json() == warm.json(), "the warm environment should have answered"
    assert env_ids(path) == envs


def test_a_server_whose_port_is_taken_stops_before_it_opens_its_data_dir(start_server, tmp_path):
    first = start_server("--standby-environments", "0")
    data_dir = tmp_path / "other-data"

    second = subprocess.run(
        [str(LAMINA_BIN), "serve", "--listen", f"127.0.0.1:{first.port}", "--data-dir", str(data_dir)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SECOND_SERVER_DEADLINE_SECS,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )

    assert second.returncode != 0, second
    assert "Address already in use" in second.stderr, second.stderr
    # Only the lock was taken: no database, no artifact store, no environments directory.
    assert sorted(p.name for p in data_dir.iterdir()) == ["lamina.lock"], list(data_dir.iterdir())
