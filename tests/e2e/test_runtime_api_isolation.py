"""An execution environment cannot reach another one's invocations: each environment's
Runtime API listener serves only its own runtime's process tree."""

from function_support import fn_name  # noqa: F401
from invoke_support import deploy, invoke, mlam  # noqa: F401

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
