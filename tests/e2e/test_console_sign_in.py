"""The console's sign-in (issue 13): `/` leads to the console, its pages need a sign-in with an
access key, a wrong secret is refused in the page, signing out ends the session, and under
`--auth none` there is no sign-in at all."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import expect

from console_support import SIGN_IN_REFUSED, console_url, path_of, sign_in, signed_in
from helpers import ACCESS_KEY, ACCOUNT, REGION
from invoke_support import start_module_server

@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """The console acts in the server's default region: the tests' own."""
    yield from start_module_server(request, tmp_path_factory, "--region", REGION)


def location_path(response) -> str:
    return urllib.parse.urlsplit(response.headers["location"]).path


def test_the_root_redirects_to_the_console(page, module_server):
    response = page.request.get(module_server.url + "/", max_redirects=0)
    assert response.status == 303, response.text()
    assert location_path(response) == "/console/"


def test_console_pages_redirect_to_sign_in_when_not_signed_in(page, shot, module_server):
    pages = ("/console/functions", "/console/functions/my-function", "/console/layers", "/console/layers/create")
    for path in pages:
        response = page.request.get(console_url(module_server, path), max_redirects=0)
        assert response.status in (302, 303, 307), f"{path}: {response.status} {response.text()}"
        assert location_path(response) == "/console/sign-in", path
    # `/console/` itself may lead to the functions first: the browser still ends at sign-in.
    page.goto(console_url(module_server, "/console/"))
    assert path_of(page) == "/console/sign-in"
    expect(page.get_by_label("Access key ID")).to_be_visible()
    expect(page.get_by_label("Secret access key")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shot("sign-in")


def test_a_wrong_secret_is_refused_on_the_sign_in_page(page, shot, module_server):
    sign_in(page, module_server, ACCESS_KEY, "not-the-secret")
    expect(page.get_by_role("alert")).to_contain_text(SIGN_IN_REFUSED)
    assert path_of(page) == "/console/sign-in"
    shot("refused")
    # Nothing was signed in: the pages still send the browser to the sign-in page.
    page.goto(console_url(module_server, "/console/functions"))
    assert path_of(page) == "/console/sign-in"


def test_an_unknown_key_is_refused_with_the_same_message(page, module_server):
    sign_in(page, module_server, "AKIAUNKNOWN000000000", "lamina-e2e-dummy-secret")
    expect(page.get_by_role("alert")).to_contain_text(SIGN_IN_REFUSED)
    assert path_of(page) == "/console/sign-in"


def test_signing_in_opens_the_functions_and_signing_out_ends_the_session(page, shot, module_server):
    signed_in(page, module_server)
    expect(page.get_by_role("heading", name="Functions", exact=True)).to_be_visible()
    expect(page.locator("header")).to_contain_text(ACCOUNT)
    shot("functions")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    shot("signed-out")
    page.goto(console_url(module_server, "/console/functions"))
    assert path_of(page) == "/console/sign-in"
    response = page.request.get(console_url(module_server, "/console/layers"), max_redirects=0)
    assert location_path(response) == "/console/sign-in"


def test_with_auth_none_the_pages_open_without_sign_in(page, shot, start_server):
    server = start_server("--auth", "none", "--region", "us-west-2")
    page.goto(console_url(server, "/console/functions"))
    assert path_of(page) == "/console/functions"
    expect(page.get_by_role("heading", name="Functions", exact=True)).to_be_visible()
    expect(page.locator("header")).to_contain_text(ACCOUNT)
    shot("functions")
