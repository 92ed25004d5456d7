"""The console's browser tests: Playwright driving Debian's headless `chromium`.

Playwright's own browser download cannot work on our machines, so the browser is the `chromium`
on PATH (Debian's package, installed by .ci/run); a session that needs it and finds none fails
with the command that installs it. Playwright itself is in the e2e venv (scripts/prepare-tests).

Every page a test visits can be saved with `shot(step)` as
target/console-screenshots/<test>-<step>.png (CI keeps target/); each test's last page is
saved as <test>-end.png whatever the outcome, so a failure shows where it stopped.

conftest.py loads this module as a plugin, so `browser` is one for the whole session and
`page` and `shot` are there for every test. The console acts in the server's default region
(`--region`), so a console test module starts its `module_server` with `--region us-west-2`,
the region boto3 and the AWS CLI sign for (invoke_support.start_module_server).
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from pathlib import Path

import pytest

from harness import REPO, LaminaServer
from helpers import ACCESS_KEY, SECRET_KEY

try:
    from playwright.sync_api import Locator, Page, expect, sync_playwright
except ImportError as e:  # pragma: no cover - a set-up error, said plainly
    raise RuntimeError("playwright is not in the e2e venv; run scripts/prepare-tests (or scripts/e2e)") from e

SCREENSHOTS = REPO / "target" / "console-screenshots"
INSTALL_CHROMIUM = "apt-get install chromium"
# The issue asks for pages usable at 1280x800.
VIEWPORT = {"width": 1280, "height": 800}
# How long a page or an element may take to appear (a server-rendered page takes milliseconds).
TIMEOUT_MS = 20_000
# What a Test (a cold start on a debug build) or a layer upload (unzip and byte-compile) may
# take: seconds, never minutes.
SLOW_TIMEOUT_MS = 120_000
expect.set_options(timeout=TIMEOUT_MS)

# Messages the console shows as AWS words them.
SIGN_IN_REFUSED = "The access key ID or secret access key is not valid."


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (`--no-sandbox`: the tests run as root;
    `--disable-dev-shm-usage`: a container's small /dev/shm would crash its renderers)."""
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError(
            f"chromium not found on PATH: the console's browser tests need Debian's chromium; "
            f"install it with `{INSTALL_CHROMIUM}` (.ci/run does)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request) -> Page:
    """A page of its own browser context (no cookies shared between tests), 1280x800."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(SLOW_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    try:
        save_screenshot(tab, request.node.name, "end")
    finally:
        context.close()


@pytest.fixture
def shot(page, request):
    """`shot(step)` saves the page as target/console-screenshots/<test>-<step>.png."""
    return lambda step: save_screenshot(page, request.node.name, step)


def save_screenshot(tab: Page, test: str, step: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', test)}-{step}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


# --- navigation -------------------------------------------------------------------------------


def console_url(server: LaminaServer, path: str = "/console/") -> str:
    return server.url + path


def path_of(tab: Page) -> str:
    return urllib.parse.urlsplit(tab.url).path


def signed_in(tab: Page, server: LaminaServer, access_key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> Page:
    """Signs in through the sign-in page and waits for the functions list."""
    sign_in(tab, server, access_key, secret)
    tab.wait_for_url(re.compile(r"/console/functions/?$"))
    return tab


def sign_in(tab: Page, server: LaminaServer, access_key: str, secret: str) -> None:
    """Fills and sends the sign-in form; the caller checks where it lands."""
    tab.goto(console_url(server, "/console/sign-in"))
    tab.get_by_label("Access key ID").fill(access_key)
    tab.get_by_label("Secret access key").fill(secret)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_load_state()


def action(tab: Page, name: str) -> Locator:
    """A link or a button called `name` (the console may render an action as either)."""
    return tab.get_by_role("link", name=name, exact=True).or_(tab.get_by_role("button", name=name, exact=True))


# --- tables -----------------------------------------------------------------------------------


def table_with(tab: Page, column: str) -> Locator:
    """The table that has a column header `column`."""
    return tab.locator("table").filter(has=tab.get_by_role("columnheader", name=column, exact=True))


def column_names(table: Locator) -> list[str]:
    return [" ".join(text.split()) for text in table.get_by_role("columnheader").all_inner_texts()]


def body_rows(table: Locator) -> list[dict[str, str]]:
    """The table's visible data rows, each as {column name: cell text}."""
    names = column_names(table)
    rows = []
    for row in table.locator("tbody tr:visible").all():
        cells = [" ".join(text.split()) for text in row.locator("td, th").all_inner_texts()]
        rows.append(dict(zip(names, cells)))
    return rows


def choose_option(select: Locator, text: str) -> None:
    """Selects the option whose text is `text` or starts with `text` and a space (a version
    may be shown with its description): waits for it, since a select may be filled by script."""
    pattern = re.compile(rf"^\s*{re.escape(text)}(\s.*)?$", re.S)
    option = select.locator("option").filter(has_text=pattern)
    expect(option).to_have_count(1)
    value = option.get_attribute("value")
    if value is None:
        select.select_option(label=option.inner_text().strip())
    else:
        select.select_option(value=value)


def option_texts(select: Locator) -> list[str]:
    return [" ".join(text.split()) for text in select.locator("option").all_inner_texts()]


# --- the upload progress bar ------------------------------------------------------------------

# Runs in every page of the context: records each value the `<progress id="upload-progress">`
# takes into sessionStorage, which outlives the navigation to the new version's page.
_RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("upload-progress");
  if (!bar) return;
  const seen = [];
  new MutationObserver(() => {
    seen.push([Number(bar.value), Number(bar.max)]);
    sessionStorage.setItem("lamina-e2e-upload-progress", JSON.stringify(seen));
  }).observe(bar, {attributes: true, attributeFilter: ["value", "max"]});
});
"""


def record_upload_progress(tab: Page) -> None:
    """From the next page on, remembers what the upload progress bar showed."""
    tab.add_init_script(_RECORD_PROGRESS)


def upload_progress(tab: Page) -> list[tuple[float, float]]:
    """The (value, max) pairs the progress bar went through, in order."""
    seen = tab.evaluate("sessionStorage.getItem('lamina-e2e-upload-progress')")
    return [tuple(pair) for pair in json.loads(seen)] if seen else []
