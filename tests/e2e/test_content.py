"""`Content.Location` downloads, their expiry and tampering; S3 content without an S3 store."""

import os
import time
import urllib.parse

import pytest

from helpers import assert_aws_error, client_error, http_get
from zips import simple_zip


def unique_zip() -> bytes:
    return simple_zip({"python/blob.bin": os.urandom(4096), "python/mod.py": b"X = 1\n"})


def test_location_downloads_exactly_the_published_zip(lam, layer_name):
    data = unique_zip()
    out = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})

    resp = http_get(out["Content"]["Location"])

    assert resp.status == 200
    assert resp.headers["content-type"] == "application/zip"
    assert resp.body == data


def test_location_from_get_layer_version_downloads_the_zip(lam, layer_name):
    data = unique_zip()
    lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})

    location = lam.get_layer_version(LayerName=layer_name, VersionNumber=1)["Content"]["Location"]

    assert http_get(location).body == data


def test_location_uses_the_host_the_client_used(server, client_for, layer_name):
    lam = client_for(f"http://localhost:{server.port}")
    data = unique_zip()

    location = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})["Content"]["Location"]

    assert location.startswith(f"http://localhost:{server.port}/_lamina/content/")
    assert http_get(location).body == data


def _tampered(location: str):
    """One URL per query parameter, with one character of its value changed."""
    u = urllib.parse.urlsplit(location)
    params = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    assert params, f"Location has no query to protect it: {location}"
    for i, (key, value) in enumerate(params):
        last = value[-1:] or "0"
        swapped = "1" if last == "0" else ("a" if last.isalpha() and last != "a" else "0")
        changed = params[:i] + [(key, value[:-1] + swapped)] + params[i + 1 :]
        yield key, urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(changed)))


def test_tampered_location_is_forbidden(lam, layer_name):
    location = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": unique_zip()})["Content"][
        "Location"
    ]

    statuses = {key: http_get(url).status for key, url in _tampered(location)}

    assert statuses and set(statuses.values()) == {403}, statuses


def test_location_without_its_query_is_forbidden(lam, layer_name):
    location = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": unique_zip()})["Content"][
        "Location"
    ]
    assert http_get(location.split("?", 1)[0]).status == 403


def test_expired_location_is_forbidden(start_server, client_for, layer_name):
    ttl_secs = 2
    s = start_server("--content-url-ttl-secs", str(ttl_secs))
    lam = client_for(s)
    data = unique_zip()
    location = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})["Content"]["Location"]
    issued = time.monotonic()
    assert http_get(location).body == data

    time.sleep(max(0.0, issued + ttl_secs + 1.5 - time.monotonic()))

    assert http_get(location).status == 403
    fresh = lam.get_layer_version(LayerName=layer_name, VersionNumber=1)["Content"]["Location"]
    assert http_get(fresh).body == data


@pytest.mark.parametrize(
    "content",
    [
        {"S3Bucket": "my-bucket", "S3Key": "layer.zip"},
        {"S3Bucket": "my-bucket", "S3Key": "layer.zip", "S3ObjectVersion": "3"},
    ],
)
def test_s3_content_is_refused_without_an_s3_store(lam, layer_name, content):
    err = client_error(lam.publish_layer_version, LayerName=layer_name, Content=content)

    message = assert_aws_error(lam, err, 400, "InvalidParameterValueException")
    assert "S3Bucket" in message and "--artifacts s3://" in message, message
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []
