"""Function URLs: the configuration operations (boto3 and the AWS CLI) with AWS's shapes and
errors, and each URL as a real HTTP endpoint, reached with curl in both forms (path prefix
`/_lamina/url/<id>/` as `FunctionUrl` gives it, and host name `<id>.lambda-url.<region>.…`):
AWS's payload format 2.0 event, the result mapped onto the response (status, headers, cookies,
base64 bodies), 502 on function errors, AuthType NONE and AWS_IAM (SigV4), and CORS."""

import json
import re
import subprocess
import urllib.parse

import pytest

from function_support import function_arn
from harness import LAMINA_BIN
from helpers import ACCOUNT, NOT_FOUND, REGION, client_error
from invoke_support import fn_name, mlam  # noqa: F401 - fixtures
from url_support import curl, deploy_python, signed_headers

URL_RE = re.compile(r"http://127\.0\.0\.1:\d+/_lamina/url/([a-z0-9]{32})/")

ECHO = """
import json
def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""

# Echoes the body back as it came: base64 bodies stay base64 and are decoded by the URL.
BODY_ECHO = """
def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
            "body": event.get("body", ""), "isBase64Encoded": event["isBase64Encoded"]}
"""


def url_of(config: dict) -> str:
    assert URL_RE.fullmatch(config["FunctionUrl"]), config["FunctionUrl"]
    return config["FunctionUrl"]


def url_id(config: dict) -> str:
    return URL_RE.fullmatch(config["FunctionUrl"]).group(1)


@pytest.fixture
def echo_url(mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    return url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE"))


# --- the configuration operations -------------------------------------------------------------


def test_create_get_update_list_and_delete_with_boto3(mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")

    created = mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == function_arn(fn_name)
    assert (created["AuthType"], created["InvokeMode"]) == ("NONE", "BUFFERED")
    assert "CreationTime" in created and "LastModifiedTime" not in created
    url_of(created)

    got = mlam.get_function_url_config(FunctionName=fn_name)
    assert got["FunctionUrl"] == created["FunctionUrl"]
    assert got["CreationTime"] == created["CreationTime"]

    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET"], "MaxAge": 60}
    updated = mlam.update_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM", Cors=cors,
                                              InvokeMode="RESPONSE_STREAM")
    assert (updated["AuthType"], updated["InvokeMode"], updated["Cors"]) == ("AWS_IAM", "RESPONSE_STREAM", cors)
    assert updated["FunctionUrl"] == created["FunctionUrl"]
    # Members left out are kept.
    kept = mlam.update_function_url_config(FunctionName=fn_name, InvokeMode="BUFFERED")
    assert (kept["AuthType"], kept["Cors"]) == ("AWS_IAM", cors)

    aliased = mlam.create_function_url_config(FunctionName=fn_name, Qualifier="live", AuthType="NONE")
    assert aliased["FunctionArn"] == function_arn(fn_name, "live")
    assert aliased["FunctionUrl"] != created["FunctionUrl"]

    listed = mlam.list_function_url_configs(FunctionName=fn_name)["FunctionUrlConfigs"]
    assert [c["FunctionArn"] for c in listed] == [function_arn(fn_name), function_arn(fn_name, "live")]
    first = mlam.list_function_url_configs(FunctionName=fn_name, MaxItems=1)
    assert len(first["FunctionUrlConfigs"]) == 1
    rest = mlam.list_function_url_configs(FunctionName=fn_name, Marker=first["NextMarker"])
    assert [c["FunctionArn"] for c in rest["FunctionUrlConfigs"]] == [function_arn(fn_name, "live")]

    mlam.delete_function_url_config(FunctionName=fn_name)
    err = client_error(mlam.get_function_url_config, FunctionName=fn_name)
    assert err.response["Error"] == {"Code": "ResourceNotFoundException", "Message": NOT_FOUND}
    assert mlam.get_function_url_config(FunctionName=fn_name, Qualifier="live")["AuthType"] == "NONE"


def test_awss_errors(mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE")

    err = client_error(mlam.create_function_url_config, FunctionName=fn_name, AuthType="NONE")
    assert err.response["Error"]["Code"] == "ResourceConflictException"
    assert err.response["Error"]["Message"] == (
        f"Failed to create function url config for [functionArn = {function_arn(fn_name)}]. "
        "Error message:  FunctionUrlConfig exists for this Lambda function")

    err = client_error(mlam.create_function_url_config, FunctionName=fn_name, Qualifier="1", AuthType="NONE")
    assert err.response["Error"]["Code"] == "ValidationException"
    assert "Value '1' at 'qualifier' failed to satisfy constraint" in err.response["Error"]["Message"]

    err = client_error(mlam.update_function_url_config, FunctionName=fn_name, AuthType="OPEN")
    assert err.response["Error"]["Code"] == "ValidationException"
    assert "Member must satisfy enum value set: [NONE, AWS_IAM]" in err.response["Error"]["Message"]

    err = client_error(mlam.update_function_url_config, FunctionName=fn_name, Cors={"MaxAge": 86401})
    assert err.response["Error"]["Code"] == "ValidationException"
    assert "'cors.maxAge'" in err.response["Error"]["Message"]

    err = client_error(mlam.get_function_url_config, FunctionName=fn_name, Qualifier="nope")
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"

    err = client_error(mlam.get_function_url_config, FunctionName=f"{fn_name}-missing")
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.response["Error"]["Message"] == f"Function not found: {function_arn(fn_name + '-missing')}"


def test_every_operation_with_the_aws_cli(aws, module_server, mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    endpoint = ["--endpoint-url", module_server.url]

    created = aws("lambda", "create-function-url-config", "--function-name", fn_name,
                  "--auth-type", "NONE", *endpoint)
    assert created["AuthType"] == "NONE"
    url = url_of(created)
    got = aws("lambda", "get-function-url-config", "--function-name", fn_name, *endpoint)
    assert got["FunctionUrl"] == url
    updated = aws("lambda", "update-function-url-config", "--function-name", fn_name,
                  "--cors", "AllowOrigins=*,AllowMethods=GET,POST", *endpoint)
    assert updated["Cors"] == {"AllowOrigins": ["*"], "AllowMethods": ["GET", "POST"]}
    listed = aws("lambda", "list-function-url-configs", "--function-name", fn_name, *endpoint)
    assert [c["FunctionUrl"] for c in listed["FunctionUrlConfigs"]] == [url]
    assert curl(url).status == 200
    assert aws("lambda", "delete-function-url-config", "--function-name", fn_name, *endpoint) is None
    listed = aws("lambda", "list-function-url-configs", "--function-name", fn_name, *endpoint)
    assert listed["FunctionUrlConfigs"] == []
    assert curl(url).status == 403


def test_urls_go_with_their_alias_and_function(mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    mlam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")
    own = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE"))
    aliased = url_of(mlam.create_function_url_config(FunctionName=fn_name, Qualifier="live", AuthType="NONE"))
    assert curl(aliased).status == 200

    mlam.delete_alias(FunctionName=fn_name, Name="live")
    assert curl(aliased).status == 403
    assert len(mlam.list_function_url_configs(FunctionName=fn_name)["FunctionUrlConfigs"]) == 1

    mlam.delete_function(FunctionName=fn_name)
    assert curl(own).status == 403
    deploy_python(mlam, fn_name, ECHO)
    assert mlam.list_function_url_configs(FunctionName=fn_name)["FunctionUrlConfigs"] == []


# --- requests to a URL ------------------------------------------------------------------------


def test_a_get_with_a_query_becomes_a_payload_2_event(echo_url):
    response = curl(echo_url + "some/path?a=1&a=2&b=x%20y", "-A", "e2e-agent", "-H", "X-Multi: one")

    assert response.status == 200
    event = response.json()
    assert (event["version"], event["routeKey"]) == ("2.0", "$default")
    assert event["rawPath"] == "/some/path"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["headers"]["x-multi"] == "one"
    assert event["headers"]["user-agent"] == "e2e-agent"
    assert event["isBase64Encoded"] is False and "body" not in event
    ctx = event["requestContext"]
    api_id = URL_RE.fullmatch(echo_url).group(1)
    assert (ctx["accountId"], ctx["apiId"], ctx["domainPrefix"]) == (ACCOUNT, api_id, api_id)
    assert ctx["http"] == {"method": "GET", "path": "/some/path", "protocol": "HTTP/1.1",
                           "sourceIp": "127.0.0.1", "userAgent": "e2e-agent"}
    assert (ctx["routeKey"], ctx["stage"]) == ("$default", "$default")
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", ctx["time"])
    assert isinstance(ctx["timeEpoch"], int)
    assert response.header("x-amzn-requestid") == ctx["requestId"]
    assert "authorizer" not in ctx


def test_the_host_name_form_reaches_the_same_url(echo_url):
    parsed = urllib.parse.urlparse(echo_url)
    host = f"{URL_RE.fullmatch(echo_url).group(1)}.lambda-url.{REGION}.localhost"
    root = f"http://{parsed.hostname}:{parsed.port}"

    by_header = curl(f"{root}/by/header?q=1", "-H", f"Host: {host}:{parsed.port}")
    by_resolve = curl(f"http://{host}:{parsed.port}/by/resolve",
                      "--resolve", f"{host}:{parsed.port}:127.0.0.1")

    assert by_header.status == 200 and by_header.json()["rawPath"] == "/by/header"
    assert by_header.json()["requestContext"]["domainName"] == f"{host}:{parsed.port}"
    assert by_resolve.json()["rawPath"] == "/by/resolve"
    # A host name of that shape with an id no URL has is refused like AWS's.
    unknown = curl(f"{root}/", "-H", f"Host: {'0' * 32}.lambda-url.{REGION}.localhost")
    assert (unknown.status, unknown.json()) == (403, {"Message": "Forbidden"})


def test_a_binary_post_body_arrives_base64_and_goes_back_decoded(mlam, fn_name):
    deploy_python(mlam, fn_name, BODY_ECHO)
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE"))
    binary = bytes(range(256)) * 4

    response = curl(url, "-X", "POST", "-H", "Content-Type: application/octet-stream", data=binary)

    assert response.status == 200
    assert response.body == binary
    assert response.header("content-type") == "application/octet-stream"
    # A text body is passed as text.
    text = curl(url, "-H", "Content-Type: text/plain", data="héllo".encode())
    assert text.body == "héllo".encode()


def test_status_headers_and_cookies_come_from_the_result(mlam, fn_name):
    source = """
    import json
    def lambda_handler(event, context):
        return {"statusCode": 418, "headers": {"x-custom": "yes", "content-type": "text/plain"},
                "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
                "body": json.dumps(event.get("cookies"))}
    """
    deploy_python(mlam, fn_name, source)
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE"))

    response = curl(url, "-b", "c=3; d=4")

    assert response.status == 418
    assert response.header("x-custom") == "yes"
    assert response.header("content-type") == "text/plain"
    assert response.headers["set-cookie"] == ["a=1; Path=/", "b=2; HttpOnly"]
    assert json.loads(response.body) == ["c=3", "d=4"]


def test_results_without_status_code_are_200_json_and_errors_502(mlam, fn_name):
    source = """
    def lambda_handler(event, context):
        mode = (event.get("queryStringParameters") or {}).get("mode")
        if mode == "fail":
            raise ValueError("boom")
        if mode == "text":
            return "Hello (world)"
        return {"message": "hi"}
    """
    deploy_python(mlam, fn_name, source)
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE"))

    plain = curl(url)
    text = curl(url + "?mode=text")
    failed = curl(url + "?mode=fail")

    assert (plain.status, plain.header("content-type"), plain.json()) == (200, "application/json", {"message": "hi"})
    assert (text.status, text.body) == (200, b"Hello (world)")
    assert failed.status == 502
    assert failed.body == b"Internal Server Error"


def test_aws_iam_urls_take_only_signed_requests_of_the_owner(mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM"))
    target = url + "signed?x=1"

    unsigned = curl(target)
    badly_signed = curl(target, *signed_headers("GET", target, secret="wrong-secret"))
    signed = curl(target, *signed_headers("GET", target))
    body = b'{"posted": true}'
    signed_post = curl(target, "-X", "POST",
                       *signed_headers("POST", target, body, headers={"Content-Type": "application/json"}),
                       data=body)

    assert (unsigned.status, unsigned.json()) == (403, {"Message": "Forbidden"})
    assert badly_signed.status == 403
    assert signed.status == 200, signed.body
    iam = signed.json()["requestContext"]["authorizer"]["iam"]
    assert iam["accountId"] == ACCOUNT
    assert signed_post.status == 200, signed_post.body
    assert json.loads(signed_post.json()["body"]) == {"posted": True}


ACCOUNT_B = "222233334444"


@pytest.fixture(scope="module")
def b_key(module_server) -> dict:
    """An access key of account B, made by `lamina account keys create`."""
    created = subprocess.run(
        [str(LAMINA_BIN), "--output", "json", "account", "keys", "create",
         "--account-id", ACCOUNT_B, "--data-dir", str(module_server.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(created.stdout)


def test_another_account_calls_an_aws_iam_url_only_as_the_policy_lets_it(mlam, fn_name, b_key):
    deploy_python(mlam, fn_name, ECHO)
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM"))
    target = url + "from-b"

    def as_b():
        return curl(target, *signed_headers("GET", target, access_key=b_key["AccessKeyId"],
                                            secret=b_key["SecretAccessKey"]))

    refused = as_b()
    mlam.add_permission(FunctionName=fn_name, StatementId="b-url", Action="lambda:InvokeFunctionUrl",
                        Principal=ACCOUNT_B, FunctionUrlAuthType="AWS_IAM")
    allowed = as_b()
    # A grant to invoke the function is not a grant to call its URL.
    mlam.remove_permission(FunctionName=fn_name, StatementId="b-url")
    mlam.add_permission(FunctionName=fn_name, StatementId="b-invoke", Action="lambda:InvokeFunction",
                        Principal=ACCOUNT_B)
    invoke_only = as_b()

    assert (refused.status, refused.json()) == (403, {"Message": "Forbidden"})
    assert allowed.status == 200, allowed.body
    assert allowed.json()["requestContext"]["authorizer"]["iam"]["accountId"] == ACCOUNT_B
    assert invoke_only.status == 403


def test_cors_preflight_is_answered_and_responses_carry_the_headers(mlam, fn_name):
    deploy_python(mlam, fn_name, ECHO)
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-exposed"], "MaxAge": 300,
            "AllowCredentials": True}
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM", Cors=cors))

    preflight = curl(url, "-X", "OPTIONS", "-H", "Origin: https://app.example",
                     "-H", "Access-Control-Request-Method: POST")
    other = curl(url, "-X", "OPTIONS", "-H", "Origin: https://evil.example",
                 "-H", "Access-Control-Request-Method: POST")
    actual = curl(url, "-H", "Origin: https://app.example", *signed_headers("GET", url))

    # The preflight is answered without a signature, as browsers send none.
    assert preflight.status == 200
    assert preflight.header("access-control-allow-origin") == "https://app.example"
    assert preflight.header("access-control-allow-methods") == "GET,POST"
    assert preflight.header("access-control-allow-headers") == "x-custom"
    assert preflight.header("access-control-max-age") == "300"
    assert preflight.header("access-control-allow-credentials") == "true"
    assert other.status == 200 and other.header("access-control-allow-origin") is None
    assert actual.status == 200
    assert actual.header("access-control-allow-origin") == "https://app.example"
    assert actual.header("access-control-expose-headers") == "x-exposed"


def test_base64_of_the_function_is_checked(mlam, fn_name):
    source = """
    def lambda_handler(event, context):
        return {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}
    """
    deploy_python(mlam, fn_name, source)
    url = url_of(mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE"))

    assert curl(url).status == 502
