"""The seed's console step end to end (issue 13), in headless chromium:

    "Ve a la configuración de tu función Lambda. En la sección de Layers, selecciona
    "Add a layer". Elige el Layer creado anteriormente."

A layer with `python/` packages (the seed's `pip install requests -t python/`) is published
through the console's upload (its progress bar must reach the end), another with the AWS CLI
(declaring the seed's python3.8, so "Custom layers" of a python3.11 function leaves it out and
it is added by "Specify an ARN"). Both layers also ship `python/winner.py`, naming themselves:
the later layer in merge order wins, so the Test result shows the order the console set. The
function, created with boto3, imports from both layers. Finally boto3 must see the `Layers`
in the order chosen in the page.
"""

from __future__ import annotations

import re
import subprocess
import textwrap

import pytest
from playwright.sync_api import expect

from console_steps import (
    LAYERS_TABLE_COLUMNS, add_custom_layer, add_layer_by_arn, create_layer, custom_layer_choices,
    function_layers, open_add_layer, open_edit, press_in_row, run_test, save_edit,
)
from console_support import (
    action, body_rows, column_names, console_url, record_upload_progress, signed_in, table_with, upload_progress,
)
from function_support import ROLE
from harness import AwsCli
from helpers import REGION, layer_version_arn
from invoke_support import RUNTIME, handler_zip, mlam, start_module_server  # noqa: F401 - mlam: a fixture

FUNCTION = "my-function"
CONSOLE_LAYER = "requests-layer"
CLI_LAYER = "greeting-layer"
HANDLER_SOURCE = """
    import greeting
    import requests
    import winner


    def lambda_handler(event, context):
        print("greeting says", greeting.hello(event["name"]))
        return {
            "greeting": greeting.hello(event["name"]),
            "requests": requests.__version__,
            "winner": winner.LAYER,
            "run": event["run"],
        }
"""


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """The console acts in the server's default region: the tests' own."""
    yield from start_module_server(request, tmp_path_factory, "--region", REGION)


