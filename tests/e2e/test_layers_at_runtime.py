"""What a function sees of its layers at run time (spec §5): merged into /opt in `Layers`
order with the later layer winning, `python/` and `python/lib/pythonX.Y/site-packages/` on
sys.path, `/opt/bin` on PATH, `/opt/lib` on LD_LIBRARY_PATH, data files under /opt, and a
deleted layer version still working for the function that had it."""

import pytest

from function_support import publish_layer
from invoke_support import deploy, fn_name, handler_zip, invoke, mlam, zip_with_modes  # noqa: F401

IMPORT_WHICH = "import which\n\ndef lambda_handler(event, context):\n    return which.WHO\n"


@pytest.fixture
def two_layers(mlam, layer_name):
    """Two layers that both ship python/which.py; returns their version ARNs (a, b)."""
    a = publish_layer(mlam, f"{layer_name}-a", {"python/which.py": b"WHO = 'layer a'\n"})[0]["LayerVersionArn"]
    b = publish_layer(mlam, f"{layer_name}-b", {"python/which.py": b"WHO = 'layer b'\n"})[0]["LayerVersionArn"]
    return a, b


def test_the_later_layer_in_the_list_wins(mlam, fn_name, two_layers):
    a, b = two_layers
    deploy(mlam, fn_name, IMPORT_WHICH, Layers=[a, b])

    assert invoke(mlam, fn_name).json() == "layer b"


def test_swapping_the_order_swaps_the_winner(mlam, fn_name, two_layers):
    a, b = two_layers
    deploy(mlam, fn_name, IMPORT_WHICH, Layers=[a, b])
    assert invoke(mlam, fn_name).json() == "layer b"

    mlam.update_function_configuration(FunctionName=fn_name, Layers=[b, a])

    assert invoke(mlam, fn_name).json() == "layer a"


def test_files_of_both_layers_are_visible(mlam, fn_name, layer_name):
    a = publish_layer(mlam, f"{layer_name}-a", {"python/only_a.py": b"X = 'a'\n"})[0]["LayerVersionArn"]
    b = publish_layer(mlam, f"{layer_name}-b", {"python/only_b.py": b"X = 'b'\n"})[0]["LayerVersionArn"]
    deploy(mlam, fn_name, "import only_a, only_b\n\ndef lambda_handler(e, c):\n    return only_a.X + only_b.X\n",
           Layers=[a, b])

    assert invoke(mlam, fn_name).json() == "ab"


def test_the_site_packages_layout_is_importable(mlam, fn_name, layer_name):
    arn = publish_layer(mlam, layer_name, {"python/lib/python3.11/site-packages/deep_mod.py": b"X = 'deep'\n"})[0][
        "LayerVersionArn"
    ]
    deploy(mlam, fn_name, "import deep_mod\n\ndef lambda_handler(e, c):\n    return deep_mod.X\n", Layers=[arn])

    assert invoke(mlam, fn_name).json() == "deep"


def test_sys_path_starts_with_the_code_then_the_layer_directories(mlam, fn_name, layer_name):
    arn = publish_layer(mlam, layer_name)[0]["LayerVersionArn"]
    deploy(mlam, fn_name, "import sys\n\ndef lambda_handler(e, c):\n    return sys.path[:3]\n", Layers=[arn])

    assert invoke(mlam, fn_name).json() == ["/var/task", "/opt/python/lib/python3.11/site-packages", "/opt/python"]


def test_function_code_shadows_a_layer_module_of_the_same_name(mlam, fn_name, two_layers):
    code = handler_zip(IMPORT_WHICH, {"which.py": b"WHO = 'function code'\n"})
    deploy(mlam, fn_name, zip_bytes=code, Layers=list(two_layers))

    assert invoke(mlam, fn_name).json() == "function code"


def test_a_layer_executable_in_bin_runs_by_name_from_path(mlam, fn_name, layer_name):
    tool = zip_with_modes({"bin/hello-tool": (b"#!/bin/sh\necho \"hello from the layer tool $1\"\n", 0o755)})
    arn = mlam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": tool})["LayerVersionArn"]
    deploy(mlam, fn_name, """
        import os
        import subprocess

        def lambda_handler(event, context):
            out = subprocess.run(["hello-tool", "42"], capture_output=True, text=True, check=True)
            return {"stdout": out.stdout, "path": os.environ["PATH"]}
    """, Layers=[arn])

    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json()["stdout"] == "hello from the layer tool 42\n"
    assert "/opt/bin" in out.json()["path"].split(":")


def test_opt_lib_is_on_ld_library_path(mlam, fn_name, layer_name):
    arn = publish_layer(mlam, layer_name, {"lib/libnothing.txt": b"not really a library\n"})[0]["LayerVersionArn"]
    deploy(mlam, fn_name, "import os\n\ndef lambda_handler(e, c):\n    return os.environ['LD_LIBRARY_PATH']\n",
           Layers=[arn])

    assert "/opt/lib" in invoke(mlam, fn_name).json().split(":")


def test_a_config_file_in_a_layer_is_read_from_opt(mlam, fn_name, layer_name):
    arn = publish_layer(mlam, layer_name, {"config/settings.json": b'{"colour": "teal", "retries": 3}'})[0][
        "LayerVersionArn"
    ]
    deploy(mlam, fn_name, """
        import json

        def lambda_handler(event, context):
            with open("/opt/config/settings.json") as f:
                return json.load(f)
    """, Layers=[arn])

    assert invoke(mlam, fn_name).json() == {"colour": "teal", "retries": 3}


def test_a_deleted_layer_version_keeps_working_for_its_function(mlam, fn_name, layer_name):
    published, _ = publish_layer(mlam, layer_name, {"python/kept.py": b"X = 'still here'\n"})
    deploy(mlam, fn_name, "import kept\n\ndef lambda_handler(e, c):\n    return kept.X\n",
           Layers=[published["LayerVersionArn"]])

    mlam.delete_layer_version(LayerName=layer_name, VersionNumber=published["Version"])
    out = invoke(mlam, fn_name)

    assert out.function_error is None, out.payload
    assert out.json() == "still here"
