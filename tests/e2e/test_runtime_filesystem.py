"""The filesystem a function runs in (spec §6): /opt and /var/task are read-only, /tmp is
writable and private to the environment, the code is the working directory."""

import pytest

from function_support import publish_layer
from invoke_support import deploy, fn_name, invoke, mlam  # noqa: F401

TRY_WRITE = """
import errno
import os

def lambda_handler(event, context):
    try:
        with open(event["path"], "w") as f:
            f.write("x")
    except OSError as e:
        return {"error": errno.errorcode[e.errno]}
    with open(event["path"]) as f:
        return {"wrote": f.read()}
"""


@pytest.mark.parametrize("path", ["/opt/new-file", "/opt/python/mod.py", "/var/task/new-file", "/var/task/lambda_function.py"])
def test_opt_and_the_code_are_read_only(mlam, fn_name, layer_name, path):
    arn = publish_layer(mlam, layer_name)[0]["LayerVersionArn"]
    deploy(mlam, fn_name, TRY_WRITE, Layers=[arn])

    assert invoke(mlam, fn_name, {"path": path}).json() == {"error": "EROFS"}


def test_opt_is_read_only_without_layers_too(mlam, fn_name):
    deploy(mlam, fn_name, TRY_WRITE)

    assert invoke(mlam, fn_name, {"path": "/opt/new-file"}).json() == {"error": "EROFS"}


def test_tmp_is_writable(mlam, fn_name):
    deploy(mlam, fn_name, TRY_WRITE)

    assert invoke(mlam, fn_name, {"path": "/tmp/scratch.txt"}).json() == {"wrote": "x"}


def test_tmp_is_private_to_each_function(mlam, fn_name):
    deploy(mlam, fn_name, TRY_WRITE)
    deploy(mlam, fn_name + "-peek", "import os\n\ndef lambda_handler(e, c):\n    return sorted(os.listdir('/tmp'))\n")

    invoke(mlam, fn_name, {"path": "/tmp/mine.txt"})

    assert "mine.txt" not in invoke(mlam, fn_name + "-peek").json()


def test_the_working_directory_is_the_code(mlam, fn_name):
    deploy(mlam, fn_name, "import os\n\ndef lambda_handler(e, c):\n    return os.getcwd()\n")

    assert invoke(mlam, fn_name).json() == "/var/task"


KEEP_IN_TMP = """
import os
import time

def lambda_handler(event, context):
    before = sorted(os.listdir("/tmp"))
    with open("/tmp/" + event["write"], "w") as f:
        f.write("x")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return before
"""


def test_tmp_survives_between_invokes_of_one_environment(mlam, fn_name):
    deploy(mlam, fn_name, KEEP_IN_TMP)

    invoke(mlam, fn_name, {"write": "first"})

    assert invoke(mlam, fn_name, {"write": "second"}).json() == ["first"]


def test_tmp_survives_the_reset_after_a_timeout(mlam, fn_name):
    # Spec §6: a timeout resets the environment (runtime killed, re-init next time) and
    # /tmp is kept across the reset.
    deploy(mlam, fn_name, KEEP_IN_TMP, Timeout=1)
    invoke(mlam, fn_name, {"write": "before-reset"})
    assert invoke(mlam, fn_name, {"write": "timed-out", "sleep": 30}).json()["errorType"] == "Sandbox.Timedout"

    after = invoke(mlam, fn_name, {"write": "after-reset"})

    assert after.json() == ["before-reset", "timed-out"]
