"""An execution environment cannot reach another one's invocations: each environment's
Runtime API listener serves only its own runtime's process tree.

This is the guard of the host's network (`--function-network host`), where every Runtime API
listens on the host's loopback within any function's reach; on a private network another
environment's listener is out of reach altogether (test_function_network.py)."""

import pytest

from function_support import fn_name  # noqa: F401
from harness import LaminaServer
from invoke_support import deploy, invoke, mlam  # noqa: F401


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """The module's server, on the host's network: the one where the guard is what stands
    between environments."""
    root = tmp_path_factory.mktemp("lamina-host-net")
    s = LaminaServer(root / "data", root / "lamina.log", ["--function-network", "host"]).start()
    request.node._lamina_module_server = s
    yield s
    s.stop()

PROBE = """
import http.client
import os


def lambda_handler(event, context):
    host, port = event["target"].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=3)
    try:
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        response = conn.getresponse()
        return {"status": response.status, "body": response.read().decode()}
    except Exception as error:  # a hang or reset would also mean "not served"
        return {"status": None, "body": repr(error)}
"""

OWN_ADDRESS = """
import os


def lambda_handler(event, context):
    return {"address": os.environ["AWS_LAMBDA_RUNTIME_API"]}
"""


def test_polling_another_environments_runtime_api_is_refused(mlam, fn_name):
    victim, attacker = f"{fn_name}-victim", f"{fn_name}-attacker"
    deploy(mlam, victim, OWN_ADDRESS)
    deploy(mlam, attacker, PROBE)
    # The victim's environment stays warm, waiting on its listener for the next event.
    address = invoke(mlam, victim).json()["address"]

    probe = invoke(mlam, attacker, {"target": address}).json()

    assert probe["status"] == 403, probe
    assert "AccessDenied" in probe["body"]
    # The victim still works: nothing was taken from it.
    assert invoke(mlam, victim).json()["address"] == address
