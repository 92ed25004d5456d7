"""Wire basics (spec §1, §10): request ids, region from the SigV4 scope, auth header handling."""

import base64
import json

import pytest

from helpers import UUID_RE, assert_error_body, layer_arn, raw_of, raw_request
from zips import simple_zip


def test_health_answers_json(server):
    resp = raw_request(server.url, "GET", "/_lamina/health")
    assert resp.status == 200
    resp.json()


def test_success_carries_a_request_id(lam, layer_name):
    out = lam.list_layer_versions(LayerName=layer_name)
    request_id = raw_of(lam).headers.get("x-amzn-requestid")
    assert request_id and UUID_RE.fullmatch(request_id), request_id
    assert out["ResponseMetadata"]["RequestId"] == request_id


def test_error_carries_a_request_id(server, layer_name):
    resp = raw_request(server.url, "GET", f"/2018-10-31/layers/{layer_name}/versions/1")
    assert resp.status == 404
    assert UUID_RE.fullmatch(resp.headers.get("x-amzn-requestid", "")), resp.headers


def test_request_ids_are_unique(server, layer_name):
    ids = {
        raw_request(server.url, "GET", f"/2018-10-31/layers/{layer_name}/versions").headers["x-amzn-requestid"]
        for _ in range(5)
    }
    assert len(ids) == 5


@pytest.mark.parametrize("region", ["us-west-2", "eu-central-1", "ap-southeast-2"])
def test_arns_use_the_region_of_the_signature(server, client_for, layer_name, region):
    lam = client_for(server, region=region)
    out = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": simple_zip()})
    assert out["LayerArn"] == layer_arn(layer_name, region)


def test_unsigned_request_uses_the_server_region(start_server, layer_name):
    s = start_server("--auth", "none")
    body = json.dumps({"Content": {"ZipFile": base64.b64encode(simple_zip()).decode()}}).encode()
    resp = raw_request(s.url, "POST", f"/2018-10-31/layers/{layer_name}/versions", body, sign=False)
    assert resp.status == 201, resp.body
    assert resp.json()["LayerArn"] == layer_arn(layer_name, "us-east-1")


def test_started_server_honours_region_and_account_flags(start_server, layer_name):
    s = start_server("--region", "eu-west-1", "--account-id", "111122223333", "--auth", "none")
    body = json.dumps({"Content": {"ZipFile": base64.b64encode(simple_zip()).decode()}}).encode()
    resp = raw_request(s.url, "POST", f"/2018-10-31/layers/{layer_name}/versions", body, sign=False)
    assert resp.status == 201, resp.body
    assert resp.json()["LayerArn"] == f"arn:aws:lambda:eu-west-1:111122223333:layer:{layer_name}"


@pytest.mark.parametrize(
    "header",
    [
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-west-2/lambda, SignedHeaders=host",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_malformed_authorization_header_is_incomplete_signature(server, layer_name, header):
    resp = raw_request(
        server.url, "GET", f"/2018-10-31/layers/{layer_name}/versions", headers={"Authorization": header}
    )
    assert resp.status == 403
    assert resp.headers["x-amzn-errortype"].split(":")[0] == "IncompleteSignatureException"
    assert resp.headers.get("x-amzn-requestid")
    assert_error_body(resp.body, "IncompleteSignatureException")
