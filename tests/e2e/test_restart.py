"""A server killed with SIGKILL and restarted on the same data dir has lost nothing."""

import json
import os

import pytest

from helpers import NOT_FOUND, assert_aws_error, client_error, http_get
from zips import simple_zip

ACTION = "lambda:GetLayerVersion"


def zip_of(tag: str) -> bytes:
    return simple_zip({"python/tag.py": f"TAG = {tag!r}\n".encode(), "python/noise.bin": os.urandom(2048)})


@pytest.fixture
def crashed_and_restarted(start_server, client_for):
    """Publishes, grants and deletes on one server, kills it with SIGKILL, restarts it on the
    same data dir. Returns (client of the new server, what was recorded before the crash)."""
    first = start_server()
    lam = client_for(first)
    zips = {v: zip_of(f"app-{v}") for v in (1, 2, 3)}
    for v in (1, 2, 3):
        lam.publish_layer_version(
            LayerName="app", Content={"ZipFile": zips[v]}, Description=f"v{v}", CompatibleRuntimes=["python3.12"]
        )
    lib_zip = zip_of("lib")
    lam.publish_layer_version(LayerName="lib", Content={"ZipFile": lib_zip})
    lam.publish_layer_version(LayerName="gone", Content={"ZipFile": zip_of("gone")})
    lam.delete_layer_version(LayerName="gone", VersionNumber=1)
    for sid, principal in (("everyone", "*"), ("partner", "210987654321")):
        lam.add_layer_version_permission(
            LayerName="app", VersionNumber=2, StatementId=sid, Action=ACTION, Principal=principal
        )
    lam.delete_layer_version(LayerName="app", VersionNumber=1)
    before = {
        "v2": lam.get_layer_version(LayerName="app", VersionNumber=2),
        "v3": lam.get_layer_version(LayerName="app", VersionNumber=3),
        "policy": lam.get_layer_version_policy(LayerName="app", VersionNumber=2),
        "zips": {**zips, "lib": lib_zip},
    }

    first.kill()
    second = start_server(data_dir=first.data_dir)
    return client_for(second), before


def strip(layer_version: dict) -> dict:
    """The parts of a LayerVersion that must survive a restart (Location is per-server)."""
    out = {k: v for k, v in layer_version.items() if k != "ResponseMetadata"}
    out["Content"] = {k: v for k, v in out["Content"].items() if k != "Location"}
    return out


def test_layer_versions_survive_sigkill(crashed_and_restarted):
    lam, before = crashed_and_restarted

    assert strip(lam.get_layer_version(LayerName="app", VersionNumber=2)) == strip(before["v2"])
    assert strip(lam.get_layer_version(LayerName="app", VersionNumber=3)) == strip(before["v3"])
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="app")["LayerVersions"]] == [3, 2]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="lib")["LayerVersions"]] == [1]


def test_deletions_survive_sigkill(crashed_and_restarted):
    lam, _ = crashed_and_restarted

    err = client_error(lam.get_layer_version, LayerName="app", VersionNumber=1)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NOT_FOUND)
    layers = {layer["LayerName"]: layer for layer in lam.list_layers()["Layers"]}
    assert sorted(layers) == ["app", "lib"]
    assert layers["app"]["LatestMatchingVersion"]["Version"] == 3


def test_version_counters_continue_after_sigkill(crashed_and_restarted):
    lam, _ = crashed_and_restarted

    assert lam.publish_layer_version(LayerName="app", Content={"ZipFile": zip_of("app-4")})["Version"] == 4
    assert lam.publish_layer_version(LayerName="lib", Content={"ZipFile": zip_of("lib-2")})["Version"] == 2
    assert lam.publish_layer_version(LayerName="gone", Content={"ZipFile": zip_of("gone-2")})["Version"] == 2


def test_policies_survive_sigkill(crashed_and_restarted):
    lam, before = crashed_and_restarted

    policy = lam.get_layer_version_policy(LayerName="app", VersionNumber=2)

    assert json.loads(policy["Policy"]) == json.loads(before["policy"]["Policy"])
    assert policy["RevisionId"] == before["policy"]["RevisionId"]
    out = lam.add_layer_version_permission(
        LayerName="app", VersionNumber=2, StatementId="later", Action=ACTION, Principal="*",
        RevisionId=before["policy"]["RevisionId"],
    )
    assert out["RevisionId"] != before["policy"]["RevisionId"]


def test_content_downloads_after_sigkill(crashed_and_restarted):
    lam, before = crashed_and_restarted

    for version in (2, 3):
        location = lam.get_layer_version(LayerName="app", VersionNumber=version)["Content"]["Location"]
        assert http_get(location).body == before["zips"][version]
    location = lam.get_layer_version(LayerName="lib", VersionNumber=1)["Content"]["Location"]
    assert http_get(location).body == before["zips"]["lib"]
