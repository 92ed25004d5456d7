"""The console's views AWS's console does not have (issue 13): on a layer version's page, what
`/opt` will hold, its findings and the functions that use it; on a function's page, the files
and modules several of its layers provide and which one wins. Also a layer upload refused with
AWS's message. Layers and functions are set up with boto3."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from console_steps import fill_create_layer, open_function
from console_support import body_rows, console_url, path_of, signed_in, table_with
from function_support import ROLE, fn_name, publish_layer  # noqa: F401 - fn_name: a fixture
from helpers import REGION, UNZIP_FAILED
from invoke_support import RUNTIME, handler_zip, mlam, start_module_server  # noqa: F401 - mlam: a fixture


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """The console acts in the server's default region: the tests' own."""
    yield from start_module_server(request, tmp_path_factory, "--region", REGION)


def create_function(lam, name: str, layers: list[str]):
    lam.create_function(
        FunctionName=name, Runtime=RUNTIME, Role=ROLE, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip("def lambda_handler(event, context):\n    return event\n")}, Layers=layers,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def test_a_layer_version_shows_what_opt_will_hold_its_findings_and_its_users(
    page, shot, module_server, mlam, fn_name,
):
    out, _ = publish_layer(mlam, "contents", {
        "python/helper.py": b"X = 1\n",
        "python/pkg/__init__.py": b"",
        "bin/tool": b"#!/bin/sh\necho tool\n",
        "stray.py": b"Y = 2\n",
    }, CompatibleRuntimes=[RUNTIME], CompatibleArchitectures=["x86_64"])
    create_function(mlam, fn_name, [out["LayerVersionArn"]])
    signed_in(page, module_server)
    page.goto(console_url(module_server, "/console/layers/contents/versions/1"))
    expect(page.get_by_role("heading", name="What /opt will hold")).to_be_visible()
    modules = {row["Module"]: row["Kind"] for row in body_rows(table_with(page, "Module"))}
    assert modules == {"helper": "module", "pkg": "package"}
    expect(page.locator("main")).to_contain_text("tool")
    expect(page.locator("main")).to_contain_text(
        "stray.py is at the root of the ZIP: Lambda puts layers at /opt, and Python looks in /opt/python")
    expect(page.get_by_role("heading", name="Used by")).to_be_visible()
    users = body_rows(table_with(page, "Function"))
    assert users == [{"Function": fn_name, "Merge order": "1"}]
    shot("layer-version")


def test_a_function_shows_which_layer_wins_a_module_several_provide(page, shot, module_server, mlam, fn_name):
    first, _ = publish_layer(mlam, "overlap-first", {"python/which.py": b"W = 1\n"}, CompatibleRuntimes=[RUNTIME])
    second, _ = publish_layer(mlam, "overlap-second", {"python/which.py": b"W = 2\n"}, CompatibleRuntimes=[RUNTIME])
    create_function(mlam, fn_name, [first["LayerVersionArn"], second["LayerVersionArn"]])
    signed_in(page, module_server)
    open_function(page, module_server, fn_name)
    expect(page.get_by_role("heading", name="Files provided more than once")).to_be_visible()
    rows = body_rows(table_with(page, "Wins"))
    which = [row for row in rows if "which" in row["What"]]
    assert which, rows
    for row in which:
        assert "overlap-first:1" in row["Provided by"] and "overlap-second:1" in row["Provided by"], row
        assert row["Wins"].startswith("overlap-second:1"), row
    shot("function")


def test_a_layer_upload_that_is_not_a_zip_is_refused_with_aws_message(page, shot, module_server, tmp_path):
    not_a_zip = tmp_path / "layer.zip"
    not_a_zip.write_bytes(b"this is not a zip archive")
    signed_in(page, module_server)
    fill_create_layer(page, module_server, "not-a-zip", not_a_zip, runtimes=(RUNTIME,))
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(UNZIP_FAILED)
    assert path_of(page) == "/console/layers/create"
    shot("refused")
