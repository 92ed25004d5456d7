"""Size limits of CreateFunction and UpdateFunctionCode: the 70,167,211-byte request body and
the 52,428,800-byte ZipFile, answered with AWS's 413 texts and leaving nothing stored."""

import os

import pytest

from function_support import CODE, HANDLER, ROLE, RUNTIME, create
from helpers import assert_aws_error, client_error, post_oversize_zip_body, stored_leftovers
from zips import build_zip, file

MAX_ZIPPED_BYTES = 52_428_800
MAX_REQUEST_BYTES = 70_167_211


@pytest.fixture
def lam(fresh_server, client_for):
    return client_for(fresh_server)


def oversized_zip() -> bytes:
    name = "big.bin"
    overhead = 30 + len(name) + 46 + len(name) + 22
    data = build_zip([file(name, os.urandom(MAX_ZIPPED_BYTES + 100 - overhead))])
    assert len(data) == MAX_ZIPPED_BYTES + 100
    return data


def test_zip_file_over_50_mb_is_request_entity_too_large(lam, fresh_server):
    data = oversized_zip()

    err = client_error(create, lam, "big", Code={"ZipFile": data})
    assert_aws_error(
        lam, err, 413, "RequestEntityTooLargeException", f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes",
    )
    create(lam, "small")
    err = client_error(lam.update_function_code, FunctionName="small", ZipFile=data)
    assert_aws_error(
        lam, err, 413, "RequestEntityTooLargeException", f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes",
    )

    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["small"]
    blobs = [p for p in stored_leftovers(fresh_server.data_dir) if p.startswith("blobs/sha256/") and p.count("/") == 3]
    assert len(blobs) == 1, blobs


@pytest.mark.parametrize(
    "operation, method, path",
    [
        ("CreateFunction", "POST", "/2015-03-31/functions"),
        ("UpdateFunctionCode", "PUT", "/2015-03-31/functions/small/code"),
    ],
)
def test_request_body_over_the_limit_is_request_entity_too_large(lam, fresh_server, operation, method, path):
    create(lam, "small")
    head = (
        b'{"FunctionName":"big","Runtime":"' + RUNTIME.encode() + b'","Role":"' + ROLE.encode()
        + b'","Handler":"' + HANDLER.encode() + b'","Code":{"ZipFile":"'
    )
    resp = post_oversize_zip_body(fresh_server.url, method, path, head, b'"}}', MAX_REQUEST_BYTES)

    assert resp.status == 413, resp.body[:500]
    assert resp.headers["x-amzn-errortype"].split(":")[0] == "RequestEntityTooLargeException"
    assert resp.json() == {"message": f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the {operation} operation"}
    assert lam.get_function_configuration(FunctionName="small")["CodeSize"] == len(CODE)
