"""A private network per environment (`--function-network isolated`): each environment has
its own network namespace, whose loopback serves its Runtime API at 127.0.0.1:9001 as on AWS;
the host's loopback services, the Lamina API on any host address, other environments'
Runtime APIs and link-local addresses are out of reach, and the outside is reached through NAT.
`host` keeps the host's network and says so; `auto`, the default, is `isolated` wherever the
private network can be set up (here: root, nftables) and `host` with the reason elsewhere."""

import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

import outside as outside_world
from harness import LAMINA_BIN, LaminaServer, make_client
from invoke_support import deploy, fn_name, invoke, mlam  # noqa: F401
from test_awslambdaric_parity import ric_files, ric_zip  # noqa: F401

PROBE = """
import os
import socket


def lambda_handler(event, context):
    reached = []
    for host, port in event.get("targets", []):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((host, port))
            reached.append([host, port])
        except OSError:
            pass
        finally:
            s.close()
    return {"runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"], "reached": reached}
"""


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """The module's server, with a private network per environment."""
    root = tmp_path_factory.mktemp("lamina-net")
    s = LaminaServer(root / "data", root / "lamina.log", ["--function-network", "isolated"]).start()
    request.node._lamina_module_server = s
    yield s
    s.stop()


class Listener:
    """A TCP server the test runs on the host, accepting and closing connections."""

    def __init__(self, host: str):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


def host_addresses() -> list[str]:
    """Every IPv4 and global IPv6 address of this host's interfaces."""
    out = subprocess.run(["ip", "-j", "addr"], check=True, capture_output=True, text=True).stdout
    addresses = []
    for link in json.loads(out):
        for a in link.get("addr_info", []):
            if a["family"] == "inet" or (a["family"] == "inet6" and a.get("scope") == "global"):
                addresses.append(a["local"])
            elif a["family"] == "inet6" and a["local"] == "::1":
                addresses.append("::1")
    return addresses


def host_loopback_listeners() -> list[int]:
    """Ports listening on 127.0.0.1 or on every address in this host's network namespace."""
    ports = set()
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            fields = row.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and address in ("0100007F", "00000000"):
                ports.add(int(port, 16))
    return sorted(ports)


def test_the_runtime_api_is_at_awss_address_on_the_environments_own_loopback(mlam, fn_name):
    deploy(mlam, fn_name, PROBE)
    got = invoke(mlam, fn_name, {"targets": [["127.0.0.1", 9001]]}).json()
    assert got == {"runtime_api": "127.0.0.1:9001", "reached": [["127.0.0.1", 9001]]}


def test_awslambdaric_runs_against_it(mlam, fn_name, ric_files):  # noqa: F811
    source = b"import os\n\ndef lambda_handler(event, context):\n    return [os.environ['AWS_LAMBDA_RUNTIME_API'], event]\n"
    deploy(mlam, fn_name, Runtime="provided.al2023", Handler="lambda_function.lambda_handler",
           zip_bytes=ric_zip(ric_files, source))
    for n in range(2):
        assert invoke(mlam, fn_name, {"n": n}).json() == ["127.0.0.1:9001", {"n": n}]


def test_the_host_the_api_and_link_local_addresses_are_unreachable(mlam, module_server, fn_name):
    # Dropped packets: each attempt waits out its timeout.
    deploy(mlam, fn_name, PROBE, Timeout=60)
    on_loopback, everywhere = Listener("127.0.0.1"), Listener("0.0.0.0")
    try:
        targets = [["127.0.0.1", module_server.port], ["127.0.0.1", on_loopback.port],
                   ["169.254.169.254", 80], ["169.254.170.2", 80]]
        for address in host_addresses():
            targets += [[address, module_server.port], [address, everywhere.port]]
        # The test's own connections prove the listeners answer.
        for host, port in targets[:2]:
            socket.create_connection((host, port), timeout=2).close()

        got = invoke(mlam, fn_name, {"targets": targets}).json()

        assert got["reached"] == [], got
        assert (on_loopback.accepted, everywhere.accepted) == (1, 0)
    finally:
        on_loopback.close()
        everywhere.close()


def test_no_other_environments_runtime_api_is_in_reach(mlam, fn_name):
    victim, attacker = f"{fn_name}-victim", f"{fn_name}-attacker"
    deploy(mlam, victim, PROBE)
    deploy(mlam, attacker, PROBE, Timeout=60)
    # The victim's environment stays warm, its runtime waiting on its listener.
    assert invoke(mlam, victim).json()["runtime_api"] == "127.0.0.1:9001"
    # On the host's network its listener would be one of these.
    targets = [["127.0.0.1", port] for port in host_loopback_listeners()]
    assert targets

    got = invoke(mlam, attacker, {"targets": targets}).json()

    assert got["reached"] == [], got
    assert invoke(mlam, victim).json()["runtime_api"] == "127.0.0.1:9001"


