"""Fixtures for the end-to-end tests: real `lamina serve` processes, boto3 and the AWS CLI.

Run through `scripts/e2e`, which prepares the venv and the offline `requests` wheels and builds
the binary. Nothing here skips: a missing binary, venv or wheel directory is an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

pytest.register_assert_rewrite("helpers", "harness", "zips", "console_steps")
# The console's browser tests: one chromium for the session, a page per test (console_support.py).
pytest_plugins = ("console_support",)

import outside
from harness import LAMINA_BIN, REPO, VENV, WHEELS, AwsCli, LaminaServer, make_client
from helpers import REGION
from recorder_double import Recorder

# Keep every client on this machine: no shared config or credentials, no instance metadata,
# no proxy for loopback.
os.environ.update(
    {
        "AWS_CONFIG_FILE": "/nonexistent/lamina-e2e/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/lamina-e2e/credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": f"127.0.0.1,localhost,{outside.OUTSIDE_ADDRESS}",
        "no_proxy": f"127.0.0.1,localhost,{outside.OUTSIDE_ADDRESS}",
    }
)
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
    os.environ.pop(_var, None)

# Every server of the session shares one directory of runtime SDKs (boto3, the AWS SDK for
# JavaScript), installed once from the registries by `runtime_sdks` below and kept across runs.
RUNTIME_SDKS_DIR = REPO / "target" / "runtime-sdks"
os.environ["LAMINA_RUNTIME_SDKS_DIR"] = str(RUNTIME_SDKS_DIR)
os.environ.pop("LAMINA_RUNTIME_SDKS", None)


@pytest.fixture(scope="session", autouse=True)
def runtime_sdks():
    """Installs the runtimes' AWS SDKs into the shared directory before any server starts, so
    no test's CreateFunction waits for pip or npm. Needs PyPI and the npm registry (as the
    machine's pip and npm reach them): without them every test fails here, none skips."""
    done = subprocess.run(
        [str(LAMINA_BIN), "runtimes", "--install-sdks"], capture_output=True, text=True, timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(
            "installing the runtime SDKs from the package registries failed "
            f"(`lamina runtimes --install-sdks`, exit {done.returncode}):\n{done.stderr}{done.stdout}"
        )
    return RUNTIME_SDKS_DIR


_servers_of_current_test: list[LaminaServer] = []


def pytest_sessionfinish(session, exitstatus):
    """The outside namespace the test doubles listened in goes with the session."""
    outside.close_world()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the log of every server the test used."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        servers = list(_servers_of_current_test)
        session = getattr(item.session, "_lamina_session_server", None)
        if session and "server" in item.fixturenames and session not in servers:
            servers.insert(0, session)
        module = item.getparent(pytest.Module)
        module_server = getattr(module, "_lamina_module_server", None)
        if module_server and "module_server" in item.fixturenames:
            servers.insert(0, module_server)
        for s in servers:
            report.sections.append((f"lamina log ({s.url}, {s.data_dir})", s.log_tail()))


@pytest.fixture(autouse=True)
def _track_servers():
    _servers_of_current_test.clear()
    yield


@pytest.fixture(scope="session")
def server(request, tmp_path_factory) -> LaminaServer:
    """The shared server. Tests on it use unique layer names (see `layer_name`)."""
    root = tmp_path_factory.mktemp("lamina-session")
    s = LaminaServer(root / "data", root / "lamina.log", []).start()
    request.session._lamina_session_server = s
    yield s
    s.stop()


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory) -> LaminaServer:
    """A server shared by one test module only, on an empty data dir."""
    root = tmp_path_factory.mktemp("lamina-module")
    s = LaminaServer(root / "data", root / "lamina.log", []).start()
    request.node._lamina_module_server = s
    yield s
    s.stop()


@pytest.fixture
def start_server(tmp_path):
    """Starts extra servers: `start_server(*extra_args, data_dir=None, cwd=None, env=None)`
    (`env`: see `LaminaServer`). A server
    started on an existing data dir reuses it (restart); one started with `cwd` runs there on
    its default data dir (`cwd/.lamina`, no `--data-dir`). All are stopped at teardown (SIGTERM:
    the server removes its environments, so no sandbox outlives the test)."""
    started: list[LaminaServer] = []

    def start(
        *extra_args: str, data_dir: Path | None = None, cwd: Path | None = None, env: dict | None = None,
    ) -> LaminaServer:
        n = len(started)
        if cwd is not None:
            data_dir = cwd / ".lamina"
        s = LaminaServer(
            data_dir or tmp_path / f"data{n}", tmp_path / f"lamina{n}.log", list(extra_args), cwd, env,
        )
        started.append(s)
        _servers_of_current_test.append(s)
        return s.start()

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def fresh_server(start_server) -> LaminaServer:
    """A server of this test alone, on an empty data dir."""
    return start_server()


# --- clients ----------------------------------------------------------------------------------


@pytest.fixture
def client_for():
    """`client_for(server_or_url, region="us-west-2")` → boto3 Lambda client."""

    def make(target, region: str = REGION, **kwargs):
        return make_client(target if isinstance(target, str) else target.url, region, **kwargs)

    return make


@pytest.fixture
def lam(server):
    """boto3 Lambda client for the shared server, region us-west-2."""
    return make_client(server.url)


@pytest.fixture
def layer_name(request) -> str:
    """A layer name no other test uses: `e2e-<test name>-<random>`, within 140 chars."""
    base = re.sub(r"[^A-Za-z0-9-_]", "-", request.node.name)[:100]
    return f"e2e-{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def aws(tmp_path) -> AwsCli:
    return AwsCli(tmp_path / "aws-home")


@pytest.fixture(scope="session")
def wheels_dir() -> Path:
    if not any(WHEELS.glob("requests-*.whl")):
        raise RuntimeError(f"no requests wheel in {WHEELS}; run scripts/e2e")
    return WHEELS


@pytest.fixture(scope="session")
def venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"venv python not found at {python}; run scripts/e2e")
    return python


@pytest.fixture
def recorder():
    """A recorder in the outside namespace that functions post evidence to (recorder_double.py); modules
    that share one across their tests override this with a module-scoped one."""
    with Recorder() as r:
        yield r
