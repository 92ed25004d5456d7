"""The processes and clients the end-to-end tests drive: `lamina serve`, boto3, the AWS CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from helpers import ACCESS_KEY, REGION, SECRET_KEY, RawRecorder

REPO = Path(__file__).resolve().parents[2]
LAMINA_BIN = Path(os.environ.get("LAMINA_BIN", REPO / "target" / "debug" / "lamina"))
VENV = Path(os.environ.get("LAMINA_E2E_VENV", REPO / "target" / "e2e-venv"))
WHEELS = Path(os.environ.get("LAMINA_E2E_WHEELS", REPO / "target" / "e2e-wheels"))
STARTUP_DEADLINE_SECS = 30
# Longer than the server's default `--shutdown-grace-secs` (30) plus its clean-up, so a stop
# never turns into a SIGKILL that leaves environments behind.
STOP_DEADLINE_SECS = 60
STDERR_TAIL_CHARS = 20_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LaminaServer:
    """One `lamina serve` child process with its own data dir and log file. With `cwd`, it
    runs in that directory without `--data-dir` (nor `LAMINA_DATA_DIR`), so on its default
    data dir, which `data_dir` must then name (`cwd / ".lamina"`)."""

    def __init__(
        self, data_dir: Path, log_path: Path, extra_args: list[str], cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        """`env` is added to the server's environment; the root key is the tests' own
        (ACCESS_KEY/SECRET_KEY) unless `env` names another (or None for none: generated)."""
        self.env = {"LAMINA_ROOT_ACCESS_KEY_ID": ACCESS_KEY, "LAMINA_ROOT_SECRET_ACCESS_KEY": SECRET_KEY}
        self.env.update(env or {})
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = extra_args
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.port = 0
        # Set to listen on that port at every start (a restart keeps its address, as a node
        # behind a balancer must); else each start takes a free port.
        self.fixed_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LaminaServer":
        if not LAMINA_BIN.is_file():
            raise RuntimeError(f"lamina binary not found at {LAMINA_BIN}; run scripts/e2e")
        for _attempt in range(3):
            self.port = self.fixed_port or _free_port()
            data_dir = [] if self.cwd else ["--data-dir", str(self.data_dir)]
            args = [str(LAMINA_BIN), "serve", "--listen", f"127.0.0.1:{self.port}", *data_dir, *self.extra_args]
            env = {**os.environ, "RUST_BACKTRACE": "1"}
            for key, value in self.env.items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
            if self.cwd:
                env.pop("LAMINA_DATA_DIR", None)
            with open(self.log_path, "ab") as log:
                log.write(f"\n=== {' '.join(args)}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.cwd, env=env,
                )
            if self._wait_healthy():
                return self
            if self.fixed_port or "in use" not in self.log_tail():
                break
        code = self.proc.poll() if self.proc else None
        raise RuntimeError(
            f"lamina did not become healthy on {self.url} (exit code {code})\n{self.log_tail()}"
        )

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/_lamina/health", timeout=2) as r:
                    if r.status == 200:
                        json.loads(r.read())
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            time.sleep(0.05)
        self.kill()
        return False

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_DEADLINE_SECS)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-STDERR_TAIL_CHARS:]
        except FileNotFoundError:
            return ""



def make_client(url: str, region: str = REGION, **kwargs):
    """A boto3 Lambda client for `url`: the test servers' root key, no retries, raw responses recorded, a
    120 s read timeout unless `read_timeout` says otherwise."""
    client = boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=kwargs.pop("access_key", ACCESS_KEY),
        aws_secret_access_key=kwargs.pop("secret_key", SECRET_KEY),
        config=Config(retries={"max_attempts": 1}, read_timeout=kwargs.pop("read_timeout", 120), connect_timeout=10),
    )
    recorder = RawRecorder()
    client.meta.events.register("after-call.lambda", recorder)
    client._lamina_raw = recorder
    return client



class AwsCliError(Exception):
    def __init__(self, result: subprocess.CompletedProcess):
        self.result = result
        super().__init__(f"aws exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")


class AwsCli:
    """Runs the venv's `aws` with the test servers' root key, region us-west-2 and an isolated HOME."""

    def __init__(self, home: Path):
        exe = VENV / "bin" / "aws"
        if not exe.is_file():
            raise RuntimeError(f"AWS CLI not found at {exe}; run scripts/e2e")
        self.exe = exe
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "LC_ALL": "C.UTF-8",
        }

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.exe), *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=180
        )

    def __call__(self, *args: str, cwd: Path | None = None):
        """Runs and returns the parsed JSON output (None when there is none); raises on failure."""
        result = self.run(*args, cwd=cwd)
        if result.returncode != 0:
            raise AwsCliError(result)
        return json.loads(result.stdout) if result.stdout.strip() else None