def test_a_cold_start_without_standbys_makes_its_network_then(start_server, fn_name):
    server = start_server("--function-network", "isolated", "--standby-environments", "0")
    lam = make_client(server.url)
    deploy(lam, fn_name, PROBE)
    got = invoke(lam, fn_name, {"targets": [["127.0.0.1", server.port]]}).json()
    assert got == {"runtime_api": "127.0.0.1:9001", "reached": []}


def health(server) -> dict:
    with urllib.request.urlopen(f"{server.url}/_lamina/health", timeout=5) as r:
        return json.load(r)


def test_health_and_banner_say_which_network_functions_have(module_server, start_server):
    isolated = health(module_server)
    assert isolated["functionNetwork"] == "isolated"
    assert "functionNetworkWarning" not in isolated
    assert "function network: isolated" in module_server.log_path.read_text()

    host = start_server("--function-network", "host")
    got = health(host)
    assert got["functionNetwork"] == "host"
    assert "this API included" in got["functionNetworkWarning"]
    assert "WARNING: function network: HOST (--function-network host)" in host.log_path.read_text()


def test_by_default_functions_get_a_private_network_here(start_server, fn_name):
    server = start_server()
    got = health(server)
    assert got["functionNetwork"] == "isolated"
    assert "functionNetworkWarning" not in got
    lam = make_client(server.url)
    deploy(lam, fn_name, PROBE, Timeout=30)
    targets = [["127.0.0.1", server.port]] + [[address, server.port] for address in host_addresses()]
    # The test's own connection proves the API answers.
    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()

    got = invoke(lam, fn_name, {"targets": targets}).json()

    assert got == {"runtime_api": "127.0.0.1:9001", "reached": []}


def test_without_nft_the_default_falls_back_to_the_host_network_and_says_why(start_server, tmp_path):
    # Every program the server runs, but nft.
    path = tmp_path / "bin"
    path.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(directory):
            for entry in os.listdir(directory):
                if entry != "nft" and not (path / entry).exists():
                    (path / entry).symlink_to(os.path.join(directory, entry))
    server = start_server(env={"PATH": str(path)})

    got = health(server)

    assert got["functionNetwork"] == "host"
    assert "this API included" in got["functionNetworkWarning"]
    assert got["functionNetworkReason"].startswith("no private network: nft not found"), got
    log = server.log_path.read_text()
    assert "WARNING: function network: HOST (no private network: nft not found" in log, log

    done = subprocess.run(
        [str(LAMINA_BIN), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
         "--function-network", "isolated"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "PATH": str(path)},
    )
    assert done.returncode != 0
    assert "--function-network isolated is not possible here: nft not found" in done.stderr


def test_an_isolated_network_without_namespaces_is_refused(tmp_path):
    done = subprocess.run(
        [str(LAMINA_BIN), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
         "--isolation", "none", "--function-network", "isolated"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "--function-network isolated needs namespace isolation" in done.stderr


FETCH = """
import urllib.request


def lambda_handler(event, context):
    with urllib.request.urlopen(event["url"], timeout=5) as r:
        return {"status": r.status, "body": r.read().decode()}
"""


class _ClientAddressHandler(http.server.BaseHTTPRequestHandler):
    """Answers with the address it saw the client come from."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def outside():
    """An HTTP server in the outside namespace (outside.py), routed like the outside world,
    answering with the address it saw the client come from; yields its URL."""
    server = outside_world.world().http_server(_ClientAddressHandler)
    try:
        yield server.url + "/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_outside_is_reached_through_nat(mlam, fn_name, outside):
    deploy(mlam, fn_name, FETCH)
    got = invoke(mlam, fn_name, {"url": outside}).json()
    # The outside saw the host's address on its link, not the environment's.
    assert got == {"status": 200, "body": outside_world.HOST_SIDE_ADDRESS}


def host_objects(log: str) -> tuple[str, str]:
    """The bridge and the nftables table a server named in its banner."""
    match = re.search(r"bridge (lm[0-9a-f]{4}br) on 10\.\d+\.0\.0/16, nftables table ip (lamina_[0-9a-f]{4})", log)
    assert match, log
    return match.group(1), match.group(2)


def links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], check=True, capture_output=True, text=True).stdout


def test_a_killed_servers_bridge_veths_and_table_are_removed_by_the_next_start(start_server, fn_name):
    first = start_server("--function-network", "isolated")
    bridge, table = host_objects(first.log_path.read_text())
    lam = make_client(first.url)
    deploy(lam, fn_name, PROBE)
    invoke(lam, fn_name)
    veths = {name for name in links() if name.startswith(bridge[:6] + "v")}
    assert bridge in links() and table in nft_tables() and veths

    first.proc.kill()
    first.proc.wait()
    assert bridge in links() and table in nft_tables()

    second = start_server("--function-network", "isolated", data_dir=first.data_dir)
    assert host_objects(second.log_path.read_text()) == (bridge, table)
    deadline = time.monotonic() + 10
    while veths & links() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not veths & links()
    assert invoke(make_client(second.url), fn_name).json()["runtime_api"] == "127.0.0.1:9001"

    second.stop()
    assert bridge not in links()
    assert table not in nft_tables()
