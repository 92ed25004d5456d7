"""What a user does in the console, step by step, with the words on its pages (issue 13's
HTML contract): create a layer, open a function, "Add a layer" from "Custom layers" or by
"Specify an ARN", "Edit" the order, run "Test". Each step waits for the page it leads to."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from console_support import (
    SLOW_TIMEOUT_MS, action, body_rows, choose_option, console_url, option_texts, path_of, table_with,
)
from harness import LaminaServer

LAYERS_TABLE_COLUMNS = [
    "Merge order", "Name", "Layer version", "Compatible runtimes", "Compatible architectures", "Version ARN",
]


def create_layer(
    tab: Page, server: LaminaServer, name: str, zip_path: Path, *, description: str = "",
    runtimes: tuple[str, ...] = (), architectures: tuple[str, ...] = (), license_info: str = "",
    shot=None,
) -> str:
    """Fills "Create layer" and presses "Create"; returns the new version page's path."""
    fill_create_layer(
        tab, server, name, zip_path, description=description, runtimes=runtimes, architectures=architectures,
        license_info=license_info,
    )
    if shot:
        shot("create-layer")
    tab.get_by_role("button", name="Create", exact=True).click()
    tab.wait_for_url(re.compile(rf"/console/layers/{re.escape(name)}/versions/\d+$"), timeout=SLOW_TIMEOUT_MS)
    return path_of(tab)


def fill_create_layer(
    tab: Page, server: LaminaServer, name: str, zip_path: Path, *, description: str = "",
    runtimes: tuple[str, ...] = (), architectures: tuple[str, ...] = (), license_info: str = "",
) -> None:
    """Opens "Create layer" from the layers list and fills its form."""
    tab.goto(console_url(server, "/console/layers"))
    action(tab, "Create layer").click()
    tab.get_by_label("Name", exact=True).fill(name)
    tab.get_by_label("Description", exact=True).fill(description)
    tab.get_by_label("Upload a .zip file").set_input_files(str(zip_path))
    for runtime in runtimes:
        tab.get_by_label(runtime, exact=True).check()
    for architecture in architectures:
        tab.get_by_label(architecture, exact=True).check()
    tab.get_by_label("License", exact=True).fill(license_info)


def open_function(tab: Page, server: LaminaServer, name: str) -> None:
    tab.goto(console_url(server, f"/console/functions/{name}"))
    expect(tab.get_by_role("heading", name=name, exact=True)).to_be_visible()


def function_layers(tab: Page) -> list[dict[str, str]]:
    """The rows of the function page's "Layers" table, in merge order."""
    table = table_with(tab, "Merge order")
    expect(tab.get_by_role("heading", name="Layers", exact=True)).to_be_visible()
    expect(table).to_be_visible()
    return body_rows(table)


def open_add_layer(tab: Page, server: LaminaServer, function: str) -> None:
    open_function(tab, server, function)
    action(tab, "Add a layer").click()
    tab.wait_for_load_state()
    expect(tab.get_by_role("group", name="Layer source").or_(tab.get_by_role("radiogroup", name="Layer source"))).to_be_visible()


def custom_layer_choices(tab: Page) -> list[str]:
    """What the "Layers" select of "Custom layers" offers."""
    tab.get_by_role("radio", name="Custom layers").check()
    return option_texts(tab.get_by_label("Layers", exact=True))


def choose_custom_layer(tab: Page, layer: str, version: int) -> None:
    """Custom layers: the layer, then its version (the console may reload the page to list
    the versions of the layer chosen)."""
    tab.get_by_role("radio", name="Custom layers").check()
    layers = tab.get_by_label("Layers", exact=True)
    if layers.get_attribute("data-reload-on-change") is not None:
        with tab.expect_navigation():
            choose_option(layers, layer)
    else:
        choose_option(layers, layer)
    choose_option(tab.get_by_label("Version", exact=True), str(version))


def specify_arn(tab: Page, arn: str) -> None:
    tab.get_by_role("radio", name="Specify an ARN").check()
    tab.get_by_label("Layer version ARN").fill(arn)


def press_add(tab: Page) -> None:
    tab.get_by_role("button", name="Add", exact=True).click()
    tab.wait_for_load_state()


def add_custom_layer(tab: Page, server: LaminaServer, function: str, layer: str, version: int, shot=None) -> None:
    open_add_layer(tab, server, function)
    choose_custom_layer(tab, layer, version)
    if shot:
        shot("add-custom-layer")
    press_add(tab)
    expect(tab).to_have_url(re.compile(rf"/console/functions/{re.escape(function)}$"))


def add_layer_by_arn(tab: Page, server: LaminaServer, function: str, arn: str, shot=None) -> None:
    open_add_layer(tab, server, function)
    specify_arn(tab, arn)
    if shot:
        shot("add-layer-by-arn")
    press_add(tab)
    expect(tab).to_have_url(re.compile(rf"/console/functions/{re.escape(function)}$"))


def edit_row(tab: Page, layer: str):
    return tab.get_by_role("row").filter(has_text=layer)


def open_edit(tab: Page, server: LaminaServer, function: str) -> None:
    open_function(tab, server, function)
    action(tab, "Edit").click()
    tab.wait_for_load_state()
    expect(tab.get_by_role("button", name="Save", exact=True)).to_be_visible()


def press_in_row(tab: Page, layer: str, button: str) -> None:
    """Presses "Move up", "Move down" or "Remove" in the row of `layer` on the Edit page."""
    edit_row(tab, layer).get_by_role("button", name=button).click()
    tab.wait_for_load_state()


def save_edit(tab: Page, function: str) -> None:
    tab.get_by_role("button", name="Save", exact=True).click()
    tab.wait_for_load_state()
    expect(tab).to_have_url(re.compile(rf"/console/functions/{re.escape(function)}$"))


@dataclass
class Outcome:
    """What the Test section showed."""

    result: str
    log: str
    report: str
    """The page's text around the figures: Duration, Billed duration, Memory used, cold/warm."""

    def json(self):
        return json.loads(self.result)

    @property
    def cold(self) -> bool:
        assert ("Cold start" in self.report) != ("Warm start" in self.report), self.report
        return "Cold start" in self.report


def run_test(tab: Page, event: dict) -> Outcome:
    """Puts `event` in "Event JSON", presses "Test" and waits for a result that shows the
    event's `run`, a string no other run uses (so a result left from an earlier run is never
    read)."""
    tab.get_by_label("Event JSON").fill(json.dumps(event))
    tab.get_by_role("button", name="Test", exact=True).click()
    result = tab.locator("#test-result")
    expect(result).to_contain_text(event["run"], timeout=SLOW_TIMEOUT_MS)
    report = tab.get_by_text(re.compile(r"Billed duration"))
    expect(report).to_be_visible()
    return Outcome(result.inner_text(), tab.locator("#test-log").inner_text(), report.inner_text())
