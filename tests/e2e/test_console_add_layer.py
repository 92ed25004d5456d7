"""The console's "Add a layer" and "Edit" against AWS's rules (issue 13): what "Custom layers"
offers for the function's runtime and architecture, and attaches the API refuses (a sixth
layer, an unknown ARN, two versions of one layer) shown with AWS's message on the Add page,
with the function left as it was. Functions and layers are set up with boto3."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from console_steps import (
    custom_layer_choices, choose_custom_layer, function_layers, open_add_layer, open_edit, press_add,
    press_in_row, save_edit, specify_arn,
)
from console_support import path_of, signed_in
from function_support import ROLE, fn_name, publish_layer  # noqa: F401 - fn_name: a fixture
from helpers import REGION, layer_version_arn
from invoke_support import RUNTIME, handler_zip, mlam, start_module_server  # noqa: F401 - mlam: a fixture

TOO_MANY = "Cannot reference more than 5 layers."


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """The console acts in the server's default region: the tests' own."""
    yield from start_module_server(request, tmp_path_factory, "--region", REGION)


def create_function(lam, name: str, layers: list[str] | None = None, architecture: str = "x86_64"):
    lam.create_function(
        FunctionName=name, Runtime=RUNTIME, Role=ROLE, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip("def lambda_handler(event, context):\n    return event\n")},
        Layers=layers or [], Architectures=[architecture],
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def layers_of(lam, name: str) -> list[str]:
    return [layer["Arn"] for layer in lam.get_function_configuration(FunctionName=name).get("Layers", [])]


def assert_refused_on_the_add_page(page, function: str, message: str) -> None:
    expect(page.get_by_role("alert")).to_contain_text(message)
    assert path_of(page) == f"/console/functions/{function}/layers/add"


def test_a_sixth_layer_is_refused_with_aws_message(page, shot, module_server, mlam, fn_name):
    arns = []
    for i in range(6):
        out, _ = publish_layer(mlam, f"sixth-{i}", CompatibleRuntimes=[RUNTIME])
        arns.append(out["LayerVersionArn"])
    create_function(mlam, fn_name, arns[:5])
    signed_in(page, module_server)

    open_add_layer(page, module_server, fn_name)
    specify_arn(page, arns[5])
    press_add(page)
    assert_refused_on_the_add_page(page, fn_name, TOO_MANY)
    shot("refused-by-arn")

    open_add_layer(page, module_server, fn_name)
    choose_custom_layer(page, "sixth-5", 1)
    press_add(page)
    assert_refused_on_the_add_page(page, fn_name, TOO_MANY)
    shot("refused-custom")
    assert layers_of(mlam, fn_name) == arns[:5]


def test_an_unknown_arn_is_refused_with_aws_message(page, shot, module_server, mlam, fn_name):
    create_function(mlam, fn_name)
    missing = layer_version_arn("no-such-layer", 1)
    signed_in(page, module_server)
    open_add_layer(page, module_server, fn_name)
    specify_arn(page, missing)
    press_add(page)
    assert_refused_on_the_add_page(page, fn_name, f"Layer version {missing} does not exist.")
    shot("refused")
    assert layers_of(mlam, fn_name) == []


def test_two_versions_of_one_layer_are_refused_with_aws_message(page, module_server, mlam, fn_name):
    first, _ = publish_layer(mlam, "twice", CompatibleRuntimes=[RUNTIME])
    second, _ = publish_layer(mlam, "twice", CompatibleRuntimes=[RUNTIME])
    create_function(mlam, fn_name, [first["LayerVersionArn"]])
    signed_in(page, module_server)
    open_add_layer(page, module_server, fn_name)
    specify_arn(page, second["LayerVersionArn"])
    press_add(page)
    assert_refused_on_the_add_page(page, fn_name, "Two different versions of the same layer are not allowed")
    assert layers_of(mlam, fn_name) == [first["LayerVersionArn"]]


def test_custom_layers_offers_the_layers_for_the_functions_runtime_and_architecture(
    page, shot, module_server, mlam, fn_name,
):
    publish_layer(mlam, "offer-any-arch", CompatibleRuntimes=[RUNTIME])
    publish_layer(mlam, "offer-x86", CompatibleRuntimes=[RUNTIME, "python3.12"], CompatibleArchitectures=["x86_64"])
    publish_layer(mlam, "offer-arm-only", CompatibleRuntimes=[RUNTIME], CompatibleArchitectures=["arm64"])
    publish_layer(mlam, "offer-other-runtime", CompatibleRuntimes=["python3.8"])
    publish_layer(mlam, "offer-no-runtime")
    create_function(mlam, fn_name)
    signed_in(page, module_server)
    open_add_layer(page, module_server, fn_name)
    offered = {name for name in custom_layer_choices(page) if name.startswith("offer-")}
    assert offered == {"offer-any-arch", "offer-x86"}
    shot("custom-layers")


def test_edit_moves_down_and_removes_layers_then_saves(page, shot, module_server, mlam, fn_name):
    arns = [publish_layer(mlam, f"edit-{i}", CompatibleRuntimes=[RUNTIME])[0]["LayerVersionArn"] for i in range(3)]
    create_function(mlam, fn_name, arns)
    signed_in(page, module_server)
    open_edit(page, module_server, fn_name)
    press_in_row(page, "edit-0", "Move down")
    press_in_row(page, "edit-2", "Remove")
    shot("edit")
    # Nothing is applied before Save.
    assert layers_of(mlam, fn_name) == arns
    save_edit(page, fn_name)
    assert [(r["Merge order"], r["Name"]) for r in function_layers(page)] == [("1", "edit-1"), ("2", "edit-0")]
    assert layers_of(mlam, fn_name) == [arns[1], arns[0]]
    shot("saved")


def test_edit_can_remove_every_layer(page, module_server, mlam, fn_name):
    arn = publish_layer(mlam, "edit-all", CompatibleRuntimes=[RUNTIME])[0]["LayerVersionArn"]
    create_function(mlam, fn_name, [arn])
    signed_in(page, module_server)
    open_edit(page, module_server, fn_name)
    press_in_row(page, "edit-all", "Remove")
    save_edit(page, fn_name)
    assert function_layers(page) == []
    assert layers_of(mlam, fn_name) == []
    expect(page.get_by_role("row").filter(has_text=re.compile("edit-all"))).to_have_count(0)