def sh(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def layer_zips(tmp_path_factory, venv_python, wheels_dir):
    """The console's layer (requests from the offline wheels, as the seed installs it) and the
    CLI's (a module of its own); each with a `winner.py` that names it."""
    work = tmp_path_factory.mktemp("console-seed")
    requests_dir = work / "requests"
    (requests_dir / "python").mkdir(parents=True)
    sh([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
        "--find-links", str(wheels_dir), "requests", "-t", "python/"], requests_dir)
    (requests_dir / "python" / "winner.py").write_text(f'LAYER = "{CONSOLE_LAYER}"\n')
    sh(["zip", "-r", "layer.zip", "python/"], requests_dir)
    version_file = (requests_dir / "python" / "requests" / "__version__.py").read_text()
    requests_version = re.search(r'__version__ = "([^"]+)"', version_file).group(1)

    greeting_dir = work / "greeting"
    (greeting_dir / "python").mkdir(parents=True)
    (greeting_dir / "python" / "greeting.py").write_text(textwrap.dedent(f"""\
        def hello(name):
            return f"Hello, {{name}}, from {CLI_LAYER}"
    """))
    (greeting_dir / "python" / "winner.py").write_text(f'LAYER = "{CLI_LAYER}"\n')
    sh(["zip", "-r", "layer.zip", "python/"], greeting_dir)
    return {"console": requests_dir / "layer.zip", "cli": greeting_dir / "layer.zip", "requests": requests_version}


def test_the_seed_console_step_end_to_end(page, shot, module_server, mlam, layer_zips, tmp_path):
    console_arn = layer_version_arn(CONSOLE_LAYER, 1)
    cli_arn = layer_version_arn(CLI_LAYER, 1)
    signed_in(page, module_server)

    # 1. Publish a layer through the console's upload, watching its progress bar.
    record_upload_progress(page)
    version_page = create_layer(
        page, module_server, CONSOLE_LAYER, layer_zips["console"], description="requests for the seed",
        runtimes=(RUNTIME,), architectures=("x86_64",), license_info="Apache-2.0", shot=shot,
    )
    assert version_page == f"/console/layers/{CONSOLE_LAYER}/versions/1"
    expect(page.get_by_text(console_arn, exact=True)).to_be_visible()
    shot("layer-version")
    progress = upload_progress(page)
    assert progress, "the upload progress bar never moved"
    size = layer_zips["console"].stat().st_size
    assert progress[-1] == (size, size), f"the progress bar ended at {progress[-1]} of a {size}-byte upload"
    values = [value for value, _ in progress]
    assert values == sorted(values), f"the progress bar went back: {progress}"

    # 2. Publish the other with the AWS CLI, as the seed does (python3.8).
    cli = AwsCli(tmp_path / "aws-home")
    published = cli(
        "lambda", "publish-layer-version", "--layer-name", CLI_LAYER, "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "python3.8", "--endpoint-url", module_server.url, cwd=layer_zips["cli"].parent,
    )
    assert published["LayerVersionArn"] == cli_arn

    page.goto(console_url(module_server, "/console/layers"))
    expect(page.get_by_role("heading", name="Layers", exact=True)).to_be_visible()
    layers = {row["Name"]: row for row in body_rows(table_with(page, "Latest version"))}
    assert column_names(table_with(page, "Latest version")) == [
        "Name", "Latest version", "Description", "Compatible runtimes"]
    assert layers[CONSOLE_LAYER]["Latest version"] == "1"
    assert layers[CONSOLE_LAYER]["Description"] == "requests for the seed"
    assert layers[CONSOLE_LAYER]["Compatible runtimes"] == RUNTIME
    assert layers[CLI_LAYER]["Compatible runtimes"] == "python3.8"
    shot("layers")

    # 3. Create the function with boto3; the console lists it and opens it.
    mlam.create_function(
        FunctionName=FUNCTION, Runtime=RUNTIME, Role=ROLE, Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip(HANDLER_SOURCE)},
    )
    mlam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)
    page.goto(console_url(module_server, "/console/functions"))
    functions = table_with(page, "Runtime")
    row = next(r for r in body_rows(functions) if r["Name"] == FUNCTION)
    assert (row["Runtime"], row["Layers"], row["State"]) == (RUNTIME, "0", "Active")
    page.get_by_role("link", name=FUNCTION, exact=True).click()
    expect(page.get_by_role("heading", name=FUNCTION, exact=True)).to_be_visible()
    assert column_names(table_with(page, "Merge order")) == LAYERS_TABLE_COLUMNS
    assert function_layers(page) == []
    expect(action(page, "Edit")).to_be_visible()
    shot("function")

    # 4. "Add a layer": Custom layers offers the console's layer (python3.11) and not the CLI's
    # (python3.8), as AWS filters; the CLI's is added by its ARN.
    open_add_layer(page, module_server, FUNCTION)
    assert custom_layer_choices(page) == [CONSOLE_LAYER]
    add_custom_layer(page, module_server, FUNCTION, CONSOLE_LAYER, 1, shot=shot)
    assert function_layers(page) == [{
        "Merge order": "1", "Name": CONSOLE_LAYER, "Layer version": "1", "Compatible runtimes": RUNTIME,
        "Compatible architectures": "x86_64", "Version ARN": console_arn,
    }]
    add_layer_by_arn(page, module_server, FUNCTION, cli_arn, shot=shot)
    rows = function_layers(page)
    assert [(r["Merge order"], r["Name"], r["Version ARN"]) for r in rows] == [
        ("1", CONSOLE_LAYER, console_arn), ("2", CLI_LAYER, cli_arn)]
    assert rows[1]["Compatible runtimes"] == "python3.8"
    shot("function-with-layers")

    # 5. "Test": the layers' modules answer; the later layer's winner.py wins.
    mlam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
    first = run_test(page, {"name": "seed", "run": "run-1"})
    assert first.json() == {
        "greeting": f"Hello, seed, from {CLI_LAYER}", "requests": layer_zips["requests"],
        "winner": CLI_LAYER, "run": "run-1",
    }
    assert f"greeting says Hello, seed, from {CLI_LAYER}" in first.log
    for figure in ("Duration", "Billed duration", "Memory used"):
        assert figure in first.report, first.report
    assert first.cold, first.report
    shot("test-cold")
    again = run_test(page, {"name": "seed", "run": "run-2"})
    assert not again.cold, again.report
    shot("test-warm")

    # 6. "Edit": the CLI's layer moves up, then Save.
    open_edit(page, module_server, FUNCTION)
    press_in_row(page, CLI_LAYER, "Move up")
    shot("edit")
    save_edit(page, FUNCTION)
    assert [(r["Merge order"], r["Name"]) for r in function_layers(page)] == [("1", CLI_LAYER), ("2", CONSOLE_LAYER)]
    shot("function-reordered")
    mlam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
    reordered = run_test(page, {"name": "seed", "run": "run-3"})
    assert reordered.json()["winner"] == CONSOLE_LAYER

    # 7. The API sees what the console did.
    config = mlam.get_function_configuration(FunctionName=FUNCTION)
    assert [layer["Arn"] for layer in config["Layers"]] == [cli_arn, console_arn]


def test_the_function_list_has_its_columns_and_search_filters_it(page, shot, module_server, mlam):
    for name in ("search-alpha", "search-beta"):
        mlam.create_function(
            FunctionName=name, Runtime=RUNTIME, Role=ROLE, Handler="lambda_function.lambda_handler",
            Code={"ZipFile": handler_zip("def lambda_handler(event, context):\n    return event\n")},
        )
    signed_in(page, module_server)
    table = table_with(page, "Runtime")
    assert column_names(table) == ["Name", "Runtime", "Layers", "Memory (MB)", "Last modified", "State"]
    names = [r["Name"] for r in body_rows(table)]
    assert {"search-alpha", "search-beta"} <= set(names)
    page.get_by_label("Search functions").fill("alpha")
    page.get_by_label("Search functions").press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_role("link", name="search-beta", exact=True)).to_be_hidden()
    assert [r["Name"] for r in body_rows(table_with(page, "Runtime"))] == ["search-alpha"]
    shot("search")
