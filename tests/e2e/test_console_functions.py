"""The console's function pages against a real server, signed in with the root key: "Create
function" with the Hello handler makes a function that runs and answers as AWS's console's
does; an edit AWS refuses shows its message at the field; code and environment edits are what
boto3 then reads; Delete removes the function."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from function_support import fn_name  # noqa: F401
from helpers import ACCESS_KEY, SECRET_KEY
from invoke_support import invoke


class Browser:
    """Forms posted as a browser does, with the session cookie; redirects not followed."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, form: dict | list | None = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with self.opener.open(req) as r:
                return r.status, r.headers.get("Location"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location"), e.read().decode()

    def csrf(self, html: str) -> str:
        return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)

    def sign_in(self) -> None:
        status, _, _ = self.request(
            "POST", "/console/sign-in", {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}
        )
        assert status == 303


def test_create_edit_and_delete_a_function_in_the_console(server, client_for, fn_name):
    # The console acts in the server's default region.
    lam = client_for(server, region="us-east-1")
    browser = Browser(server.url)
    status, location, _ = browser.request("GET", "/console/functions/create")
    assert (status, location) == (303, "/console/sign-in")
    browser.sign_in()
    _, _, html = browser.request("GET", "/console/functions/create")
    csrf = browser.csrf(html)
    account = re.search(r'id="account-id">(\d{12})<', html).group(1)
    form = {
        "csrf": csrf,
        "name": fn_name,
        "runtime": "python3.12",
        "architecture": "x86_64",
        "handler": "lambda_function.lambda_handler",
        "role": f"arn:aws:iam::{account}:role/lambda-role",
        "code": "hello",
    }
    status, location, html = browser.request("POST", "/console/functions/create", form)
    assert (status, location) == (303, f"/console/functions/{fn_name}"), html

    answer = invoke(lam, fn_name)
    assert (answer.function_error, answer.json()) == (None, {"statusCode": 200, "body": '"Hello from Lamina!"'})

    edit = f"/console/functions/{fn_name}/configuration/edit"
    general = {"csrf": csrf, "runtime": "python3.12", "handler": "lambda_function.lambda_handler",
               "description": "", "memory": "10241", "ephemeral_storage": "512", "timeout": "3"}
    status, _, html = browser.request("POST", edit, general)
    assert status == 400
    message = "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint"
    assert f'id="memorySize-error" role="alert">{message}' in html, html
    assert lam.get_function_configuration(FunctionName=fn_name)["MemorySize"] == 128
    status, _, _ = browser.request("POST", edit, {**general, "memory": "256", "description": "from the console"})
    assert status == 303
    config = lam.get_function_configuration(FunctionName=fn_name)
    assert (config["MemorySize"], config["Description"]) == (256, "from the console")

    env = [("csrf", csrf), ("key", "GREETING"), ("value", "hola"), ("op", "save")]
    status, _, _ = browser.request("POST", f"/console/functions/{fn_name}/environment/edit", env)
    assert status == 303
    config = lam.get_function_configuration(FunctionName=fn_name)
    assert config["Environment"]["Variables"] == {"GREETING": "hola"}

    status, _, _ = browser.request("POST", f"/console/functions/{fn_name}/delete", {"csrf": csrf, "confirm": "confirm"})
    assert status == 303
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert fn_name not in names
